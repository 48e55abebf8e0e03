"""Liveness and readiness for load balancers and orchestrators: no signature, no secrets in the answer.

``/healthz`` says the process answers (it touches nothing else). ``/readyz`` says it can do its work: the database
answers, the Celery broker takes connections and a worker ran the heartbeat task recently. Failures name only the
error class, never a URL, DSN or message that could carry a password.
"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from iam.gateway.authz import get_authorizer
from iam.services.maintenance import last_worker_heartbeat

# Brokers that live inside the process or on local disk: nothing to connect to.
EMBEDDED_BROKERS = ("filesystem://", "memory://")
BROKER_CONNECT_TIMEOUT_SECONDS = 2


def _failed(exc: BaseException) -> dict:
    return {"status": "error", "error": type(exc).__name__}


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the answer is "not ready"
        return _failed(exc)
    return {"status": "ok"}


def check_broker() -> dict:
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith(EMBEDDED_BROKERS):
        return {"status": "ok"}
    from config.celery import app

    try:
        with app.connection_for_write(url=url, connect_timeout=BROKER_CONNECT_TIMEOUT_SECONDS) as broker:
            broker.ensure_connection(max_retries=0, timeout=BROKER_CONNECT_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not ready"
        return _failed(exc)
    return {"status": "ok"}


def check_worker() -> dict:
    max_age = settings.READY_WORKER_HEARTBEAT_MAX_AGE_SECONDS
    try:
        last = last_worker_heartbeat()
    except Exception as exc:  # noqa: BLE001 - the database check reports the cause
        return _failed(exc)
    if last is None:
        return {"status": "error", "error": "NoHeartbeat", "maxAgeSeconds": max_age}
    age = round((timezone.now() - last).total_seconds(), 1)
    if age > max_age:
        return {"status": "error", "error": "StaleHeartbeat", "ageSeconds": age, "maxAgeSeconds": max_age}
    return {"status": "ok", "ageSeconds": age, "maxAgeSeconds": max_age}


@never_cache
@require_safe
def healthz(request):
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """200 when the database, the broker and a worker are all there; 503 with the failing check otherwise."""
    checks = {"database": check_database(), "broker": check_broker(), "worker": check_worker()}
    ready = all(check["status"] == "ok" for check in checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks, "authzCache": authz_cache_stats()}
    return JsonResponse(body, status=200 if ready else 503)


def authz_cache_stats() -> dict:
    """This process's compiled-policy cache (entries, bound, evictions so far): information, never a failed check."""
    stats = getattr(get_authorizer(), "cache_stats", None)
    return stats() if stats is not None else {}
