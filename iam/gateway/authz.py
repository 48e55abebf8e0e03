"""The authorization component used on every API call. Replaceable through ``settings.IAM_AUTHORIZER``:
anything with ``authorize(principal, requests, *, request_tags=None) -> Decision`` fits.

The default, ``EngineAuthorizer``, decides from the principal's effective policies compiled by ``iam.policy.engine``.
Compiled forms are cached per process, keyed by the principal and its account's ``authz_version``; the raw policy
documents are shared between processes through Django's cache (Redis when configured) under the same key. The
version is bumped in the transaction of any change to policies, attachments, memberships or roles, and read with
the access key on each request, so a change takes effect on the very next request everywhere.
"""

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.utils.module_loading import import_string

from iam.gateway.principals import ROLE, SUB_ACCOUNT, Principal
from iam.policy import catalog, nrn
from iam.policy.engine import ALLOWED, CompiledPolicies, Explanation
from iam.policy.request import Request

logger = logging.getLogger("iam.gateway.authz")

RESOURCE_TAG_PREFIX = "ncp:resourceTag/"


@dataclass(frozen=True)
class Decision:
    """The outcome for a set of requests: allowed only if every request is."""

    allowed: bool
    denied_request: Request | None = None
    reason: str = ALLOWED


class RequestContext(Mapping):
    """Condition keys of one request. ``ncp:resourceTag/*`` is looked up only when a statement asks for it."""

    def __init__(self, values: dict, resource_tags: Callable[[], dict] | None = None):
        self._values = values
        self._resource_tags_loader = resource_tags
        self._resource_tags: dict | None = None

    def _tags(self) -> dict:
        if self._resource_tags is None:
            self._resource_tags = (self._resource_tags_loader() if self._resource_tags_loader else None) or {}
        return self._resource_tags

    def __getitem__(self, key):
        if key in self._values:
            return self._values[key]
        if isinstance(key, str) and key.startswith(RESOURCE_TAG_PREFIX):
            return self._tags()[key[len(RESOURCE_TAG_PREFIX) :]]
        raise KeyError(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __iter__(self):
        yield from self._values
        yield from (RESOURCE_TAG_PREFIX + k for k in self._tags())

    def __len__(self) -> int:
        return len(self._values) + len(self._tags())


# ncp:principalType as NCP's policies spell it (its condition key reference): a sub account is IamUser, a role
# session (a switched role, a server's role, an External Access session) IamRole.
CONDITION_PRINCIPAL_TYPES = {SUB_ACCOUNT: "IamUser", ROLE: "IamRole"}


def condition_principal_type(principal_type: str) -> str:
    return CONDITION_PRINCIPAL_TYPES.get(principal_type, principal_type)


def principal_context(principal: Principal, *, request_tags: dict | None = None) -> dict:
    """The condition keys every request of this principal carries."""
    values = {
        "ncp:principalName": principal.name,
        "ncp:principalId": principal.principal_id,
        "ncp:principaluuid": principal.principal_id,
        "ncp:principalType": condition_principal_type(principal.principal_type),
        "ncp:CurrentTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ncp:MultiFactorAuthPresent": principal.mfa_present,
    }
    if principal.source_ip:
        values["ncp:SourceIp"] = principal.source_ip
    for key in ("sourceIdentityId", "sourceIdentityType"):
        if principal.extra.get(key):
            values[f"ncp:{key}"] = principal.extra[key]
    if request_tags:
        values["ncp:TagKeys"] = list(request_tags)
        for key, value in request_tags.items():
            values[f"ncp:requestTag/{key}"] = value
    return values


def request_context(principal: Principal, request: Request, base: dict) -> RequestContext:
    """Context for one request: ``base`` (see principal_context) plus the target's tags, loaded on demand."""
    resource = request.resource

    def load_tags() -> dict:
        from iam.selectors import resource_tags

        return resource_tags(account_id=principal.account_id, resource_nrn=resource) if resource else {}

    return RequestContext(base, load_tags)


class _CompiledCache:
    """A small thread-safe LRU of compiled policies keyed by (principal, version), at most ``size`` entries.

    ``evictions`` counts the entries pushed out to make room (not those replaced by a newer version of the same
    principal, which simply stop being asked for). Evictions that keep growing mean the cache is too small for the
    principals this process serves: each one costs a compile on that principal's next call. The first eviction and
    then each time another ``size`` have happened (the whole cache turned over once more) are logged."""

    def __init__(self, size: int):
        self.size = max(1, size)
        self.evictions = 0
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        evicted = 0
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
                evicted += 1
            self.evictions += evicted
            total = self.evictions
        if evicted and (total == evicted or total // self.size > (total - evicted) // self.size):
            logger.warning(
                "authz: compiled policy cache full (IAM_AUTHZ_CACHE_SIZE=%d), %d evictions so far",
                self.size,
                total,
                extra={"cache_size": self.size, "evictions": total},
            )

    def stats(self) -> dict:
        """What an operator looks at: entries held, the bound and evictions since the process started."""
        with self._lock:
            return {"entries": len(self._items), "size": self.size, "evictions": self.evictions}

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class EngineAuthorizer:
    """Root keys may do everything in their own account; other principals need a policy that allows each request."""

    def __init__(self):
        self.compiled_cache = _CompiledCache(getattr(settings, "IAM_AUTHZ_CACHE_SIZE", 10_000))

    def cache_stats(self) -> dict:
        """The per-process compiled cache: entries held, its bound (IAM_AUTHZ_CACHE_SIZE) and evictions so far."""
        return self.compiled_cache.stats()

    def compiled_for(self, principal: Principal) -> CompiledPolicies:
        key = (principal.account_id, principal.policy_owner, principal.policy_version)
        compiled = self.compiled_cache.get(key)
        if compiled is None:
            compiled = CompiledPolicies(self._documents(principal))
            self.compiled_cache.put(key, compiled)
        return compiled

    def _documents(self, principal: Principal) -> list:
        from iam.selectors import principal_policies

        shared_key = f"iam:authz:{principal.account_id}:{principal.policy_owner}:{principal.policy_version}"
        try:
            documents = cache.get(shared_key)
        except Exception as exc:  # noqa: BLE001 - the shared cache is an optimisation: without it, read the database
            logger.warning(
                "authz: shared cache unavailable (%s); reading policies from the database", type(exc).__name__
            )
            return principal_policies(principal)
        if documents is None:
            documents = principal_policies(principal)
            try:
                cache.set(shared_key, documents, timeout=3600)
            except Exception as exc:  # noqa: BLE001
                logger.warning("authz: could not share compiled policies (%s)", type(exc).__name__)
        return documents

    def authorize(self, principal: Principal, requests: list[Request], *, request_tags: dict | None = None) -> Decision:
        if not requests:
            return Decision(False, None, "implicitDeny")  # nothing named: fail closed
        if principal.is_root:
            return Decision(True)
        if principal.is_role_session:
            own_policies = None
            for request in requests:
                if own_policies is None and touches_a_policy(request):
                    own_policies = {policy_id for policy_id, _ in self._documents(principal)}
                if role_session_forbidden(request, own_policies or ()):
                    return Decision(False, request, ROLE_SESSION_RESTRICTION)
        compiled = self.compiled_for(principal)
        base = principal_context(principal, request_tags=request_tags)
        for request in requests:
            outcome = compiled.decide(request, request_context(principal, request, base))
            if outcome != ALLOWED:
                return Decision(False, request, outcome)
        return Decision(True)

    def explain(self, principal: Principal, request: Request, context: Mapping | None = None) -> Explanation:
        if principal.is_root:
            return Explanation(ALLOWED, [{"policyId": "root", "permissionIndex": 0, "effect": "Allow"}], [])
        return self.compiled_for(principal).explain(request, context if context is not None else {})


# "While in the role switch state, you cannot register, edit, or delete roles" (002_864125c772492e87.txt): a role
# session is refused every change to roles and to the policies attached to its own role, whatever its policies
# say, so a session can neither widen its own role nor switch on to another one.
ROLE_SESSION_RESTRICTION = "explicitDeny: a role session cannot change roles or its role's policies"


def touches_a_policy(request: Request) -> bool:
    """A change to one policy (update, delete, tag, untag), named by its NRN."""
    if request.product != catalog.SUB_ACCOUNT or not request.action.startswith("Change/") or not request.resource:
        return False
    action = catalog.get_action(request.product, request.action)
    return action is not None and action.group == "Policy" and "Policy" in action.resource_types


def role_session_forbidden(request: Request, own_policy_ids=()) -> bool:
    """What a role session may never do: change a role, or change a policy its own role has (``own_policy_ids``)."""
    if request.product != catalog.SUB_ACCOUNT or not request.action.startswith("Change/"):
        return False
    action = catalog.get_action(request.product, request.action)
    if action is None:
        return False
    if action.group == "Role":
        return True
    if own_policy_ids and touches_a_policy(request):
        target = resource_of(request.resource)
        return target is not None and target[0] == "Policy" and target[1] in own_policy_ids
    return False


@lru_cache(maxsize=4)
def _load(path: str):
    return import_string(path)()


def get_authorizer():
    return _load(settings.IAM_AUTHORIZER)


def resource_of(resource_nrn: str | None) -> tuple[str, str] | None:
    """(resource type, id) of an IAM NRN, or None."""
    if not resource_nrn:
        return None
    try:
        parsed = nrn.parse(resource_nrn)
    except nrn.InvalidNrn:
        return None
    return parsed.resource_type, parsed.resource_id
