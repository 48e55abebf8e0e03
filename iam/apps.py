from django.apps import AppConfig


class IamConfig(AppConfig):
    """Sub Account: main accounts, sub accounts, groups, policies, roles and access keys."""

    name = "iam"
    verbose_name = "Sub Account"
