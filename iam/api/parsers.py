"""Request bodies: JSON only, never nested deeper than ``IAM_JSON_MAX_DEPTH``, with only storable strings."""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from iam.api import input_guard


class GuardedJSONParser(JSONParser):
    """DRF's JSON parser, refusing (400) what would fail further in: deep nesting (the decoder itself gives up with a
    RecursionError near 1,000 levels, and code that walks a document recursively much earlier), NUL characters, lone
    surrogates and non-finite numbers. See ``iam.api.input_guard``."""

    def parse(self, stream, media_type=None, parser_context=None):
        max_depth = settings.IAM_JSON_MAX_DEPTH
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON is nested deeper than {max_depth} levels") from None
        input_guard.check_json(data, max_depth)
        return data
