"""STS: temporary access keys and role sessions. Uses ``iam``'s models, services and gateway (its keys authenticate
through ``iam.gateway.authentication``); nothing in ``iam`` imports it."""
