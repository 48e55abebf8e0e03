"""The Sub Account app: main accounts, sub accounts, groups, policies, roles and access keys.

Its root holds the app's conventional modules (``models``, ``querysets``, ``selectors``, ``signals``, ``tasks``,
``apps``), the service errors and secret encryption, and the platform plumbing every app uses (``audit``,
``outbox``). Subpackages: ``services`` (every write), ``policy`` (the policy language, no Django), ``gateway`` (a
signed request to a principal and a decision), ``api`` (DRF) and ``admin`` (staff screens). The README's repository
map has the table.
"""
