from django.apps import AppConfig


class StsConfig(AppConfig):
    """STS: temporary access keys for sub accounts and role sessions (built on the iam app)."""

    name = "sts"
    verbose_name = "STS"
