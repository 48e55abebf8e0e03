"""Settings, every value from the environment.

With nothing set the product runs on embedded defaults: SQLite and a Celery broker kept in
local files (no broker server). ``DATABASE_URL`` switches to PostgreSQL, ``REDIS_URL`` to Redis
for the Celery broker and the cache. ``DJANGO_ENV=production`` refuses to start without
``SECRET_KEY`` and ``IAM_SECRET_ENCRYPTION_KEY``.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DJANGO_ENV = env_str("DJANGO_ENV", "development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
# Key for the Fernet encryption of stored access-key secrets (urlsafe base64 of 32 bytes).
IAM_SECRET_ENCRYPTION_KEY = env_str("IAM_SECRET_ENCRYPTION_KEY")
if PRODUCTION:
    missing = [
        n for n, v in (("SECRET_KEY", SECRET_KEY), ("IAM_SECRET_ENCRYPTION_KEY", IAM_SECRET_ENCRYPTION_KEY)) if not v
    ]
    if missing:
        raise ImproperlyConfigured(
            "Refusing to start in production without " + " and ".join(missing) + ". "
            "Set them in the environment (IAM_SECRET_ENCRYPTION_KEY: "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        )
else:
    # Development and tests only: fixed, clearly non-secret keys so a first run needs no set-up.
    SECRET_KEY = SECRET_KEY or "insecure-development-key-do-not-use-in-production"
    IAM_SECRET_ENCRYPTION_KEY = IAM_SECRET_ENCRYPTION_KEY or "ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZCEhISE="

try:
    from cryptography.fernet import Fernet

    Fernet(IAM_SECRET_ENCRYPTION_KEY.encode("ascii"))
except ValueError:
    raise ImproperlyConfigured(
        "IAM_SECRET_ENCRYPTION_KEY must be a Fernet key: urlsafe base64 of 32 bytes "
        "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
    ) from None

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "iam.apps.IamAdminConfig",  # django.contrib.admin with the product's admin site (iam/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "iam.apps.IamConfig",
    "sts.apps.StsConfig",
    "external_access.apps.ExternalAccessConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "iam.gateway.middleware.RequestContextMiddleware",
    "iam.gateway.middleware.ApiNoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
# Each process keeps its database connection for DB_CONN_MAX_AGE seconds (0: a new one for every request) and checks
# it before reusing it, so a restarted database costs no failed request. A new PostgreSQL connection per request was
# the largest single cost of a signed read through gunicorn (bench/signed_read.py).
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg prepares a statement run with server-side binding from its Nth run on a connection: only the signed
    # call's key look-up runs so (iam.selectors), the ORM's cursors bind on the client and never prepare. 0 turns it
    # off, for a transaction-mode pooler that does not keep prepared statements (PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = env_int("DB_PREPARE_THRESHOLD", 1) or None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Staff sign in to the admin with Django's users; django-axes checks each attempt first (see "Admin sign-in" below).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Admin messages (which carry a new root key's secret once) live in the server-side session, not in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Admin sign-in throttling (django-axes): ADMIN_SIGN_IN_FAILURE_LIMIT wrong passwords for one username, or from one
# source address, lock that username, or that address, out for ADMIN_SIGN_IN_LOCKOUT_MINUTES (the right password is
# refused too). A good sign-in clears the failures of its own username; `manage.py axes_reset_username`,
# `axes_reset_ip` or `reset_staff_password` unlock at once. Failures are kept in the database, so every web process
# counts the same ones.
AXES_FAILURE_LIMIT = env_int("ADMIN_SIGN_IN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_SIGN_IN_LOCKOUT_MINUTES", 15))
# Behind a reverse proxy list it in IAM_TRUSTED_PROXIES (the address is then the caller's, from X-Forwarded-For), or
# lock by username only.
AXES_LOCKOUT_PARAMETERS = env_list("ADMIN_SIGN_IN_LOCKOUT_BY", ["username", "ip_address"])
if not AXES_LOCKOUT_PARAMETERS or set(AXES_LOCKOUT_PARAMETERS) - {"username", "ip_address"}:
    raise ImproperlyConfigured(
        f"ADMIN_SIGN_IN_LOCKOUT_BY must be username, ip_address or both, got {os.environ['ADMIN_SIGN_IN_LOCKOUT_BY']!r}"
    )
# Not axes' own reset, which clears every failure of the username OR the address: one staff user's good sign-in would
# wipe the guesses made at another's password from the same address. iam.signals clears the user's own failures only.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
# The staff user's address as the API sees callers: X-Forwarded-For only from IAM_TRUSTED_PROXIES.
AXES_CLIENT_IP_CALLABLE = "iam.gateway.authentication.client_ip"

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["iam.gateway.authentication.SignatureAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["iam.gateway.permissions.CatalogActionPermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "iam.api.pagination.NcpPagination",
    "DEFAULT_SCHEMA_CLASS": "iam.api.schema.WireAutoSchema",
    "EXCEPTION_HANDLER": "iam.api.errors.exception_handler",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["iam.api.parsers.GuardedJSONParser"],
    "UNAUTHENTICATED_USER": None,
}

# Request bodies nested deeper than this many arrays and objects are refused (400) when parsed; the deepest valid
# document (a policy's condition values) needs about 8.
IAM_JSON_MAX_DEPTH = env_int("IAM_JSON_MAX_DEPTH", 32)
# The largest body of a CRL import (POST/PATCH .../crls): a CRL of 1,000,000 serials is about 47 MB in base64. Every
# other request stays within DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB).
EXTERNAL_ACCESS_CRL_MAX_BYTES = env_int("EXTERNAL_ACCESS_CRL_MAX_BYTES", 64 * 1024 * 1024)
# Revoked serials a CRL import stores per transaction (its progress moves by this much).
EXTERNAL_ACCESS_CRL_IMPORT_BATCH = env_int("EXTERNAL_ACCESS_CRL_IMPORT_BATCH", 50_000)

SPECTACULAR_SETTINGS = {
    "TITLE": "IAM: Sub Account, STS and External Access",
    "DESCRIPTION": "NAVER Cloud Platform compatible Sub Account API. Calls are signed with the API Gateway signature.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"AuditResultEnum": "iam.models.AuditEvent.RESULT_CHOICES"},
}

# Request signing: how far the x-ncp-apigw-timestamp may be from the server clock.
IAM_SIGNATURE_MAX_SKEW_SECONDS = env_int("IAM_SIGNATURE_MAX_SKEW_SECONDS", 300)
# Each signature of a non-GET request is accepted once (the body is not signed, so a replay could change it);
# the record is kept in Redis when REDIS_URL is set, in the database otherwise (see iam/gateway/replay.py).
IAM_REPLAY_PROTECTION = env_bool("IAM_REPLAY_PROTECTION", True)
# Failed signature checks from one source address per minute before its calls are refused with 429 unchecked.
IAM_AUTH_FAILURES_PER_SOURCE_PER_MINUTE = env_int("IAM_AUTH_FAILURES_PER_SOURCE_PER_MINUTE", 60)
# Proxies (addresses or CIDRs) whose X-Forwarded-For names the caller: the API's source address (allow sources, the
# failure limit, the audit trail) is then the nearest address in that header that is not one of them.
IAM_TRUSTED_PROXIES = env_list("IAM_TRUSTED_PROXIES", [])
# The authorization component used on every call (replaceable: see iam/gateway/authz.py).
IAM_AUTHORIZER = env_str("IAM_AUTHORIZER", "iam.gateway.authz.EngineAuthorizer")
# A key's last use (and a role session's role's) is written when the recorded one is older than this (0: on every
# call), so most signed calls write nothing. A role session's idle expiry counts from the recorded use: it may end up
# to this many seconds early, never late.
IAM_KEY_LAST_USED_WRITE_SECONDS = env_int("IAM_KEY_LAST_USED_WRITE_SECONDS", 60)
# Compiled policy sets kept per process (principal x policy version).
IAM_AUTHZ_CACHE_SIZE = env_int("IAM_AUTHZ_CACHE_SIZE", 10_000)
# Account limits (the service's quotas).
IAM_MAX_SUB_ACCOUNTS = env_int("IAM_MAX_SUB_ACCOUNTS", 500)
IAM_MAX_GROUPS = env_int("IAM_MAX_GROUPS", 300)
IAM_MAX_POLICIES = env_int("IAM_MAX_POLICIES", 500)
IAM_MAX_ROLES = env_int("IAM_MAX_ROLES", 500)
IAM_MAX_GROUPS_PER_SUB_ACCOUNT = env_int("IAM_MAX_GROUPS_PER_SUB_ACCOUNT", 10)
IAM_MAX_ACCESS_KEYS_PER_SUB_ACCOUNT = env_int("IAM_MAX_ACCESS_KEYS_PER_SUB_ACCOUNT", 2)
IAM_MAX_ROOT_ACCESS_KEYS = env_int("IAM_MAX_ROOT_ACCESS_KEYS", 2)
# Unexpired STS temporary keys (its own and the role sessions it started) a sub account may hold at once.
IAM_MAX_TEMPORARY_KEYS_PER_SUB_ACCOUNT = env_int("IAM_MAX_TEMPORARY_KEYS_PER_SUB_ACCOUNT", 50)
IAM_MAX_SERVERS = env_int("IAM_MAX_SERVERS", 1000)
# Server role keys from the metadata endpoint (/latest/meta-data/iam/security-credentials): how long one lives; the
# same key is handed out until two thirds of its life have passed, then a new one (NCP's SDK refreshes 15 min early).
IAM_SERVER_ROLE_KEY_SECONDS = env_int("IAM_SERVER_ROLE_KEY_SECONDS", 21_600)
# Whether the metadata endpoint may recognise a registered server by the address it calls from (the SDKs send no
# token). Off where callers share addresses; the X-Ncloud-Metadata-Token header works either way.
IAM_METADATA_BY_ADDRESS = env_bool("IAM_METADATA_BY_ADDRESS", True)
# Wrong MFA codes in a row (POST /credentials) before the device is locked, and for how long.
IAM_MFA_MAX_FAILURES = env_int("IAM_MFA_MAX_FAILURES", 5)
IAM_MFA_LOCK_SECONDS = env_int("IAM_MFA_LOCK_SECONDS", 300)
# Sub account console sign-in (/signin/<alias>/): more than IAM_SIGNIN_MAX_FAILURES wrong passwords in a row lock the
# sub account until the main account or an administrator unlocks it, or IAM_SIGNIN_LOCK_SECONDS pass (0: no time
# limit). A sign-in waiting for its MFA code or password change is dropped after IAM_SIGNIN_PENDING_SECONDS.
IAM_SIGNIN_MAX_FAILURES = env_int("IAM_SIGNIN_MAX_FAILURES", 5)
IAM_SIGNIN_LOCK_SECONDS = env_int("IAM_SIGNIN_LOCK_SECONDS", 0)
IAM_SIGNIN_PENDING_SECONDS = env_int("IAM_SIGNIN_PENDING_SECONDS", 300)
# The console's own session cookie: never the staff admin's (sessionid), so neither session can stand in for the other.
IAM_CONSOLE_SESSION_COOKIE = env_str("IAM_CONSOLE_SESSION_COOKIE", "iam_console")

# Celery: Redis when REDIS_URL is set, otherwise a broker kept in local files (no server needed).
CELERY_BROKER_DIR = DATA_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "out"),
        "data_folder_out": str(CELERY_BROKER_DIR / "out"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")


def _beat_interval(name: str, default_seconds: int) -> int:
    """Seconds between runs of a scheduled job; 0 disables it."""
    return env_int(f"SCHEDULE_{name}_SECONDS", default_seconds)


CELERY_BEAT_SCHEDULE = {
    name: {"task": task, "schedule": float(seconds)}
    for name, task, seconds in (
        (
            "reconcile-policy-counters",
            "iam.tasks.policy_counter_reconcile_all",
            _beat_interval("POLICY_COUNTERS", 3600),
        ),
        (
            "disable-inactive-sub-accounts",
            "iam.tasks.inactive_sub_accounts_disable_all",
            _beat_interval("INACTIVE_SUB_ACCOUNTS", 3600),
        ),
        ("purge-audit-events", "iam.tasks.audit_events_purge_old", _beat_interval("AUDIT_PURGE", 86400)),
        (
            "purge-expired-temporary-keys",
            "sts.tasks.expired_temporary_keys_purge",
            _beat_interval("TEMPORARY_KEY_PURGE", 3600),
        ),
        ("worker-heartbeat", "iam.tasks.worker_heartbeat", _beat_interval("WORKER_HEARTBEAT", 30)),
        ("outbox-relay", "iam.tasks.outbox_relay", _beat_interval("OUTBOX_RELAY", 30)),
        (
            "purge-expired-console-sessions",
            "iam.tasks.console_sessions_purge_expired",
            _beat_interval("CONSOLE_SESSION_PURGE", 600),
        ),
        (
            "purge-used-signatures",
            "iam.tasks.used_signatures_purge_expired",
            _beat_interval("USED_SIGNATURE_PURGE", 600),
        ),
        ("resume-crl-imports", "external_access.tasks.crl_imports_resume", _beat_interval("CRL_IMPORT_RESUME", 300)),
    )
    if seconds > 0
}

# Audit events older than this are purged by the purge-audit-events job.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365)
# /readyz wants a worker heartbeat younger than this.
READY_WORKER_HEARTBEAT_MAX_AGE_SECONDS = env_int("READY_WORKER_HEARTBEAT_MAX_AGE_SECONDS", 120)
# How often the outbox relay process (Procfile: relay) looks for unsent messages.
OUTBOX_RELAY_INTERVAL_SECONDS = env_int("OUTBOX_RELAY_INTERVAL_SECONDS", 5)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# json: one JSON object a line (time, level, logger, message, request_id, extra fields); plain: for a terminal.
LOG_FORMAT = env_str("LOG_FORMAT", "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
# One handler writes every line, through the filters that add the request id and keep secrets and query strings out
# (config/logging.py). Django's, gunicorn's and Celery's own handlers are replaced by it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "config.logging.RequestIdFilter"},
        "redact": {"()": "config.logging.RedactFilter"},
    },
    "formatters": {
        "json": {"()": "config.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id", "redact"]},
    },
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
        # SQL with its parameters (password hashes, encrypted secrets) stays out even at LOG_LEVEL=DEBUG.
        "django.db.backends": {"level": "INFO"},
        # django-axes logs every sign-in at INFO (the audit trail has them); its warnings (lockouts) stay.
        "axes": {"level": "WARNING"},
        "gunicorn.error": {"handlers": ["console"], "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "propagate": False},
        # Celery gives these two its own plain handlers unless they already have one.
        "celery.task": {"handlers": ["console"], "propagate": False},
        "multiprocessing": {"handlers": ["console"], "propagate": False},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
# Celery keeps the root logger configured above instead of installing its own handler and format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Plain-HTTP requests are redirected to HTTPS, except the probes a load balancer sends to the instance itself.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    # HSTS pins browsers to HTTPS for this long: set it once HTTPS works for good (e.g. 31536000, one year).
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
