"""A plain reference evaluator for tests and benchmarks: loops over every statement, matching as it goes.

Written independently of iam/policy/engine.py's index so the two can be checked against each other.
"""

import fnmatch  # translates '*' into atomic groups (Python 3.11+): no exponential backtracking, and C speed
import ipaddress
import re
from datetime import UTC, datetime

from iam.policy import catalog

_VAR = re.compile(r"\$\{([^}]+)\}")


def _sub(text, ctx):
    if not isinstance(text, str) or "${" not in text:
        return text
    missing = False

    def repl(m):
        nonlocal missing
        v = ctx.get(m.group(1))
        if v is None or isinstance(v, (list, tuple)):
            missing = True
            return ""
        return str(v)

    out = _VAR.sub(repl, text)
    return None if missing else out


def glob(pattern, value):
    """``*`` any run, ``?`` one character, the rest literal (``[`` escaped: fnmatch would read a character class).
    Deliberately not iam/policy/wildcard.py, so that the two can be checked against each other."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _action_ok(pattern, action):
    return (
        pattern == "*"
        or (pattern == "View*" and action.startswith("View/"))
        or (pattern == "Change*" and action.startswith("Change/"))
        or pattern == action
    )


def _resource_ok(pattern, resource, ctx):
    pattern = _sub(pattern, ctx)
    if pattern is None:
        return False
    if pattern == "*":
        return True
    if resource is None:
        return False
    return glob(pattern, resource)


def _num(v):
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _date(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return datetime.fromtimestamp(v, tz=UTC)
    if isinstance(v, str):
        if re.fullmatch(r"\d+(\.\d+)?", v):
            return datetime.fromtimestamp(float(v), tz=UTC)
        try:
            d = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
        return d if d.tzinfo else d.replace(tzinfo=UTC)
    return None


def _test(base, v, p):
    if base.startswith("String"):
        if not isinstance(v, str):
            return False
        ic = "IgnoreCase" in base
        a, b = (v.casefold(), str(p).casefold()) if ic else (v, str(p))
        if "Like" in base:
            return glob(b, a)
        return a == b
    if base.startswith("Numeric") or base.startswith("Date"):
        conv = _num if base.startswith("Numeric") else _date
        a, b = conv(v), conv(p)
        if a is None or b is None:
            return False
        op = base.replace("Numeric", "").replace("Date", "")
        return {
            "Equals": a == b,
            "NotEquals": a == b,
            "LessThan": a < b,
            "LessThanEquals": a <= b,
            "GreaterThan": a > b,
            "GreaterThanEquals": a >= b,
        }[op]
    if base == "Bool":
        return str(v).lower() in ("true", "false") and str(v).lower() == str(p).lower()
    if base in ("IpAddress", "NotIpAddress"):
        try:
            return ipaddress.ip_address(str(v)) in ipaddress.ip_network(str(p), strict=False)
        except ValueError:
            return False
    raise AssertionError(base)


def _clause(op, key, vals, ctx):
    prefix = None
    for pre in ("ForAnyValue:", "ForAllValues:"):
        if op.startswith(pre):
            prefix, op = pre[:-1], op[len(pre) :]
    if_exists = op.endswith("IfExists")
    base = op[: -len("IfExists")] if if_exists else op
    vals = vals if isinstance(vals, list) else [vals]
    value = ctx.get(key)
    if base == "Null":
        absent = value is None or (isinstance(value, list) and not value)
        return absent == (str(vals[0]).lower() == "true")
    negated = "Not" in base
    pvals = [x for x in (_sub(v, ctx) for v in vals) if x is not None]

    def one(v):
        hit = any(_test(base, v, p) for p in pvals)
        return not hit if negated else hit

    if prefix is None:
        if value is None or (isinstance(value, list) and not value):
            return if_exists or negated
        if isinstance(value, list):
            return any(one(v) for v in value)
        return one(value)
    items = [] if value is None else (value if isinstance(value, list) else [value])
    if prefix == "ForAllValues":
        return all(one(v) for v in items)
    return bool(items) and any(one(v) for v in items)


def evaluate(policies, request, ctx):
    """policies: [(policy_id, permissions)]; request: iam.policy.request.Request; returns the decision string."""
    action = catalog.get_action(request.product, request.action)
    allowed = False
    for _pid, permissions in policies:
        for st in permissions:
            for t in st.get("targets", []):
                if t.get("product") not in ("*", request.product):
                    continue
                if not any(_action_ok(p, request.action) for p in t.get("actions", [])):
                    continue
                if not any(_resource_ok(r, request.resource, ctx) for r in (t.get("resourceNrns") or ["*"])):
                    continue
                cond = st.get("condition") or {}
                keys = [k for clauses in cond.values() for k in clauses]
                holds = all(_clause(op, k, v, ctx) for op, clauses in cond.items() for k, v in clauses.items())
                if not holds:
                    continue
                if st["effect"] == "Deny":
                    return "explicitDeny"
                if keys and (action is None or not all(catalog.condition_key_applies(action, k) for k in keys)):
                    continue
                allowed = True
    return "allowed" if allowed else "implicitDeny"
