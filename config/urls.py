from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from external_access.api.urls import session_urlpatterns
from iam.api.views import health
from sts import metadata

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", authentication_classes=[], permission_classes=[]),
        name="docs",
    ),
    path("api/v1/", include("iam.api.urls")),
    path("api/v1/", include("sts.api.urls")),
    path("api/v1/", include("external_access.api.urls")),
    path("auth/v1/", include(session_urlpatterns)),
    # Sub account sign-in (/signin/<alias>/) and the console (/console/): server-rendered pages with their own cookie.
    path("", include("iam.console.urls")),
    # Probes for load balancers and orchestrators: plain Django views, outside the signed API and its schema.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Server role keys as NCP's metadata service serves them (NCLOUD_METADATA_ENDPOINT points SDKs here).
    path("latest/meta-data/iam/security-credentials", metadata.role_list, name="metadata-roles"),
    path("latest/meta-data/iam/security-credentials/", metadata.role_list),
    path("latest/meta-data/iam/security-credentials/<str:role_id>", metadata.role_credentials, name="metadata-keys"),
]

handler404 = "iam.api.errors.not_found_view"
handler500 = "iam.api.errors.server_error_view"
