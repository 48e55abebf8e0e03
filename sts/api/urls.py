"""Routes of the STS API under /api/v1/ (no trailing slashes, as the service has none)."""

from rest_framework.routers import SimpleRouter

from sts.api.views import CredentialsViewSet

router = SimpleRouter(trailing_slash=False)
router.register("credentials", CredentialsViewSet, basename="credentials")

urlpatterns = router.urls
