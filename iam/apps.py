from django.apps import AppConfig


class IamConfig(AppConfig):
    """Sub Account: main accounts, sub accounts, groups, policies, roles and access keys."""

    name = "iam"
    verbose_name = "Sub Account"

    def ready(self):
        from iam import signals
        from iam.api import schema  # noqa: F401  (registers the signature auth's OpenAPI description)

        signals.connect()
