"""What no API input may carry, checked at one place before anything reads it.

PostgreSQL stores no NUL character (in text or in JSON) and no lone surrogate (it cannot be encoded to UTF-8), JSON
numbers that overflow to infinity cannot be stored in a JSON column, and deeply nested JSON exhausts the recursion of
whatever walks it later. Every string of a parsed body (keys too), every query parameter and every path id is checked
here, without recursion, and refused with a 400 naming the field; a path id longer than its column is an id that
cannot exist (404). Messages never repeat the value: it may be a password.
"""

import math

from rest_framework.exceptions import ParseError

from iam.errors import InvalidInput, NotFound

NUL = "\x00"


def string_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None."""
    if value.isascii():
        return "must not contain NUL characters" if NUL in value else None
    if NUL in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogate)"
    return None


def _field(trail) -> str:
    """``permissions[0].targets`` from a trail of (parent trail, key or index) pairs."""
    parts = []
    while trail is not None:
        trail, key = trail
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(reversed(parts)).lstrip(".") or "body"


def check_json(data, max_depth: int) -> None:
    """Refuse a parsed JSON document nested deeper than ``max_depth`` containers (ParseError), or holding a string or
    key that cannot be stored, or a non-finite number (InvalidInput naming where). Walks with a stack, not recursion."""
    if not isinstance(data, (dict, list)):
        _check_scalar(data, None)
        return
    stack = [(data, 1, None)]
    while stack:
        container, depth, trail = stack.pop()
        if depth > max_depth:
            raise ParseError(f"JSON is nested deeper than {max_depth} levels (at {_field(trail)})")
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            if isinstance(key, str):
                problem = string_problem(key)
                if problem:
                    raise InvalidInput.field(_field(trail), f"a key {problem}")
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1, (trail, key)))
            else:
                _check_scalar(value, (trail, key))


def _check_scalar(value, trail) -> None:
    if isinstance(value, str):
        problem = string_problem(value)
        if problem:
            raise InvalidInput.field(_field(trail), problem)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput.field(_field(trail), "must be a finite number")


def check_query(query_params) -> None:
    """Every query parameter name and value."""
    for name, values in query_params.lists():
        problem = string_problem(name)
        if problem:
            raise InvalidInput.field("query", f"a parameter name {problem}")
        for value in values:
            problem = string_problem(value)
            if problem:
                raise InvalidInput.field(name, problem)


def check_path(kwargs: dict, *, lookup: str | None, max_length: int | None, entity: str) -> None:
    """Path parameters: storable, and the id no longer than its column (else no such thing can exist)."""
    for name, value in kwargs.items():
        if not isinstance(value, str):
            continue
        problem = string_problem(value)
        if problem:
            raise InvalidInput.field(name, problem)
        if name == lookup and max_length is not None and len(value) > max_length:
            raise NotFound(f"no such {entity}")


def printable(value: str, limit: int | None = None) -> str:
    """``value`` as the audit trail can store it: NUL and lone surrogates escaped, cut to ``limit`` characters."""
    text = value.encode("utf-8", "backslashreplace").decode("utf-8").replace(NUL, "\\x00")
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
