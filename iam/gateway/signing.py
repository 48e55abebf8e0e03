"""The API Gateway request signature (v1/v2 share the algorithm). Pure Python, no Django.

``base64(HMAC-SHA256(secretKey, "{METHOD} {URI}\\n{timestamp}\\n{accessKey}"))`` where URI is the
path plus ``?query`` exactly as sent. Real clients sign a few spellings of that URI (see ``uri_variants``).
"""

import base64
import hashlib
import hmac
import re
import time
from urllib.parse import unquote_plus

_ENCODED_SEPARATOR = re.compile(r"%(?:26|3[dD])")

TIMESTAMP_HEADER = "x-ncp-apigw-timestamp"
ACCESS_KEY_HEADER = "x-ncp-iam-access-key"
SIGNATURE_V2_HEADER = "x-ncp-apigw-signature-v2"
SIGNATURE_V1_HEADER = "x-ncp-apigw-signature-v1"


def string_to_sign(method: str, uri: str, timestamp: str, access_key: str) -> str:
    return f"{method.upper()} {uri}\n{timestamp}\n{access_key}"


def sign(secret_key: str, method: str, uri: str, timestamp: str, access_key: str) -> str:
    """The signature for one request."""
    message = string_to_sign(method, uri, timestamp, access_key).encode("utf-8")
    digest = hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret_key: str, signature: str, method: str, uri: str, timestamp: str, access_key: str) -> bool:
    """Constant-time comparison of a presented signature with the expected one."""
    expected = sign(secret_key, method, uri, timestamp, access_key)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))


def uri_variants(uri: str) -> tuple[str, ...]:
    """The spellings of the URI as sent that a signature is accepted over, and nothing wider: the URI itself; with a
    bare trailing ``?`` when it has no query (httpx-ncloud signs ``/path?`` and sends ``/path``); with its query
    decoded (``+`` and ``%XX``: NCP's SDKs sign query values raw and send them encoded) unless the query holds an
    encoded ``&`` or ``=``. The path is never rewritten."""
    variants = [uri]
    path, has_query, query = uri.partition("?")
    if not has_query:
        variants.append(uri + "?")
    elif query and not _ENCODED_SEPARATOR.search(query):
        # Only when decoding cannot add a separator: otherwise the signature of ``active=true`` would also pass for
        # ``active%3Dtrue``, a query the server reads differently (a parameter dropped, two merged).
        decoded = unquote_plus(query)
        if decoded != query:
            variants.append(f"{path}?{decoded}")
    return tuple(variants)


def verify_request(secret_key: str, signature: str, method: str, uri: str, timestamp: str, access_key: str) -> bool:
    """True when ``signature`` signs one of the accepted spellings of ``uri`` (see ``uri_variants``)."""
    # Every variant is computed and compared, so the time taken does not say which spelling matched.
    matched = False
    for variant in uri_variants(uri):
        matched |= verify(secret_key, signature, method, variant, timestamp, access_key)
    return matched


def now_millis() -> str:
    return str(int(time.time() * 1000))


def signed_headers(access_key: str, secret_key: str, method: str, uri: str, timestamp: str | None = None) -> dict:
    """The three headers a client sends (handy for tests, scripts and the README example)."""
    timestamp = timestamp or now_millis()
    return {
        TIMESTAMP_HEADER: timestamp,
        ACCESS_KEY_HEADER: access_key,
        SIGNATURE_V2_HEADER: sign(secret_key, method, uri, timestamp, access_key),
    }
