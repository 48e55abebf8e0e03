"""The STS API (``/api/v1/credentials``): serializers, views and URLs."""
