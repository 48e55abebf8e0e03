"""The OpenAPI schema: valid with no generator warning, signature headers described, docs served without a CDN."""

import json
import re
from html.parser import HTMLParser

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

SIGNATURE_HEADERS = ["x-ncp-apigw-timestamp", "x-ncp-iam-access-key", "x-ncp-apigw-signature-v2"]
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def test_spectacular_validates_without_warnings(tmp_path):
    """`manage.py spectacular --validate --fail-on-warn` (as `make test` runs it) writes a valid schema."""
    target = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/sub-accounts" in schema["paths"]
    assert "/api/v1/sub-accounts/{subAccountId}" in schema["paths"]


def test_schema_describes_the_signature_headers(tmp_path):
    target = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    schemes = schema["components"]["securitySchemes"]
    assert sorted(schemes) == sorted(SIGNATURE_HEADERS)
    for name in SIGNATURE_HEADERS:
        assert schemes[name]["type"] == "apiKey"
        assert schemes[name]["in"] == "header"
        assert schemes[name]["name"] == name
    assert "HMAC-SHA256" in schemes["x-ncp-apigw-signature-v2"]["description"]
    # Every API operation needs the three headers together: one requirement object naming all three.
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert len(operations) > 20
    for path, method, operation in operations:
        assert operation["security"] == [dict.fromkeys(SIGNATURE_HEADERS, [])], f"{method.upper()} {path}"


def test_dashboard_is_described_as_one_object(tmp_path):
    target = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    response = schema["paths"]["/api/v1/dashboard"]["get"]["responses"]["200"]["content"]["application/json"]
    assert response["schema"] == {"$ref": "#/components/schemas/ResourceCount"}


def test_schema_says_what_the_wire_answers(tmp_path):
    """Creates and deletes answer 200 with a body (not 201/204), DELETE actions take their id lists, and every signed
    operation documents the service and gateway error bodies."""
    target = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    for path, method in (
        ("/api/v1/groups", "post"),
        ("/api/v1/groups/{groupId}", "delete"),
        ("/api/v1/policy/validation", "post"),
    ):
        responses = paths[path][method]["responses"]
        assert "201" not in responses and "204" not in responses, (path, method)
        assert "content" in responses["200"], (path, method)
    assert paths["/api/v1/groups/{groupId}"]["delete"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProcessResult"
    }
    body = paths["/api/v1/sub-accounts/{subAccountId}/policies"]["delete"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/PolicyIdListRequest"}
    assert "requestBody" not in paths["/api/v1/groups/{groupId}"]["delete"]
    keys = paths["/api/v1/sub-accounts/{subAccountId}/access-keys"]["get"]
    assert keys["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert [p["name"] for p in keys["parameters"]] == ["subAccountId"]
    assert {p["name"] for p in paths["/api/v1/sub-accounts/{subAccountId}/access-keys"]["delete"]["parameters"]} == {
        "subAccountId",
        "accessKey",
    }
    assert [p["name"] for p in paths["/api/v1/join/check-password"]["get"]["parameters"]] == ["password"]
    assert "withPermissions" in [p["name"] for p in paths["/api/v1/policies/{policyId}"]["get"]["parameters"]]
    listing = paths["/api/v1/sub-accounts"]["get"]
    assert {"page", "size", "searchColumn", "active"} <= {p["name"] for p in listing["parameters"]}
    errors = paths["/api/v1/sub-accounts"]["post"]["responses"]
    assert errors["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ServiceErrorSchema"}
    assert errors["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GatewayErrorSchema"}
    assert {"errorCode", "message", "fieldErrors"} <= set(
        schema["components"]["schemas"]["ServiceErrorSchema"]["properties"]
    )


@pytest.mark.django_db
def test_schema_endpoint_needs_no_signature(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    schema = json.loads(response.content)
    assert schema["info"]["title"] == "IAM: Sub Account, STS and External Access"
    assert "/api/v1/policies" in schema["paths"]
    assert sorted(schema["components"]["securitySchemes"]) == sorted(SIGNATURE_HEADERS)


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


@pytest.mark.django_db
def test_docs_page_needs_no_signature_and_no_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'url: "/api/schema/"' in html
    parser = _Assets()
    parser.feed(html)
    scripts = [url for url in parser.urls if url.endswith(".js")]
    assert any(url.endswith("swagger-ui-bundle.js") for url in scripts)
    assert any(url.endswith("swagger-ui.css") for url in parser.urls)
    for url in parser.urls:
        # Served by this server from drf-spectacular-sidecar's static files, never from another site.
        assert not re.match(r"^(https?:)?//", url), url
        assert url.startswith("/static/drf_spectacular_sidecar/"), url
        assert finders.find(url.removeprefix("/static/")) is not None, url
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", html), "the docs page names another site"


def test_policy_resources_is_typed(tmp_path):
    """GET /policies/{id}/resources is described field by field, not as a free-form object."""
    target = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    response = schema["paths"]["/api/v1/policies/{policyId}/resources"]["get"]["responses"]["200"]
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PolicyResources"}
    components = schema["components"]["schemas"]
    resources = components["PolicyResources"]
    assert sorted(resources["required"]) == ["groups", "roles", "subAccounts"]
    assert resources["properties"]["roles"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/PolicyRoleResource"},
    }
    assert set(components["PolicySubAccountResource"]["properties"]) == {
        "subAccountId",
        "loginId",
        "name",
        "attachTime",
    }
    assert components["PolicyGroupResource"]["properties"]["groupId"] == {"type": "string", "format": "uuid"}
    assert components["PolicyRoleResource"]["properties"]["attachTime"] == {"type": "string", "format": "date-time"}
