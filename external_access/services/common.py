"""What the External Access entities share: NCP's name and description rules, and switching a row on or off."""

import re

from django.db import models

from iam.errors import InvalidInput

# NCP: 3-30 letters (Korean, Latin, Japanese: any letter here), digits and ". _ -", starting with a letter.
NAME_RE = re.compile(r"^[^\W\d_][\w.-]{2,29}$")
DESCRIPTION_MAX_BYTES = 300


def checked_name(value) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise InvalidInput.field("name", "3-30 letters, digits, '.', '_' or '-', starting with a letter")
    return value


def checked_description(value) -> str:
    if not isinstance(value, str) or len(value.encode("utf-8", "replace")) > DESCRIPTION_MAX_BYTES:
        raise InvalidInput.field("description", f"must be text of at most {DESCRIPTION_MAX_BYTES} bytes")
    return value


def checked_enabled(value) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput.field("enabled", "must be true or false")
    return value


def set_enabled(row: models.Model, enabled: bool):
    """Enable or disable a trust anchor, CRL, profile or subject (only that column and its update time)."""
    row.enabled = checked_enabled(enabled)
    row.save(update_fields=["enabled", "update_time"])
    return row
