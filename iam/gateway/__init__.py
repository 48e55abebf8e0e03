"""The request gateway: the one place where a signed HTTP request becomes a principal and a decision.

- ``signing``: the API Gateway signature (``x-ncp-apigw-signature-v2``) and the URI forms accepted.
- ``authentication``: the DRF authentication class: timestamp, key look-up, signature, refusals (one 401 body),
  the per-source failure limit and the refused-key audit aggregation.
- ``replay``: each signature of a write accepted once (Redis first, the database always).
- ``x509_signing`` and ``certificate_authentication``: the certificate signature of External Access sessions
  (``POST /auth/v1/sessions``), with the same timestamp window, failure limit and replay cache.
- ``principals``: the one shape every caller takes (root key, sub account, role session; later a server and an
  External Access session).
- ``endpoint_actions``: which catalog action (and resource) each API endpoint is.
- ``authz``: the authorizer: the principal's policies, compiled by ``iam.policy.engine`` and cached per process.
- ``permissions``: the DRF permission that asks the authorizer and audits the decision.
- ``middleware``: request context for the audit trail, ``Cache-Control: no-store`` on the API.

It may import Django, DRF, ``iam.policy`` and ``iam``'s models, selectors, services and audit plumbing. ``sts`` and
``external_access`` plug their callers in here (a principal and, where they sign differently, an authentication
class) rather than copying any of it.
"""
