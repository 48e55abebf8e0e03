from django.apps import AppConfig


class ExternalAccessConfig(AppConfig):
    """External Access: trust anchors, profiles, CRLs and certificate sessions (built on the iam app)."""

    name = "external_access"
    verbose_name = "External Access"
