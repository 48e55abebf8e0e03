"""Routes of the External Access API under /api/v1/ (no trailing slashes, as the service has none)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from external_access.api.views import (
    CaViewSet,
    CrlViewSet,
    ProfileViewSet,
    SessionsView,
    SubjectViewSet,
    TrustAnchorViewSet,
)

router = SimpleRouter(trailing_slash=False)
router.register("cas", CaViewSet, basename="cas")
router.register("trust-anchors", TrustAnchorViewSet, basename="trust-anchors")
router.register(r"trust-anchors/(?P<trustAnchorId>[^/.]+)/crls", CrlViewSet, basename="crls")
router.register("profiles", ProfileViewSet, basename="profiles")
router.register("subjects", SubjectViewSet, basename="subjects")

urlpatterns = router.urls

# /auth/v1/: the certificate-signed session call (config/urls.py mounts it there).
session_urlpatterns = [path("sessions", SessionsView.as_view(), name="external-access-sessions")]
