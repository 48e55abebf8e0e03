"""External Access: private CAs, trust anchors and their CRLs today; profiles, subjects and certificate sessions
next. It has ``iam``'s shape (``models``, ``services/``, ``api/``, ``admin``, ``tasks``) plus ``x509`` (reading the
certificates, bundles, CSRs and CRLs callers send). It may import ``iam`` (models, services, errors, the gateway,
the audit and outbox plumbing); nothing in ``iam`` imports it. Its calls are signed and authorized by
``iam.gateway``, and its certificate sessions will plug in there rather than copy it."""
