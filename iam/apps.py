from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class IamConfig(AppConfig):
    """Sub Account: main accounts, sub accounts, groups, policies, roles and access keys."""

    name = "iam"
    verbose_name = "Sub Account"

    def ready(self):
        from iam import signals
        from iam.api import schema  # noqa: F401  (registers the signature auth's OpenAPI description)

        signals.connect()


class IamAdminConfig(AdminConfig):
    """Django's admin app with the product's admin site (``iam.admin_site``): dashboard, name, API docs link."""

    default_site = "iam.admin_site.IamAdminSite"
