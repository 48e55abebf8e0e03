"""The Sub Account API under /api/v1/ (Django REST framework): serializers, views, URLs, filters, paging, the
wire-format exception handler, the OpenAPI extension and the input guards. Views call ``iam.services`` to write and
``iam.selectors`` to read; authentication and authorization come from ``iam.gateway`` through DRF's settings."""
