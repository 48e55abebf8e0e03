"""Chainable reads; every API view scopes its rows with ``for_account`` (tenancy lives here, not in views)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


def _tenancy(base: models.QuerySet, scoped: models.QuerySet, account) -> models.QuerySet:
    """``scoped`` remembers that it is ``base`` narrowed to ``account`` and nothing more: any further filter, order or
    slice is a clone, which does not carry the attribute (what lets a list compile its SQL once, CompiledList).

    ``base`` is named by a token of its own rather than held: a marked queryset that is pickled then carries no
    other queryset (whose pickling would run it), and an unpickled one names no live queryset."""
    token = base.__dict__.get("tenancy_token")
    if token is None:
        token = base.__dict__.setdefault("tenancy_token", object())  # a race makes one token win, harmlessly
    scoped.tenancy_of = (token, account.pk)
    return scoped


class AccountScopedQuerySet(models.QuerySet):
    def for_account(self, account):
        return _tenancy(self, self.filter(account=account), account)

    def active(self):
        return self.filter(active=True)


class PolicyQuerySet(models.QuerySet):
    def for_account(self, account):
        """The account's own policies and the system-managed ones everyone shares."""
        return _tenancy(self, self.filter(Q(account=account) | Q(account__isnull=True)), account)

    def user_created(self):
        return self.filter(policy_type="USER_CREATED")

    def system_managed(self):
        return self.filter(policy_type="SYSTEM_MANAGED")


class AccessKeyQuerySet(models.QuerySet):
    def for_account(self, account):
        return _tenancy(self, self.filter(account=account), account)

    def usable(self):
        """Keys that may sign a request right now."""
        return self.filter(active=True).filter(Q(expire_time__isnull=True) | Q(expire_time__gt=timezone.now()))


class AuditEventQuerySet(models.QuerySet):
    def for_account(self, account):
        """The account's own events (events of no account, such as system-wide jobs, belong to no tenant)."""
        return _tenancy(self, self.filter(account=account), account)
