"""CRLs of a trust anchor: import (the signature must verify against the anchor's CA), the background import of the
revoked serials, enable/disable/update/delete, and the revocation check.

An import is checked in the request (readable, signed by the anchor's CA) and stored whole; a Celery task then
writes its revoked serials under a new generation and switches ``active_generation`` to it in one update once every
row is stored (see ``Crl``). Until then the previous list, if any, stays in force."""

import datetime as dt
import logging
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from external_access import x509 as x509_input
from external_access.models import Crl, RevokedSerial, TrustAnchor
from external_access.services.common import set_enabled
from external_access.services.trust_anchors import trust_anchor_certificates
from iam import outbox
from iam.errors import Conflict, InvalidInput

logger = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,14}$")
MAX_CRLS_PER_TRUST_ANCHOR = 10
IMPORT_TASK = "external_access.tasks.crl_import"
# An import still IMPORTING after this long lost its worker (killed, restarted): the resume job starts it again.
STALE_IMPORT_AFTER = dt.timedelta(minutes=15)


def _name(value) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise InvalidInput.field("name", "3-15 letters, digits, '.', '-' or '_', starting with a letter or digit")
    return value


def _checked(trust_anchor: TrustAnchor, crl_data) -> x509.CertificateRevocationList:
    crl = x509_input.decode_crl(crl_data, "crlData")
    x509_input.crl_issuer_certificate(crl, trust_anchor_certificates(trust_anchor), "crlData")
    return crl


def _content_fields(crl: x509.CertificateRevocationList) -> dict:
    return {
        "crl_der": crl.public_bytes(serialization.Encoding.DER),
        "issuer": x509_input.name_text(crl.issuer)[:1000],
        "this_update": crl.last_update_utc,
        "next_update": crl.next_update_utc,
        "total_serials": len(crl),
        "stored_serials": 0,
        "import_status": Crl.PENDING,
        "import_error": "",
    }


def crl_create(*, trust_anchor: TrustAnchor, name, crl_data, enabled=True) -> Crl:
    name = _name(name)
    if not isinstance(enabled, bool):
        raise InvalidInput.field("enabled", "must be true or false")
    fields = _content_fields(_checked(trust_anchor, crl_data))
    if Crl.objects.filter(trust_anchor=trust_anchor).count() >= MAX_CRLS_PER_TRUST_ANCHOR:
        raise Conflict(f"a trust anchor has at most {MAX_CRLS_PER_TRUST_ANCHOR} CRLs")
    try:
        with transaction.atomic():
            crl = Crl.objects.create(trust_anchor=trust_anchor, name=name, enabled=enabled, generation=1, **fields)
    except IntegrityError:
        raise Conflict("a CRL of this name already exists", field_errors=[("name", "already in use")]) from None
    outbox.enqueue(IMPORT_TASK, crl.pk, crl.generation)
    return crl


def crl_update(*, crl: Crl, **changes) -> Crl:
    """PATCH: name, enabled, and crlData (a new list: imported under a new generation; the old one stays in force
    until the new one is fully stored)."""
    unknown = set(changes) - {"name", "enabled", "crl_data"}
    if unknown:
        raise InvalidInput.field(sorted(unknown)[0], "cannot be changed")
    changed = ["update_time"]
    if "name" in changes:
        crl.name = _name(changes["name"])
        changed.append("name")
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise InvalidInput.field("enabled", "must be true or false")
        crl.enabled = changes["enabled"]
        changed.append("enabled")
    reimport = "crl_data" in changes
    if reimport:
        for field, value in _content_fields(_checked(crl.trust_anchor, changes["crl_data"])).items():
            setattr(crl, field, value)
            changed.append(field)
    # Only the fields changed here are written: the import task updates status, progress and the list in force
    # meanwhile. A new list is the next generation, taken in the same transaction as its content and its message.
    try:
        with transaction.atomic():
            if reimport:
                Crl.objects.filter(pk=crl.pk).update(generation=F("generation") + 1)
                crl.generation = Crl.objects.values_list("generation", flat=True).get(pk=crl.pk)
            crl.save(update_fields=changed)
            if reimport:
                outbox.enqueue(IMPORT_TASK, crl.pk, crl.generation)
    except IntegrityError:
        raise Conflict("a CRL of this name already exists", field_errors=[("name", "already in use")]) from None
    return crl


def crl_set_enabled(*, crl: Crl, enabled: bool) -> Crl:
    return set_enabled(crl, enabled)


def crl_delete(*, crl: Crl) -> None:
    RevokedSerial.objects.filter(crl=crl).delete()  # one DELETE, not a million loaded rows
    crl.delete()


def is_revoked(trust_anchor: TrustAnchor, serial_number: int, issuer: x509.Name | None = None) -> bool:
    """Whether any enabled CRL of the anchor (of ``issuer``, when given: serials are unique per CA only), as last
    fully imported, lists the serial: one indexed look-up."""
    revoked = RevokedSerial.objects.filter(
        serial_number=x509_input.serial_hex(serial_number),
        crl__trust_anchor=trust_anchor,
        crl__enabled=True,
        crl__active_generation=F("generation"),
    )
    if issuer is not None:
        revoked = revoked.filter(crl__issuer=x509_input.name_text(issuer)[:1000])
    return revoked.exists()


# --- the import task's work -----------------------------------------------------------------------------------------


def _write_rows(crl_id: int, generation: int, serials: list[str]) -> None:
    if connection.vendor == "postgresql":
        table = RevokedSerial._meta.db_table
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} (crl_id, generation, serial_number) FROM STDIN") as copy:
                for serial in serials:
                    copy.write_row((crl_id, generation, serial))
        return
    RevokedSerial.objects.bulk_create(
        [RevokedSerial(crl_id=crl_id, generation=generation, serial_number=s) for s in serials], batch_size=5000
    )


def crl_import_run(*, crl_id: int, generation: int, batch_size: int | None = None) -> str:
    """Store the revoked serials of one import and put them in force; returns what happened. Safe to run twice or
    after a killed run: only the run that claims the PENDING import works on it, and it first clears what a killed
    run of the same generation left."""
    claimed = Crl.objects.filter(pk=crl_id, generation=generation, import_status=Crl.PENDING).update(
        import_status=Crl.IMPORTING, import_started_time=timezone.now(), stored_serials=0
    )
    if not claimed:
        return "not pending"  # done already, superseded by a newer import, deleted, or another worker has it
    batch_size = batch_size or settings.EXTERNAL_ACCESS_CRL_IMPORT_BATCH
    crl = Crl.objects.get(pk=crl_id)
    RevokedSerial.objects.filter(crl_id=crl_id, generation=generation).delete()
    try:
        parsed = x509.load_der_x509_crl(bytes(crl.crl_der))
        batch: list[str] = []
        stored = 0
        for entry in parsed:
            batch.append(format(entry.serial_number, "x"))
            if len(batch) >= batch_size:
                stored = _store_batch(crl_id, generation, batch, stored)
                batch = []
        stored = _store_batch(crl_id, generation, batch, stored)
        with transaction.atomic():
            current = Crl.objects.select_for_update().filter(pk=crl_id).first()
            if current is None or current.generation != generation:
                raise _Superseded
            Crl.objects.filter(pk=crl_id).update(
                active_generation=generation,
                import_status=Crl.ACTIVE,
                stored_serials=stored,
                update_time=timezone.now(),
            )
    except _Superseded:
        RevokedSerial.objects.filter(crl_id=crl_id, generation=generation).delete()
        return "superseded"
    except (ValueError, TypeError) as exc:  # the stored DER cannot be read: nothing to retry
        Crl.objects.filter(pk=crl_id, generation=generation).update(
            import_status=Crl.FAILED, import_error=f"unreadable CRL: {type(exc).__name__}"[:500]
        )
        RevokedSerial.objects.filter(crl_id=crl_id, generation=generation).delete()
        return "failed"
    except Exception:
        # A temporary failure (the database went away): hand it back as PENDING for the retry to claim.
        Crl.objects.filter(pk=crl_id, generation=generation, import_status=Crl.IMPORTING).update(
            import_status=Crl.PENDING
        )
        raise
    # The old list is out of force: drop its rows (after the switch, outside the lock).
    RevokedSerial.objects.filter(crl_id=crl_id).exclude(generation=generation).delete()
    return "active"


class _Superseded(Exception):
    """A newer import of the CRL started while this one ran."""


def _store_batch(crl_id: int, generation: int, batch: list[str], stored: int) -> int:
    if batch:
        with transaction.atomic():
            _write_rows(crl_id, generation, batch)
        stored += len(batch)
    if not Crl.objects.filter(pk=crl_id, generation=generation).update(stored_serials=stored):
        raise _Superseded
    return stored


def stale_imports_resume(*, now=None) -> int:
    """Imports whose worker died (IMPORTING for longer than STALE_IMPORT_AFTER) are queued again; returns how many."""
    now = now or timezone.now()
    resumed = 0
    for crl in Crl.objects.filter(import_status=Crl.IMPORTING, import_started_time__lt=now - STALE_IMPORT_AFTER):
        with transaction.atomic():
            if Crl.objects.filter(pk=crl.pk, generation=crl.generation, import_status=Crl.IMPORTING).update(
                import_status=Crl.PENDING
            ):
                outbox.enqueue(IMPORT_TASK, crl.pk, crl.generation)
                resumed += 1
    return resumed
