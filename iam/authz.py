"""The authorization component used on every API call. Replaceable through ``settings.IAM_AUTHORIZER``:
anything with ``authorize(principal, requests) -> Decision`` fits."""

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from iam import policy_eval
from iam.policy_eval import Request
from iam.principals import Principal


@dataclass(frozen=True)
class Decision:
    """The outcome for a set of requests: allowed only if every request is."""

    allowed: bool
    denied_request: Request | None = None
    reason: str = policy_eval.ALLOWED


class PolicyAuthorizer:
    """Root keys may do everything in their own account; other principals need a policy that allows each request."""

    def authorize(self, principal: Principal, requests: list[Request]) -> Decision:
        if principal.is_root:
            return Decision(True)
        from iam.selectors import principal_statements

        statements = principal_statements(principal)
        for request in requests:
            outcome = policy_eval.evaluate(statements, request)
            if outcome != policy_eval.ALLOWED:
                return Decision(False, request, outcome)
        return Decision(True)


@lru_cache(maxsize=4)
def _load(path: str):
    return import_string(path)()


def get_authorizer():
    return _load(settings.IAM_AUTHORIZER)
