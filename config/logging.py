"""Logging for every process: one JSON object a line (or plain text), with the request id, and never a secret.

``config/settings.py`` LOGGING puts the two filters below on the one console handler, so they see every record that is
written, whichever logger it came from: a filter on a logger would miss the records that propagate up to the root.
"""

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

# Extra fields whose name holds one of these are dropped, whatever their value.
SECRET_WORDS = ("secret", "password", "passwd", "token", "signature", "authorization", "cookie", "credential")
# Loggers whose messages carry request lines or URLs: their query strings are cut off (they can hold a password, e.g.
# GET /api/v1/join/check-password?password=...).
URL_LOGGERS = ("django.server", "django.request", "gunicorn.access")

_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}
_QUERY = re.compile(r"\?[^\s\"']*")
# A secret-looking parameter in any message: ``password=...``, ``?token=...``.
_SECRET_PARAM = re.compile(r"(?i)(\b[\w.-]*(?:" + "|".join(SECRET_WORDS) + r")[\w.-]*=)[^\s&\"',;]*")
REDACTED = "[redacted]"


def _current_request_id() -> str:
    try:
        from iam.audit import current_request_id
    except Exception:  # noqa: BLE001 - logging before the apps are loaded must still work, just without an id
        return ""
    return current_request_id()


def strip_query(text: str) -> str:
    return _QUERY.sub("", text)


def mask_secret_params(text: str) -> str:
    return _SECRET_PARAM.sub(rf"\1{REDACTED}", text)


def is_secret_name(name: str) -> bool:
    lowered = str(name).lower()
    return any(word in lowered for word in SECRET_WORDS)


def without_secrets(value):
    """A copy of nested dicts and lists without the keys that name a secret."""
    if isinstance(value, Mapping):
        return {str(k): without_secrets(v) for k, v in value.items() if not is_secret_name(k)}
    if isinstance(value, list | tuple):
        return [without_secrets(v) for v in value]
    return value


def _describe_request(request) -> str:
    """``METHOD /path`` of a Django request: never its query string, headers or body."""
    method = getattr(request, "method", None) or "-"
    path = getattr(request, "path", None)
    if path is None:
        return type(request).__name__
    return f"{method} {path}"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id``: the request (or task) in progress, else the id the middleware gave the logged request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            request_id = _current_request_id()
            if not request_id:
                # django.request logs 4xx/5xx after the middleware has finished; the request still carries its id.
                request_id = getattr(getattr(record, "request", None), "request_id", "") or ""
            record.request_id = request_id
        return True


class RedactFilter(logging.Filter):
    """Keeps secrets, request bodies and query strings out of the logs.

    Drops extra fields named like a secret (and secret-named keys inside dict extras) and body extras; turns a
    ``request`` extra into ``METHOD /path``; cuts query strings off request lines; masks ``password=...``-style
    parameters in any message.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            self._gunicorn_access(record)
        for name in [n for n in record.__dict__ if n not in _STANDARD_ATTRS]:
            value = record.__dict__[name]
            if is_secret_name(name) or name == "body" or name.endswith("_body"):
                del record.__dict__[name]
            elif name == "request" and not isinstance(value, str):
                record.request = _describe_request(value)
            elif isinstance(value, Mapping | list | tuple):
                record.__dict__[name] = without_secrets(value)
        if record.name.startswith(URL_LOGGERS):
            record.msg = strip_query(record.msg) if isinstance(record.msg, str) else record.msg
            if isinstance(record.args, tuple):
                record.args = tuple(strip_query(a) if isinstance(a, str) else a for a in record.args)
        self._mask_secret_params(record)
        return True

    @staticmethod
    def _mask_secret_params(record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken message is logging's own error to report, not ours
            return
        masked = mask_secret_params(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text; the JSON formatter masks its own traceback text (formatException below).
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secret_params(record.exc_text)

    @staticmethod
    def _gunicorn_access(record: logging.LogRecord) -> None:
        """gunicorn's atoms hold the raw URI, every request header (the signature too) and the environ: keep a fixed,
        safe few, whatever ``--access-logformat`` says."""
        atoms = record.args
        safe = {key: atoms.get(key, "-") for key in ("h", "m", "U", "H", "s", "b", "M")}
        record.msg = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
        record.args = safe
        record.method, record.path, record.duration_ms = safe["m"], safe["U"], safe["M"]
        record.status_code = int(safe["s"]) if str(safe["s"]).isdigit() else safe["s"]
        request_id = atoms.get("{x-request-id}o")  # gunicorn lower-cases the header names in its atoms
        if request_id and request_id != "-":
            record.request_id = request_id


class JsonFormatter(_LibraryJsonFormatter):
    """``{"time", "level", "logger", "message", "request_id", ...extra fields}``, time in UTC ISO 8601."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def formatException(self, ei) -> str:
        return mask_secret_params(super().formatException(ei))

    def add_fields(self, log_data, record, message_dict) -> None:
        super().add_fields(log_data, record, message_dict)
        if log_data.get("request_id") is None:
            log_data["request_id"] = _current_request_id()
