"""The replay cache: each signature of a non-GET request is accepted once.

NCP's signature covers the method, the URI and the timestamp but not the body, so a captured signed write could be
sent again within the timestamp window with another body. Every process shares the record of signatures already
used: the database always (a unique row per signature), and Redis (the shared cache) first when it is configured,
which refuses most replays without a database round trip. Entries live until their timestamp leaves the window,
after which the timestamp check refuses the request anyway.
"""

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from iam.models import UsedSignature

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHE_PREFIX = "iam:used-signature:"


def applies_to(method: str) -> bool:
    """Whether a request of ``method`` may be sent only once (GETs stay replayable, as with NCP)."""
    return settings.IAM_REPLAY_PROTECTION and method.upper() not in SAFE_METHODS


def _shared_cache() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def signature_first_use(*, access_key: str, signature: str, timestamp_millis: int) -> bool:
    """Record the signature as used; False when it had been used before (a replay)."""
    digest = hashlib.sha256(f"{access_key}\n{signature}".encode()).hexdigest()
    window = settings.IAM_SIGNATURE_MAX_SKEW_SECONDS
    expire_time = datetime.fromtimestamp(timestamp_millis / 1000, tz=UTC) + timedelta(seconds=window + 1)
    if _shared_cache():
        ttl = max(1, int((expire_time - timezone.now()).total_seconds()) + 1)
        try:
            if not cache.add(CACHE_PREFIX + digest, 1, timeout=ttl):
                return False
        except Exception as exc:  # noqa: BLE001 - any cache failure leaves the database to decide, never "accept"
            logger.warning("replay cache unavailable (%s); the database decides", type(exc).__name__)
    # The database records every signature too (in the write's own transaction), so a Redis outage, or Redis coming
    # back without what was recorded meanwhile, never lets a used signature through.
    try:
        with transaction.atomic():
            UsedSignature.objects.create(digest=digest, expire_time=expire_time)
    except IntegrityError:
        return False
    return True


def used_signatures_purge(*, now=None) -> int:
    """Delete the database entries whose window has passed; returns how many."""
    deleted, _ = UsedSignature.objects.filter(expire_time__lt=now or timezone.now()).delete()
    return deleted
