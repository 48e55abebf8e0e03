"""Request bodies: JSON only, never nested deeper than ``IAM_JSON_MAX_DEPTH``, with only storable values."""

import codecs
import math

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

from iam.api import input_guard


def deeper_than(data, max_depth: int) -> bool:
    """Whether arrays and objects nest more than ``max_depth`` levels, measured level by level (no recursion) and
    given up as soon as the answer is known."""
    level = [data] if isinstance(data, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below = []
        for container in level:
            items = container.values() if type(container) is dict else container
            # json.loads makes exactly dicts and lists: exact type checks are the fast ones here.
            below.extend([item for item in items if type(item) is dict or type(item) is list])
        level = below
    return False


class GuardedJSONParser(JSONParser):
    """DRF's JSON parser, refusing (400) what would fail further in: nesting deeper than the setting (code that walks
    a document recursively would run out of stack; the decoder itself gives up near 1,000 levels with a
    RecursionError), and NUL characters, lone surrogates and numbers that overflow to infinity, named by field (see
    ``iam.api.input_guard``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        max_depth = settings.IAM_JSON_MAX_DEPTH
        try:
            text = stream.read().decode(encoding)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        overflowed = []

        def parse_float(literal: str) -> float:
            value = float(literal)
            if not math.isfinite(value):
                overflowed.append(literal)
            return value

        try:
            data = json.loads(
                text, parse_constant=json.strict_constant if self.strict else None, parse_float=parse_float
            )
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError(f"JSON is nested deeper than {max_depth} levels") from None
        if deeper_than(data, max_depth):
            raise ParseError(f"JSON is nested deeper than {max_depth} levels")
        # A NUL or a lone surrogate reaches a string only through a \u escape (strict JSON refuses raw control
        # characters; UTF-8 decoding refuses surrogates), unless an exotic charset decoded the body: only then is
        # every string looked at.
        if overflowed or "\\u" in text or codecs.lookup(encoding).name != "utf-8":
            input_guard.check_json(data, max_depth)
        return data
