"""Input rules shared by the services; each failure names the wire field it is about."""

import ipaddress
import re

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from iam.errors import InvalidInput

MAX_TAGS = 20
MAX_TAG_LENGTH = 128
MAX_SOURCES = 100
API_ALLOW_SOURCE_TYPES = ("IP", "VPC", "VPC_SERVER")
_SPECIAL_RE = re.compile(r"[^A-Za-z0-9]")

# Model field -> wire field, so that a model's clean() errors come back under the names the caller sent.
WIRE_NAMES = {
    "login_id": "loginId",
    "name": "name",
    "email": "email",
    "memo": "memo",
    "login_page_alias": "loginPageAlias",
    "password_min_length": "minLength",
    "password_expiration_days": "expirationDays",
    "password_reuse_prevention": "reusePreventionCount",
    "session_expiration_minutes": "sessionExpirationMinutes",
    "long_term_unused_days": "days",
    "session_expiration_sec": "sessionExpirationSec",
    "description": "description",
}


def full_clean(instance, wire_names: dict[str, str] | None = None) -> None:
    """Run the model's single-row rules and raise InvalidInput with wire field names."""
    names = {**WIRE_NAMES, **(wire_names or {})}
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors = []
        for field, messages in exc.message_dict.items():
            wire = "" if field == NON_FIELD_ERRORS else names.get(field, field)
            errors.extend((wire, m) for m in messages)
        raise InvalidInput("; ".join(f"{f}: {m}" if f else m for f, m in errors), field_errors=errors) from None


def tags(value, field: str = "tags") -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput.field(field, "must be an object of tag keys to values")
    if len(value) > MAX_TAGS:
        raise InvalidInput.field(field, f"at most {MAX_TAGS} tags")
    for key, tag_value in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_LENGTH:
            raise InvalidInput.field(f"{field}.{str(key)[:40]}", f"tag keys must be 1-{MAX_TAG_LENGTH} characters")
        if not isinstance(tag_value, str) or len(tag_value) > MAX_TAG_LENGTH:
            raise InvalidInput.field(
                f"{field}.{key}", f"tag values must be strings of at most {MAX_TAG_LENGTH} characters"
            )
    return dict(value)


def console_permit_ips(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_SOURCES:
        raise InvalidInput.field(
            "consolePermitIps", f"must be a list of at most {MAX_SOURCES} IP addresses or CIDR blocks"
        )
    result = []
    for index, item in enumerate(value):
        try:
            result.append(
                str(ipaddress.ip_network(str(item), strict=False))
                if "/" in str(item)
                else str(ipaddress.ip_address(str(item)))
            )
        except ValueError:
            raise InvalidInput.field(f"consolePermitIps[{index}]", "not an IP address or CIDR block") from None
    return result


def api_allow_sources(value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_SOURCES:
        raise InvalidInput.field("apiAllowSources", f"must be a list of at most {MAX_SOURCES} sources")
    result = []
    for index, item in enumerate(value):
        place = f"apiAllowSources[{index}]"
        if not isinstance(item, dict):
            raise InvalidInput.field(place, "must be an object with type and source")
        source_type, source = item.get("type"), item.get("source")
        if source_type not in API_ALLOW_SOURCE_TYPES:
            raise InvalidInput.field(f"{place}.type", "must be one of IP, VPC, VPC_SERVER")
        if not isinstance(source, str) or not source:
            raise InvalidInput.field(f"{place}.source", "is required")
        if source_type == "IP":
            try:
                source = str(ipaddress.ip_network(source, strict=False))
            except ValueError:
                raise InvalidInput.field(f"{place}.source", "not an IP address or CIDR block") from None
        elif not source.isdigit():
            raise InvalidInput.field(f"{place}.source", f"must be the numeric {source_type} number")
        result.append({"type": source_type, "source": source})
    return result


def password_problems(password: str, *, min_length: int = 8, login_id: str | None = None) -> list[str]:
    """What is wrong with a sub account password (empty when it is acceptable)."""
    problems = []
    if not isinstance(password, str):
        return ["must be a string"]
    if not max(8, min_length) <= len(password) <= 16:
        problems.append(f"must be {max(8, min_length)}-16 characters")
    if not any(c.isupper() for c in password):
        problems.append("needs an upper-case letter")
    if not any(c.islower() for c in password):
        problems.append("needs a lower-case letter")
    if not any(c.isdigit() for c in password):
        problems.append("needs a digit")
    if not _SPECIAL_RE.search(password):
        problems.append("needs a special character")
    if any(c.isspace() for c in password):
        problems.append("must not contain white space")
    if login_id and login_id.lower() in password.lower():
        problems.append("must not contain the login ID")
    return problems


def password(value, *, field: str = "password", min_length: int = 8, login_id: str | None = None) -> str:
    problems = password_problems(value, min_length=min_length, login_id=login_id)
    if problems:
        raise InvalidInput.field(field, "; ".join(problems))
    return value


def id_list(value, field: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, (str, int)) for v in value):
        raise InvalidInput.field(field, "must be a non-empty list of ids")
    if len(value) > 500:
        raise InvalidInput.field(field, "at most 500 ids at once")
    return list(dict.fromkeys(str(v) for v in value))
