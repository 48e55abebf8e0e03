"""Dashboard: resource counts and the account's settings."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from iam.api import serializers as s
from iam.api.views.base import AccountScopedViewSet, valid_data
from iam.selectors import resource_counts
from iam.services.accounts import account_settings_update


class SingleObjectSchema(AutoSchema):
    """The dashboard's GET answers one object, though the router names the action ``list``."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class DashboardViewSet(AccountScopedViewSet):
    """How many sub accounts, groups, user-created policies and roles the caller's account has."""

    serializer_class = s.ResourceCountSerializer
    # Counts of the caller's own account: nothing to filter, nothing to page.
    filter_backends = ()
    pagination_class = None
    schema = SingleObjectSchema()

    @extend_schema(responses=s.ResourceCountSerializer)
    def list(self, request):
        return Response(resource_counts(account=self.account))


def settings_viewset(setting_serializer):
    """A GET/PUT endpoint over some of the account's settings fields."""

    class SettingViewSet(AccountScopedViewSet):
        """One group of the account's settings: GET shows it, PUT changes the fields sent."""

        serializer_class = setting_serializer

        @extend_schema(methods=["GET"], request=None, responses=setting_serializer)
        @extend_schema(methods=["PUT"], request=setting_serializer, responses=setting_serializer)
        def setting(self, request):
            account = self.account
            if request.method == "PUT":
                changes = valid_data(setting_serializer, request, partial=True)
                account = account_settings_update(account=account, **changes)
            return Response(setting_serializer(account).data)

    SettingViewSet.__name__ = setting_serializer.__name__.replace("Serializer", "ViewSet")
    SettingViewSet.__qualname__ = SettingViewSet.__name__
    return SettingViewSet


PasswordSettingViewSet = settings_viewset(s.PasswordSettingSerializer)
LoginPageSettingViewSet = settings_viewset(s.LoginPageSettingSerializer)
SessionSettingViewSet = settings_viewset(s.SessionSettingSerializer)
LongTermUnusedSettingViewSet = settings_viewset(s.LongTermUnusedSettingSerializer)


def tenant_setting_viewset(setting_serializer):
    """GET/PUT over one group of sign-in settings, spelled on the wire by ``setting_serializer``."""

    class TenantSettingViewSet(AccountScopedViewSet):
        """One group of the account's sign-in settings: GET shows it, PUT changes the fields sent."""

        serializer_class = setting_serializer
        filter_backends = ()
        pagination_class = None

        @extend_schema(methods=["GET"], request=None, responses=setting_serializer)
        @extend_schema(methods=["PUT"], request=setting_serializer, responses=setting_serializer)
        def setting(self, request):
            account = self.account
            if request.method == "PUT":
                validated = valid_data(setting_serializer, request, partial=True)
                changes = setting_serializer().changes(validated)
                if changes:
                    account = account_settings_update(
                        account=account, wire_names=setting_serializer.wire_names, **changes
                    )
            return Response(setting_serializer(account).data)

    TenantSettingViewSet.__name__ = setting_serializer.__name__.replace("Serializer", "ViewSet")
    TenantSettingViewSet.__qualname__ = TenantSettingViewSet.__name__
    return TenantSettingViewSet


LoginAliasViewSet = tenant_setting_viewset(s.LoginAliasSerializer)
SubAccountPasswordPolicyViewSet = tenant_setting_viewset(s.SubAccountPasswordPolicySerializer)
SubAccountSessionPolicyViewSet = tenant_setting_viewset(s.SubAccountSessionPolicySerializer)
IdleDisableSettingsViewSet = tenant_setting_viewset(s.IdleDisableSettingsSerializer)
