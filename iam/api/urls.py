"""Routes of the Sub Account API under /api/v1/ (no trailing slashes, as the service has none)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from iam.api.views.audit import AuditEventViewSet
from iam.api.views.dashboard import (
    DashboardViewSet,
    IdleDisableSettingsViewSet,
    LoginAliasViewSet,
    LoginPageSettingViewSet,
    LongTermUnusedSettingViewSet,
    PasswordSettingViewSet,
    SessionSettingViewSet,
    SubAccountPasswordPolicyViewSet,
    SubAccountSessionPolicyViewSet,
)
from iam.api.views.groups import GroupViewSet
from iam.api.views.policies import PolicySimulationViewSet, PolicyValidationViewSet, PolicyViewSet
from iam.api.views.roles import RoleViewSet
from iam.api.views.servers import ServerViewSet
from iam.api.views.sub_accounts import JoinViewSet, SubAccountViewSet

router = SimpleRouter(trailing_slash=False)
router.register("sub-accounts", SubAccountViewSet, basename="sub-accounts")
router.register("groups", GroupViewSet, basename="groups")
router.register("policies", PolicyViewSet, basename="policies")
router.register("policy/validation", PolicyValidationViewSet, basename="policy-validation")
router.register("policy/simulation", PolicySimulationViewSet, basename="policy-simulation")
router.register("roles", RoleViewSet, basename="roles")
router.register("servers", ServerViewSet, basename="servers")
router.register("join", JoinViewSet, basename="join")
router.register("dashboard", DashboardViewSet, basename="dashboard")
router.register("audit-events", AuditEventViewSet, basename="audit-events")


def _setting(viewset, basename: str):
    return viewset.as_view({"get": "setting", "put": "setting"}, basename=basename)


urlpatterns = router.urls + [
    path("settings/password", _setting(PasswordSettingViewSet, "settings-password")),
    path("settings/login-page", _setting(LoginPageSettingViewSet, "settings-login-page")),
    path("settings/session", _setting(SessionSettingViewSet, "settings-session")),
    path("settings/long-term-unused", _setting(LongTermUnusedSettingViewSet, "settings-long-term-unused")),
    # Sign-in settings, as the wire page names them (docs/wire-api.md "Sign-in settings").
    path("login-alias", _setting(LoginAliasViewSet, "login-alias")),
    path(
        "tenant-settings/sub-account-password-policy",
        _setting(SubAccountPasswordPolicyViewSet, "tenant-settings-password-policy"),
    ),
    path(
        "tenant-settings/sub-account-session-policy",
        _setting(SubAccountSessionPolicyViewSet, "tenant-settings-session-policy"),
    ),
    path("tenant-settings/idle-disable-settings", _setting(IdleDisableSettingsViewSet, "tenant-settings-idle-disable")),
]
