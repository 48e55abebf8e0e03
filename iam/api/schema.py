"""OpenAPI description of the API Gateway signature, so the schema names the three headers every call carries."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from iam import signing


class SignatureAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes ``iam.authentication.SignatureAuthentication`` as three apiKey headers required together."""

    target_class = "iam.authentication.SignatureAuthentication"
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
