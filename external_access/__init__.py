"""External Access: trust anchors, profiles, CRLs, subjects and certificate sessions (app in place, empty today).
It will have ``iam``'s shape and plug its certificate-signed session call into ``iam.gateway``."""
