"""The WSGI application, behind one guard Django lacks: a ``charset`` that names a codec but not a text encoding; what
it loaded is kept out of the garbage collector's way."""

import codecs
import gc
import json
import os
from email.message import Message

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _bad_charset(content_type: str) -> str | None:
    """The charset of a Content-Type that Django would accept (codecs knows it) and then fail to decode with
    (``rot13``, ``base64``, ``zlib``: not text encodings), else None."""
    if "charset" not in content_type.lower():
        return None
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    if not isinstance(charset, str):
        return None
    try:
        info = codecs.lookup(charset)
    except LookupError:
        return None  # Django ignores an unknown charset
    return None if getattr(info, "_is_text_encoding", True) else charset


def refuse_codec_charsets(app):
    """Answers 400 where Django would raise LookupError (a 500 on any URL with a query, before any middleware)."""

    def guarded(environ, start_response):
        charset = _bad_charset(environ.get("CONTENT_TYPE", ""))
        if charset is None:
            return app(environ, start_response)
        body = json.dumps(
            {
                "error": {
                    "errorCode": "100",
                    "message": "Bad Request Exception",
                    "details": "Content-Type: charset is not a text encoding",
                }
            }
        ).encode()
        start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return guarded


application = refuse_codec_charsets(get_wsgi_application())

# What the process has loaded by now (Django, the apps, their models and catalogs) lives as long as it does: moved
# out of the cyclic collector's generations, a full collection during a request no longer walks all of it again.
gc.collect()
gc.freeze()
