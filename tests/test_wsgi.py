"""The WSGI entry point gunicorn serves: a Content-Type charset that is a codec but no text encoding is a 400."""

import io
import json

import pytest

from config.wsgi import application


def _call(path: str, query: str, content_type: str) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    statuses = []
    body = b"".join(application(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    return statuses[0], body


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["rot13", "base64", "zlib", "hex", "ROT_13"])
def test_a_codec_that_is_not_a_text_encoding_is_refused(charset):
    for path in ("/healthz", "/api/v1/groups"):
        status, body = _call(path, "page=0", f"text/plain; charset={charset}")
        assert status.startswith("400"), (path, status)
        assert json.loads(body)["error"]["details"] == "Content-Type: charset is not a text encoding"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "text/plain; charset=nope", "", "text/plain"]
)
def test_text_and_unknown_charsets_go_through(content_type):
    status, _ = _call("/healthz", "x=1", content_type)
    assert status.startswith("200"), status


def test_what_the_application_loaded_is_out_of_the_collectors_generations():
    import gc

    assert gc.get_freeze_count() > 10_000  # Django and the apps, frozen when config.wsgi was imported
