"""Settings from the environment, checked in a fresh interpreter per case (settings are read once, at import)."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
CONTROLLED = (
    "DJANGO_ENV",
    "SECRET_KEY",
    "IAM_SECRET_ENCRYPTION_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "DATA_DIR",
    "DEBUG",
    "ALLOWED_HOSTS",
    "DB_CONN_MAX_AGE",
    "DB_CONN_HEALTH_CHECKS",
    "DB_PREPARE_THRESHOLD",
)
SHOW_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SECRET_KEY": s.SECRET_KEY,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "SECURE_PROXY_SSL_HEADER": s.SECURE_PROXY_SSL_HEADER,
    "DATABASE": {k: s.DATABASES["default"].get(k) for k in ("ENGINE", "NAME", "HOST", "PORT", "USER")},
    "DB_CONNECTION": {k: s.DATABASES["default"].get(k) for k in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")},
    "DB_OPTIONS": s.DATABASES["default"].get("OPTIONS", {}),
    "CACHE": s.CACHES["default"],
    "CELERY_BROKER_URL": s.CELERY_BROKER_URL,
    "CELERY_BROKER_TRANSPORT_OPTIONS": s.CELERY_BROKER_TRANSPORT_OPTIONS,
    "STATIC_ROOT": str(s.STATIC_ROOT),
}))
"""


def run_django(env: dict, code: str = "import django; django.setup()") -> subprocess.CompletedProcess:
    """``code`` in a new interpreter with only the settings variables given here (the rest of the env kept)."""
    clean = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def show_settings(env: dict) -> dict:
    result = run_django(env, SHOW_SETTINGS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_without_secrets_refuses_to_start():
    result = run_django({"DJANGO_ENV": "production"})
    assert result.returncode != 0
    assert (
        "django.core.exceptions.ImproperlyConfigured: Refusing to start in production without SECRET_KEY "
        "and IAM_SECRET_ENCRYPTION_KEY." in result.stderr
    )
    # The message says how to make a key.
    assert "Fernet.generate_key()" in result.stderr
    assert result.stdout == ""


def test_production_names_only_what_is_missing():
    result = run_django({"DJANGO_ENV": "production", "SECRET_KEY": "s3cret-value-for-test"})
    assert result.returncode != 0
    assert "ImproperlyConfigured: Refusing to start in production without IAM_SECRET_ENCRYPTION_KEY." in result.stderr
    assert "s3cret-value-for-test" not in result.stderr

    result = run_django({"DJANGO_ENV": "production", "IAM_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode()})
    assert result.returncode != 0
    assert "ImproperlyConfigured: Refusing to start in production without SECRET_KEY." in result.stderr


def test_production_with_both_secrets_starts_hardened(tmp_path):
    values = show_settings(
        {
            "DJANGO_ENV": "production",
            "SECRET_KEY": "a-long-production-secret-key",
            "IAM_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "iam.example.com, api.example.com",
            "DATA_DIR": str(tmp_path),
        }
    )
    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == "a-long-production-secret-key"
    assert values["ALLOWED_HOSTS"] == ["iam.example.com", "api.example.com"]
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_malformed_encryption_key_is_refused_without_echoing_it():
    bad_keys = [
        "not-a-fernet-key",
        base64.urlsafe_b64encode(b"only sixteen b..").decode(),  # valid base64, wrong length
        "é" * 44,  # not ASCII
    ]
    for bad in bad_keys:
        for env in ({}, {"DJANGO_ENV": "production", "SECRET_KEY": "x" * 50}):
            result = run_django({**env, "IAM_SECRET_ENCRYPTION_KEY": bad})
            assert result.returncode != 0, bad
            assert (
                "ImproperlyConfigured: IAM_SECRET_ENCRYPTION_KEY must be a Fernet key: urlsafe base64 of 32 bytes"
                in result.stderr
            ), result.stderr
            # The offered key is a secret: it must not appear in the error.
            assert bad not in result.stderr


def test_embedded_defaults_live_in_data_dir(tmp_path):
    values = show_settings({"DATA_DIR": str(tmp_path)})
    assert values["DATABASE"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASE"]["NAME"] == str(tmp_path / "db.sqlite3")
    assert values["CELERY_BROKER_URL"] == "filesystem://"
    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"]["data_folder_in"] == str(tmp_path / "broker" / "out")
    assert values["CACHE"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["STATIC_ROOT"] == str(tmp_path / "static")
    # Development keys are fixed, non-secret and marked as such.
    assert "insecure" in values["SECRET_KEY"]


def test_database_url_switches_to_postgresql(tmp_path):
    values = show_settings(
        {"DATABASE_URL": "postgres://iam_user:pw@db.internal:5433/iam_prod", "DATA_DIR": str(tmp_path)}
    )
    assert values["DATABASE"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "iam_prod",
        "HOST": "db.internal",
        "PORT": 5433,
        "USER": "iam_user",
    }
    # The broker does not follow the database.
    assert values["CELERY_BROKER_URL"] == "filesystem://"


def test_redis_url_switches_broker_and_cache(tmp_path):
    values = show_settings({"REDIS_URL": "redis://cache.internal:6380/2", "DATA_DIR": str(tmp_path)})
    assert values["CELERY_BROKER_URL"] == "redis://cache.internal:6380/2"
    assert values["CACHE"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6380/2",
    }
    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"visibility_timeout": 3600}
    # The database does not follow Redis.
    assert values["DATABASE"]["ENGINE"] == "django.db.backends.sqlite3"


def test_database_connections_are_kept_and_checked_by_default(tmp_path):
    url = "postgres://iam_user:pw@db.internal:5433/iam_prod"
    values = show_settings({"DATABASE_URL": url, "DATA_DIR": str(tmp_path)})
    assert values["DB_CONNECTION"] == {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    values = show_settings(
        {"DATABASE_URL": url, "DATA_DIR": str(tmp_path), "DB_CONN_MAX_AGE": "0", "DB_CONN_HEALTH_CHECKS": "false"}
    )
    assert values["DB_CONNECTION"] == {"CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False}


def test_postgresql_prepares_from_the_first_run_unless_turned_off(tmp_path):
    url = "postgres://iam_user:pw@db.internal:5433/iam_prod"
    assert show_settings({"DATABASE_URL": url, "DATA_DIR": str(tmp_path)})["DB_OPTIONS"] == {"prepare_threshold": 1}
    values = show_settings({"DATABASE_URL": url, "DATA_DIR": str(tmp_path), "DB_PREPARE_THRESHOLD": "0"})
    assert values["DB_OPTIONS"] == {"prepare_threshold": None}  # Django's own default: never prepared
    values = show_settings({"DATABASE_URL": url, "DATA_DIR": str(tmp_path), "DB_PREPARE_THRESHOLD": "5"})
    assert values["DB_OPTIONS"] == {"prepare_threshold": 5}
    assert "prepare_threshold" not in show_settings({"DATA_DIR": str(tmp_path)})["DB_OPTIONS"]  # SQLite
