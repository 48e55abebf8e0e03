"""Admin screens for staff: main accounts and everything in them, and what the system wrote (audit trail, outbox,
worker heartbeats). Every write goes through the services of ``iam.services`` (the same ones the API calls), so
limits, counters and validation hold here too, and every staff change is an audit event (see ``base``).

Secrets never show: no form, list, read-only field or search touches ``AccessKey.secret_encrypted``,
``SubAccount.password`` or ``SubAccount.mfa_secret_encrypted``. A new secret (root key, generated password) is shown
once, in a message after saving. System-managed policies are read-only.
"""

# Importing the modules registers their admins (admin autodiscovery imports this package).
from iam.admin import accounts, operations, resources, servers, sub_accounts  # noqa: F401
