"""The API Gateway signature: the pure module against a hand-computed vector, and how the API applies it."""

import base64
import hashlib
import hmac
import json

import pytest
from rest_framework.test import APIClient

from iam.gateway import signing
from iam.gateway.authentication import REFUSED
from tests.conftest import make_sub_account

SECRET = "Ab3dEfGhIjKlMnOpQrStUvWxYz0123456789ABCD"
ACCESS_KEY = "NCPACCESSKEY00000001"
TIMESTAMP = "1764300000000"
URI = "/api/v1/sub-accounts?page=0&size=20&searchColumn=loginId&searchWord=dev"


def expected_signature(secret: str, message: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()


def test_sign_matches_hmac_sha256_of_the_documented_message():
    message = f"GET {URI}\n{TIMESTAMP}\n{ACCESS_KEY}"
    assert signing.string_to_sign("GET", URI, TIMESTAMP, ACCESS_KEY) == message
    expected = expected_signature(SECRET, message)
    assert signing.sign(SECRET, "GET", URI, TIMESTAMP, ACCESS_KEY) == expected
    # The method is upper-cased, as clients send it.
    assert signing.sign(SECRET, "get", URI, TIMESTAMP, ACCESS_KEY) == expected
    assert len(base64.b64decode(expected)) == 32


def test_every_part_of_the_message_changes_the_signature():
    base = signing.sign(SECRET, "GET", URI, TIMESTAMP, ACCESS_KEY)
    variants = [
        signing.sign(SECRET[:-1] + "E", "GET", URI, TIMESTAMP, ACCESS_KEY),
        signing.sign(SECRET, "POST", URI, TIMESTAMP, ACCESS_KEY),
        signing.sign(SECRET, "GET", "/api/v1/sub-accounts", TIMESTAMP, ACCESS_KEY),
        signing.sign(SECRET, "GET", URI, str(int(TIMESTAMP) + 1), ACCESS_KEY),
        signing.sign(SECRET, "GET", URI, TIMESTAMP, ACCESS_KEY[:-1] + "2"),
    ]
    assert base not in variants
    assert len(set(variants)) == len(variants)


def test_verify_accepts_only_the_exact_signature():
    good = signing.sign(SECRET, "GET", URI, TIMESTAMP, ACCESS_KEY)
    assert signing.verify(SECRET, good, "GET", URI, TIMESTAMP, ACCESS_KEY) is True
    assert signing.verify(SECRET, good, "GET", "/api/v1/sub-accounts", TIMESTAMP, ACCESS_KEY) is False
    assert signing.verify(SECRET, good[:-2] + "A=", "GET", URI, TIMESTAMP, ACCESS_KEY) is False
    assert signing.verify(SECRET, "", "GET", URI, TIMESTAMP, ACCESS_KEY) is False
    # A non-ASCII signature is simply wrong, not an error.
    assert signing.verify(SECRET, "é" * 44, "GET", URI, TIMESTAMP, ACCESS_KEY) is False


def test_signed_headers_carry_the_three_header_names():
    headers = signing.signed_headers(ACCESS_KEY, SECRET, "GET", URI, timestamp=TIMESTAMP)
    assert headers == {
        "x-ncp-apigw-timestamp": TIMESTAMP,
        "x-ncp-iam-access-key": ACCESS_KEY,
        "x-ncp-apigw-signature-v2": expected_signature(SECRET, f"GET {URI}\n{TIMESTAMP}\n{ACCESS_KEY}"),
    }


def _get(uri: str, *, access_key: str, signature: str, timestamp: str, signature_header: str):
    meta = {
        "HTTP_X_NCP_APIGW_TIMESTAMP": timestamp,
        "HTTP_X_NCP_IAM_ACCESS_KEY": access_key,
        "HTTP_" + signature_header.upper().replace("-", "_"): signature,
    }
    return APIClient().get(uri, **meta)


@pytest.mark.django_db
def test_v1_signature_header_is_accepted(tenant):
    uri = "/api/v1/dashboard"
    timestamp = signing.now_millis()
    signature = expected_signature(tenant.root.secret, f"GET {uri}\n{timestamp}\n{tenant.root.access_key}")
    response = _get(
        uri,
        access_key=tenant.root.access_key,
        signature=signature,
        timestamp=timestamp,
        signature_header=signing.SIGNATURE_V1_HEADER,
    )
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["subAccountCount"] == 0
    assert {"groupCount", "policyCount", "roleCount"} <= set(body)


@pytest.mark.django_db
def test_wrong_v1_signature_is_refused(tenant):
    uri = "/api/v1/dashboard"
    timestamp = signing.now_millis()
    signature = expected_signature(tenant.root.secret + "x", f"GET {uri}\n{timestamp}\n{tenant.root.access_key}")
    response = _get(
        uri,
        access_key=tenant.root.access_key,
        signature=signature,
        timestamp=timestamp,
        signature_header=signing.SIGNATURE_V1_HEADER,
    )
    assert response.status_code == 401
    assert json.loads(response.content)["error"]["errorCode"] == "200"


@pytest.mark.django_db
def test_query_string_is_part_of_the_signed_uri(tenant):
    make_sub_account(tenant, "devone")
    make_sub_account(tenant, "devtwo")
    uri = "/api/v1/sub-accounts?page=0&size=1&searchColumn=loginId&searchWord=dev"
    path = uri.split("?")[0]
    creds = tenant.root

    def call(signed_uri: str):
        timestamp = signing.now_millis()
        return _get(
            uri,
            access_key=creds.access_key,
            signature=signing.sign(creds.secret, "GET", signed_uri, timestamp, creds.access_key),
            timestamp=timestamp,
            signature_header=signing.SIGNATURE_V2_HEADER,
        )

    response = call(uri)
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["totalItems"] == 2
    assert len(body["items"]) == 1

    for wrong in (path, path + "?page=0&size=2&searchColumn=loginId&searchWord=dev", uri + "&"):
        response = call(wrong)
        assert response.status_code == 401, wrong
        assert json.loads(response.content) == {
            "error": {
                "errorCode": "200",
                "message": "Authentication Failed",
                "details": REFUSED,
            }
        }
