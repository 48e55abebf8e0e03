"""Routes of the External Access API under /api/v1/ (no trailing slashes, as the service has none)."""

from rest_framework.routers import SimpleRouter

from external_access.api.views import CaViewSet, CrlViewSet, TrustAnchorViewSet

router = SimpleRouter(trailing_slash=False)
router.register("cas", CaViewSet, basename="cas")
router.register("trust-anchors", TrustAnchorViewSet, basename="trust-anchors")
router.register(r"trust-anchors/(?P<trustAnchorId>[^/.]+)/crls", CrlViewSet, basename="crls")

urlpatterns = router.urls
