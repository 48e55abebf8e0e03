"""The External Access API under /api/v1/ (private CAs, trust anchors and their CRLs): serializers, views, URLs,
its paging (``{pageNo, totalElements, pageSize, content}``) and its error body (``{"error": {errorCode, message,
requestId}}``). Views are ``iam``'s account-scoped viewsets, authorized by the same gateway and engine."""
