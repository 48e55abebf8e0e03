"""Shared fixtures: accounts with keys, sub accounts with policies, and a client that signs its requests."""

import json
from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from iam.gateway.signing import now_millis, signed_headers
from iam.models import AccessKey, Account, SubAccount
from iam.services.accounts import account_create
from iam.services.policies import policies_attach, policy_create
from iam.services.sub_accounts import access_key_create, sub_account_create


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Hashing strength is Django's concern; the tests only need passwords to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_authorization_caches():
    # Row ids are reused between tests (rolled-back transactions); production ids never are.
    from django.core.cache import cache

    from iam.gateway.authz import get_authorizer

    cache.clear()
    authorizer = get_authorizer()
    if hasattr(authorizer, "compiled_cache"):
        authorizer.compiled_cache.clear()


@pytest.fixture(autouse=True)
def published(request, monkeypatch):
    """Outbox messages the code under test sent to the broker (nothing reaches a real broker unless a test is marked
    ``real_broker``)."""
    sent = []
    if request.node.get_closest_marker("real_broker") is None:
        monkeypatch.setattr(
            "iam.outbox._publish", lambda message: sent.append((message.task, message.args, message.kwargs))
        )
    return sent


@dataclass
class Credentials:
    access_key: str
    secret: str = field(repr=False)  # never in a failing test's output


@dataclass
class Tenant:
    """A main account with its root credentials."""

    account: Account
    root: Credentials


class SignedClient:
    """Sends API calls signed like an NCP SDK would, each with a timestamp of its own (a signed write is accepted
    once, and two calls within one millisecond would otherwise carry the same signature)."""

    _last_timestamp = 0

    def __init__(self):
        self.client = APIClient()

    @classmethod
    def timestamp(cls) -> str:
        cls._last_timestamp = max(int(now_millis()), cls._last_timestamp + 1)
        return str(cls._last_timestamp)

    def call(self, method: str, uri: str, body=None, *, creds: Credentials | None, headers: dict | None = None):
        extra = {}
        if creds is not None:
            extra.update(signed_headers(creds.access_key, creds.secret, method, uri, timestamp=self.timestamp()))
        for name, value in (headers or {}).items():
            extra[name] = value
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in extra.items()}
        meta["RAW_URI"] = uri  # what gunicorn passes: the URI exactly as sent
        data = json.dumps(body) if body is not None else ""
        return self.client.generic(method, uri, data=data, content_type="application/json", **meta)


@pytest.fixture
def api():
    return SignedClient()


def make_tenant(name: str = "Tenant", member_no: int | None = None) -> Tenant:
    account, key, secret = account_create(name=name, member_no=member_no)
    return Tenant(account=account, root=Credentials(key.access_key, secret))


def make_sub_account(
    tenant: Tenant, login_id: str, *, actions=None, policy_ids=(), **fields
) -> tuple[SubAccount, Credentials]:
    """A sub account with API access and one access key; ``actions`` become a policy that allows them on '*'."""
    fields.setdefault("can_api_gateway_access", True)
    fields.setdefault("can_console_access", False)
    sub, _ = sub_account_create(
        account=tenant.account, login_id=login_id, name=login_id[:30], email=f"{login_id}@example.com", **fields
    )
    ids = list(policy_ids)
    if actions:
        policy = policy_create(
            account=tenant.account,
            name=f"p-{login_id}"[:30],
            permissions=[
                {
                    "effect": "Allow",
                    "targets": [{"product": "SubAccount", "actions": list(actions), "resourceNrns": ["*"]}],
                }
            ],
        )
        ids.append(policy.policy_id)
    if ids:
        policies_attach(target=sub, policy_ids=ids)
    key, secret = access_key_create(sub_account=sub)
    return sub, Credentials(key.access_key, secret)


@pytest.fixture
def tenant(db) -> Tenant:
    return make_tenant("Alpha", member_no=2942)


@pytest.fixture
def other_tenant(db) -> Tenant:
    return make_tenant("Beta", member_no=3001)


@pytest.fixture
def no_policy_user(tenant):
    """A sub account that may use the API but has no policy at all."""
    return make_sub_account(tenant, "nopolicy")


def disable_key(creds: Credentials) -> None:
    AccessKey.objects.filter(access_key=creds.access_key).update(active=False)
