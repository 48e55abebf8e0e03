"""Log lines: one JSON object each, with the request id, and never a secret or a query string (config/logging.py)."""

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from gunicorn.glogging import SafeAtoms

from config.logging import JsonFormatter, RedactFilter, RequestIdFilter
from iam import audit

PASSWORD = "Sup3r-S3cret-Passw0rd"
ROOT = Path(__file__).resolve().parent.parent


def run_django(env: dict, code: str) -> subprocess.CompletedProcess:
    """``code`` in a new interpreter (settings are read once, at import) with the logging variables given here."""
    clean = {k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "LOG_LEVEL", "DATABASE_URL", "REDIS_URL")}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def _console_handlers() -> list[logging.Handler]:
    """The handlers settings.LOGGING installed (the ones carrying our filters), wherever they are attached."""
    loggers = [logging.getLogger(), logging.getLogger("gunicorn.access")]
    found = [
        handler
        for logger in loggers
        for handler in logger.handlers
        if any(isinstance(f, RequestIdFilter) for f in handler.filters)
    ]
    return list(dict.fromkeys(found))


def _own_handlers(name: str) -> list[logging.Handler]:
    """A logger's handlers, without the ones pytest adds to capture logs."""
    return [h for h in logging.getLogger(name).handlers if not type(h).__module__.startswith("_pytest")]


@pytest.fixture
def log_lines():
    """Everything the configured console handler writes during the test, as a function returning the lines."""
    handlers = _console_handlers()
    assert handlers, "settings.LOGGING installed no console handler with the request id filter"
    stream = io.StringIO()
    previous = [(handler, handler.setStream(stream), handler.formatter) for handler in handlers]
    for handler in handlers:
        handler.setFormatter(JsonFormatter())  # the default LOG_FORMAT, whatever the environment running the tests
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        for handler, old_stream, formatter in previous:
            handler.setStream(old_stream)
            handler.setFormatter(formatter)


def _records(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_settings_install_one_handler_with_the_filters_for_root_gunicorn_and_celery(settings):
    (handler,) = _console_handlers()
    assert [type(f) for f in handler.filters] == [RequestIdFilter, RedactFilter]
    assert type(handler.formatter) is (JsonFormatter if settings.LOG_FORMAT == "json" else logging.Formatter)
    for name in ("gunicorn.access", "gunicorn.error", "celery.task", "multiprocessing"):
        assert _own_handlers(name) == [handler], name
        assert logging.getLogger(name).propagate is False
    # Django's own handlers (runserver's plain request lines among them) are gone; their records reach the root.
    assert _own_handlers("django") == []
    assert _own_handlers("django.server") == []
    assert logging.getLogger("django.server").propagate is True
    assert settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False


def test_a_log_line_is_one_json_object_with_time_level_logger_message_request_id_and_extras(log_lines):
    with audit.acting_as(audit.SYSTEM, request_id="req-42"):
        logging.getLogger("iam.example").warning("policy %s changed", "p1", extra={"account_id": 7, "was": [1, 2]})
    (line,) = log_lines()
    record = json.loads(line)
    assert list(record)[:5] == ["time", "level", "logger", "message", "request_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])
    assert record | {"time": None} == {
        "time": None,
        "level": "WARNING",
        "logger": "iam.example",
        "message": "policy p1 changed",
        "request_id": "req-42",
        "account_id": 7,
        "was": [1, 2],
    }


def test_outside_a_request_the_request_id_is_empty(log_lines):
    logging.getLogger("iam.example").info("nothing in progress")
    assert _records(log_lines())[0]["request_id"] == ""


@pytest.mark.django_db
def test_a_requests_log_line_carries_the_id_of_the_response_header(api, log_lines):
    response = api.call("GET", "/api/v1/dashboard", creds=None)
    assert response.status_code == 401
    request_id = response["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    (line,) = [r for r in _records(log_lines()) if r["logger"] == "django.request"]
    assert line["message"] == "Unauthorized: /api/v1/dashboard"
    assert line["request_id"] == request_id
    assert (line["level"], line["status_code"], line["request"]) == ("WARNING", 401, "GET /api/v1/dashboard")


@pytest.mark.django_db
def test_a_well_formed_x_request_id_is_echoed_back_and_logged(api, log_lines):
    response = api.call("GET", "/api/v1/dashboard", creds=None, headers={"X-Request-Id": "lb-7f3a.01_x"})
    assert response["X-Request-Id"] == "lb-7f3a.01_x"
    (line,) = [r for r in _records(log_lines()) if r["logger"] == "django.request"]
    assert line["request_id"] == "lb-7f3a.01_x"


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["has spaces in it", "semi;colon", "x" * 65, "<script>"])
def test_a_malformed_x_request_id_is_replaced(api, log_lines, given):
    response = api.call("GET", "/api/v1/dashboard", creds=None, headers={"X-Request-Id": given})
    request_id = response["X-Request-Id"]
    assert request_id != given
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    (line,) = [r for r in _records(log_lines()) if r["logger"] == "django.request"]
    assert line["request_id"] == request_id
    assert given not in "\n".join(log_lines())


def test_secret_looking_extra_fields_are_dropped_and_the_rest_kept(log_lines):
    logging.getLogger("iam.example").info(
        "key issued",
        extra={
            "client_secret": "value-a",
            "password": "value-b",
            "sessionToken": "value-c",
            "x_ncp_apigw_signature_v2": "value-d",
            "Authorization": "value-e",
            "request_body": '{"password": "value-f"}',
            "body": "value-g",
            "detail": {"newPassword": "value-h", "nested": {"secretKey": "value-i", "keep": 1}, "loginId": "ann"},
            "access_key": "AK123",
            "login_id": "ann",
        },
    )
    (line,) = log_lines()
    assert "value-" not in line
    assert json.loads(line) | {"time": None} == {
        "time": None,
        "level": "INFO",
        "logger": "iam.example",
        "message": "key issued",
        "request_id": "",
        "detail": {"nested": {"keep": 1}, "loginId": "ann"},
        "access_key": "AK123",
        "login_id": "ann",
    }


def test_secret_parameters_in_a_message_are_masked(log_lines):
    logging.getLogger("iam.example").warning("retrying GET /x?page=1&password=%s&newPassword=%s", PASSWORD, "abc123")
    (record,) = _records(log_lines())
    assert record["message"] == "retrying GET /x?page=1&password=[redacted]&newPassword=[redacted]"


def test_the_filter_works_on_a_bare_record():
    """The filter alone (no handler) drops the fields, so any handler given it is safe."""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    record.refresh_token, record.user = "value", "ann"
    assert RedactFilter().filter(record) is True
    assert not hasattr(record, "refresh_token")
    assert record.user == "ann"


@pytest.mark.django_db
def test_the_check_password_query_string_never_reaches_any_log_output(api, tenant, log_lines, caplog):
    uri = f"/api/v1/join/check-password?password={PASSWORD}"
    with caplog.at_level(logging.DEBUG):
        unsigned = api.call("GET", uri, creds=None)
        signed = api.call("GET", uri, creds=tenant.root)
        assert unsigned.status_code == 401
        assert signed.status_code == 200, signed.content
        # runserver's request line (django.core.servers.basehttp logs exactly this) and gunicorn's access line.
        logging.getLogger("django.server").info(
            '"%s" %s %s', f"GET {uri} HTTP/1.1", "200", "52", extra={"request": object(), "server_time": "now"}
        )
        atoms = {
            "h": "10.0.0.1",
            "l": "-",
            "u": "-",
            "t": "[now]",
            "r": f"GET {uri} HTTP/1.1",
            "s": "200",
            "m": "GET",
            "U": "/api/v1/join/check-password",
            "q": f"password={PASSWORD}",
            "H": "HTTP/1.1",
            "b": "52",
            "B": 52,
            "f": f"http://console.example{uri}",
            "a": "curl/8",
            "T": 0,
            "D": 1234,
            "M": 1,
            "L": "0.001234",
            "p": "<1>",
            "{x-ncp-apigw-signature-v2}i": "c2lnbmF0dXJlLXZhbHVl",
            "{x-request-id}o": "req-from-gunicorn",
            "{raw_uri}e": uri,
            "{query_string}e": f"password={PASSWORD}",
        }
        access_format = '%(h)s %(r)s %(q)s "%(f)s" %({x-ncp-apigw-signature-v2}i)s %({raw_uri}e)s'
        logging.getLogger("gunicorn.access").info(access_format, SafeAtoms(atoms))

    output = "\n".join(log_lines())
    assert PASSWORD not in output
    assert "password=" not in output
    assert "c2lnbmF0dXJlLXZhbHVl" not in output
    records = _records(log_lines())
    assert {r["logger"] for r in records} >= {"django.request", "django.server", "gunicorn.access"}
    (unauthorized,) = [r for r in records if r["logger"] == "django.request"]
    assert unauthorized["request"] == "GET /api/v1/join/check-password"
    (server,) = [r for r in records if r["logger"] == "django.server"]
    assert server["message"] == '"GET /api/v1/join/check-password HTTP/1.1" 200 52'
    (access,) = [r for r in records if r["logger"] == "gunicorn.access"]
    assert access["message"] == '10.0.0.1 "GET /api/v1/join/check-password HTTP/1.1" 200 52 1ms'
    assert (access["request_id"], access["method"], access["path"], access["status_code"], access["duration_ms"]) == (
        "req-from-gunicorn",
        "GET",
        "/api/v1/join/check-password",
        200,
        1,
    )
    # Nor in what other handlers (pytest's, here) saw of the messages.
    assert PASSWORD not in caplog.text


def test_log_format_comes_from_the_environment(tmp_path):
    code = "import django, logging; django.setup(); logging.getLogger('iam.example').warning('hello', extra={'n': 1})"
    default = run_django({"DATA_DIR": str(tmp_path)}, code)
    assert default.returncode == 0, default.stderr
    (line,) = [line for line in default.stderr.splitlines() if "hello" in line]
    assert json.loads(line) | {"time": None} == {
        "time": None,
        "level": "WARNING",
        "logger": "iam.example",
        "message": "hello",
        "request_id": "",
        "n": 1,
    }

    plain = run_django({"DATA_DIR": str(tmp_path), "LOG_FORMAT": "plain"}, code)
    assert plain.returncode == 0, plain.stderr
    (line,) = [line for line in plain.stderr.splitlines() if "hello" in line]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING iam\.example \[\] hello", line)

    quiet = run_django({"DATA_DIR": str(tmp_path), "LOG_LEVEL": "ERROR"}, code)
    assert quiet.returncode == 0, quiet.stderr
    assert "hello" not in quiet.stderr

    wrong = run_django({"DATA_DIR": str(tmp_path), "LOG_FORMAT": "xml"}, code)
    assert wrong.returncode != 0
    assert "LOG_FORMAT must be json or plain, got 'xml'" in wrong.stderr


def test_a_traceback_is_logged_with_secret_parameters_masked(log_lines):
    try:
        raise ValueError(f"cannot parse 'user=ann&password={PASSWORD}'")
    except ValueError:
        logging.getLogger("iam.example").exception("import failed")
    (record,) = _records(log_lines())
    assert record["message"] == "import failed"
    assert "ValueError: cannot parse 'user=ann&password=[redacted]'" in record["exc_info"]
    assert "Traceback (most recent call last)" in record["exc_info"]
    assert PASSWORD not in "\n".join(log_lines())
