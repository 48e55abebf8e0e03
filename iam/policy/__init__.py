"""The policy language, as a library: the action catalog, NRNs, policy documents and their checks, conditions,
wildcard matching, the request being decided, and the compiled engine that decides it.

Pure Python: it imports the standard library and its own modules only, never Django, the ORM or anything else of
``iam`` (``tests/test_layout.py`` keeps it so), so it can be read, tested and benchmarked on its own. Everything that
knows about a database or an HTTP request (who the caller is, which policies they hold, which action an endpoint is)
lives in ``iam.gateway`` and ``iam.selectors`` and hands this package plain values.

- ``catalog``: every product, action, resource type and condition key the service knows.
- ``nrn``: NCP resource names, built and parsed.
- ``wildcard``: ``*``/``?`` matching in linear time (resource NRNs, actions, ``StringLike``).
- ``conditions``: condition operators, checked and compiled.
- ``document``: a policy document checked against the catalog, with every error named by its path.
- ``request``: what a decision is about (``Request``) and the decision values.
- ``engine``: a principal's policies compiled into per-action deciders (``CompiledPolicies``).
"""
