"""OpenAPI description of the API Gateway signature, so the schema names the three headers every call carries."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from iam.gateway import signing


class SignatureAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes ``iam.gateway.authentication.SignatureAuthentication`` as three apiKey headers required together."""

    target_class = "iam.gateway.authentication.SignatureAuthentication"
    # A list of names: the base class then requires all three together (one AND requirement) on every operation.
    name = [signing.TIMESTAMP_HEADER, signing.ACCESS_KEY_HEADER, signing.SIGNATURE_V2_HEADER]
    priority = 1

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": signing.TIMESTAMP_HEADER,
                "description": "Milliseconds since the Unix epoch, as decimal text (at most 5 minutes from the server clock).",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": signing.ACCESS_KEY_HEADER,
                "description": "The access key: a main account's, a sub account's or a temporary key from STS.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": signing.SIGNATURE_V2_HEADER,
                "description": (
                    'base64(HMAC-SHA256(secretKey, "{METHOD} {URI}\\n{timestamp}\\n{accessKey}")), where URI is the '
                    "path plus ? and the query string exactly as sent. x-ncp-apigw-signature-v1 is accepted too."
                ),
            },
        ]


class FieldErrorSchema(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()


class ServiceErrorSchema(serializers.Serializer):
    """The Sub Account error body (400, 404, 409)."""

    errorCode = serializers.IntegerField()
    message = serializers.CharField()
    fieldErrors = FieldErrorSchema(many=True)


class GatewayErrorDetailSchema(serializers.Serializer):
    errorCode = serializers.CharField(
        help_text=(
            "100 Bad Request Exception, 200 Authentication Failed, 210 Permission Denied, 500 Endpoint Error "
            "(the database is unavailable), 900 Unexpected Error"
        )
    )
    message = serializers.CharField()
    details = serializers.CharField(required=False)


class GatewayErrorSchema(serializers.Serializer):
    """The API Gateway error body (400 for a body that does not parse, 401, 500, 503)."""

    error = GatewayErrorDetailSchema()


class WireAutoSchema(AutoSchema):
    """The schema as the wire speaks: every success is 200 (creates and deletes answer with a body too), DELETE
    actions document the id lists they take, and every operation lists its error bodies."""

    def _is_general_list(self) -> bool:
        action = getattr(self.view, "action", None)
        return action is None or action == "list"

    def _is_list_view(self, serializer=None) -> bool:
        # Filters and pages belong to the viewsets' list action only; other GETs with many=True (the access-key
        # list) answer a plain array.
        if serializer is None and not self._is_general_list():
            return False
        return super()._is_list_view(serializer)

    def _get_paginator(self):
        return super()._get_paginator() if self._is_general_list() else None

    def _get_request_body(self, direction="request"):
        if self.method == "DELETE" and getattr(self.view, "action", None) not in (None, "destroy"):
            self.method = "POST"  # drf-spectacular only documents bodies of unsafe methods other than DELETE
            try:
                return super()._get_request_body(direction)
            finally:
                self.method = "DELETE"
        return super()._get_request_body(direction)

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        if "201" in bodies:
            bodies["200"] = bodies.pop("201")
        if "204" in bodies:
            del bodies["204"]
            bodies["200"] = self._get_response_for_code(self.get_response_serializers(), "200", direction=direction)
        if direction == "response" and self.get_auth():
            for code, serializer, description in (
                ("400", ServiceErrorSchema, "Invalid input: fieldErrors name each wrong field"),
                ("401", GatewayErrorSchema, "Authentication Failed (200) or Permission Denied (210)"),
                ("404", ServiceErrorSchema, "No such resource in the caller's account"),
                ("409", ServiceErrorSchema, "Conflict or limit reached"),
                (
                    "503",
                    GatewayErrorSchema,
                    "Endpoint Error (500): the database is unavailable, retry after Retry-After",
                ),
            ):
                if code not in bodies:
                    bodies[code] = self._get_response_for_code(serializer, code, direction=direction)
                    bodies[code]["description"] = description
        return bodies
