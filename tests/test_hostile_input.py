"""Every route of the OpenAPI schema, fed hostile ids, query values and bodies, never answers 5xx.

The routes come from drf-spectacular's generator (as tests/test_schema.py builds the schema), so a new endpoint is
swept without touching this file. Each call is signed over the URI exactly as sent (percent-encoding and all, as
gunicorn passes it in RAW_URI) and runs in a savepoint that is rolled back, so a DELETE early in the sweep does not
leave later calls only 404s. Run it on PostgreSQL too: NUL characters, lone surrogates and over-long values only
break there.
"""

import copy
import json
import logging
from urllib.parse import quote

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from iam import audit
from iam.gateway.signing import signed_headers
from iam.policy import nrn
from iam.services.groups import group_create
from iam.services.policies import policy_create
from iam.services.roles import role_create
from tests.conftest import make_sub_account

METHODS = ("get", "post", "put", "patch", "delete")

# Path ids: NUL, longer than any column, not UTF-8, a lone surrogate's bytes, wrong types.
HOSTILE_IDS = ["abc%00def", "a" * 450, "%FF", "%ED%A0%80", "12345", "%5B%5D"]
HOSTILE_QUERY_VALUES = ["%00", "%FF", "a" * 450, "1e400"]
# Whole bodies: wrong shapes, deep nesting (arrays and objects), bytes that are not UTF-8, not JSON at all.
DEEP = 1000
HOSTILE_BODIES = [
    b"[]",
    b"[{}]",
    b'"text"',
    b"12345",
    b"null",
    b"[" * DEEP + b"]" * DEEP,
    b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    b'{"a": "\xff\xfe"}',
    b"\xff\xfe",
    b"not json",
    b'{"a": 1e400}',
    b'{"a": ' + b"9" * 5000 + b"}",
    b'{"\\u0000": 1}',
    b'{"a": "\\ud800"}',
]
# What replaces each value of a body in turn: NUL, a lone surrogate, over-long text, numbers where strings are,
# null, arrays where objects are and objects where arrays are.
HOSTILE_VALUES = ["a\x00b", "\ud800", "x" * 450, 12345, None, [], {"k": "v"}]


def _sample_documents(member_no):
    return [
        {
            "effect": "Allow",
            "targets": [
                {
                    "product": "SubAccount",
                    "actions": ["View/getGroupList"],
                    "resourceNrns": [f"nrn:PUB:IAM::{member_no}:Group/*"],
                }
            ],
            "condition": {"StringEquals": {"ncp:principalType": ["SubAccount"]}},
        }
    ]


class World:
    """One of each resource in the caller's account, and values that name them."""

    def __init__(self, tenant):
        self.tenant = tenant
        member_no = tenant.account.member_no
        self.sub, self.sub_creds = make_sub_account(tenant, "sweeper", actions=["*"])
        self.denied_sub, self.denied_creds = make_sub_account(tenant, "sweepdenied")
        self.group = group_create(account=tenant.account, name="sweep-group", tags={"team": "a"})
        self.policy = policy_create(
            account=tenant.account, name="sweep-policy", permissions=_sample_documents(member_no)
        )
        self.role = role_create(account=tenant.account, name="sweep-role", role_type="Account")
        event = audit.record(account_id=tenant.account.pk, action="SubAccount:Change/createGroup", resource="*")
        self.path_ids = {
            "subAccountId": str(self.sub.sub_account_id),
            "groupId": str(self.group.group_id),
            "policyId": self.policy.policy_id,
            "roleNo": self.role.role_no,
            "eventId": str(event.pk),
        }
        # Values the schema cannot know (free-form JSON fields, ids that must exist to reach the services).
        self.known = {
            "permissions": _sample_documents(member_no),
            "policyDocuments": [_sample_documents(member_no)],
            "actions": ["SubAccount:View/getGroupList"],
            "resourceNrns": [f"nrn:PUB:IAM::{member_no}:Group/{self.group.group_id}"],
            "context": {"ncp:SourceIp": "10.0.0.1"},
            "subAccountIdList": [str(self.sub.sub_account_id)],
            "groupIdList": [str(self.group.group_id)],
            "policyIdList": [self.policy.policy_id],
            "roleNoList": [self.role.role_no],
            "subAccountId": str(self.sub.sub_account_id),
            "roleNo": self.role.role_no,
            "roleNrn": nrn.build(nrn.IAM, member_no, "Role", self.role.role_no),
            "accessKey": self.sub_creds.access_key,
            "tags": {"team": "a"},
            "roleType": "Account",
            "sessionExpirationSec": 3600,
            "durationSec": 900,
            "loginId": "sweepnew",
            "email": "sweep@example.com",
            "password": "Sweep-Pass1!",
            "newPassword": "Sweep-Pass2!",
        }


def _operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    operations = []
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in METHODS:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            operations.append((method.upper(), path, operation.get("parameters", []), _resolve(body, components)))
    return operations


def _resolve(schema, components):
    """The schema with every $ref replaced by its component (the request schemas have no cycles)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _resolve(components[schema["$ref"].rsplit("/", 1)[1]], components)
        return {k: _resolve(v, components) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_resolve(v, components) for v in schema]
    return schema


def _example(schema, name, known):
    """A plausible value for one field, so that hostile variants of the others reach the services."""
    if name in known:
        return copy.deepcopy(known[name])
    if not schema:
        return {}
    if "enum" in schema:
        return schema["enum"][0]
    if "oneOf" in schema or "allOf" in schema:
        return _example((schema.get("oneOf") or schema.get("allOf"))[0], name, known)
    kind = schema.get("type")
    if kind == "object":
        if "properties" in schema:
            return {k: _example(v, k, known) for k, v in schema["properties"].items()}
        return {"team": "a"}
    if kind == "array":
        return [_example(schema.get("items", {}), name, known)]
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return "sweep-value"[: schema.get("maxLength", 11)]


def _leaves(value, trail=()):
    """Every position in a JSON document (containers too), as a path of keys and indexes."""
    yield trail
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*trail, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*trail, index))


def _replaced(document, trail, new):
    document = copy.deepcopy(document)
    target = document
    for key in trail[:-1]:
        target = target[key]
    target[trail[-1]] = new
    return document


def _body_variants(base):
    yield from HOSTILE_BODIES
    if not isinstance(base, dict):
        return
    for trail in _leaves(base):
        if not trail:
            continue
        for value in HOSTILE_VALUES:
            yield json.dumps(_replaced(base, trail, value)).encode()


class Sweeper:
    def __init__(self, creds):
        self.creds = creds
        # Unhandled exceptions become 500 answers to collect (not exceptions that stop the sweep at the first one).
        self.client = APIClient(raise_request_exception=False)
        self.failures = []
        self.calls = 0

    def call(self, method, uri, body: bytes = b""):
        headers = signed_headers(self.creds.access_key, self.creds.secret, method, uri)
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        meta["RAW_URI"] = uri  # what gunicorn passes: the request target exactly as sent
        with transaction.atomic():
            response = self.client.generic(method, uri, data=body, content_type="application/json", **meta)
            transaction.set_rollback(True)
        self.calls += 1
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} {method} {uri[:120]} {body[:160]!r}")
        return response


def _uri(path, path_ids, override=None, query=""):
    for name, value in path_ids.items():
        path = path.replace("{" + name + "}", override[1] if override and override[0] == name else quote(value))
    return path + (f"?{query}" if query else "")


def _sweep(sweeper, world, *, with_bodies):
    operations = _operations()
    assert len(operations) > 50
    for method, path, parameters, body_schema in operations:
        base = _example(body_schema, "", world.known) if body_schema else None
        base_body = json.dumps(base).encode() if base is not None else b""
        for parameter in parameters:
            name = parameter["name"]
            values = HOSTILE_IDS if parameter["in"] == "path" else HOSTILE_QUERY_VALUES
            for value in values:
                if parameter["in"] == "path":
                    sweeper.call(method, _uri(path, world.path_ids, (name, value)), base_body)
                else:
                    sweeper.call(method, _uri(path, world.path_ids, query=f"{name}={value}"), base_body)
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            bodies = _body_variants(base) if with_bodies else HOSTILE_BODIES
            for body in bodies:
                sweeper.call(method, _uri(path, world.path_ids), body)
    return operations


@pytest.fixture
def quiet(caplog):
    # Thousands of refused calls: keep the 4xx warnings out of the captured log (5xx errors still show).
    caplog.set_level(logging.ERROR, logger="django.request")


@pytest.mark.django_db
def test_root_key_never_gets_a_5xx(tenant, quiet):
    """The root key passes every authorization, so hostile values reach the services and the database."""
    world = World(tenant)
    sweeper = Sweeper(tenant.root)
    _sweep(sweeper, world, with_bodies=True)
    assert sweeper.calls > 1500
    assert sweeper.failures == [], "\n".join(sweeper.failures)


@pytest.mark.django_db
@pytest.mark.parametrize("caller", ["allowed", "denied"])
def test_sub_accounts_never_get_a_5xx(tenant, caller, quiet):
    """A sub account allowed everything goes through the policy engine; one allowed nothing is refused, and its
    refusals are audited: both with every hostile id, query value and body shape."""
    world = World(tenant)
    sweeper = Sweeper(world.sub_creds if caller == "allowed" else world.denied_creds)
    _sweep(sweeper, world, with_bodies=False)
    assert sweeper.calls > 400
    assert sweeper.failures == [], "\n".join(sweeper.failures)
