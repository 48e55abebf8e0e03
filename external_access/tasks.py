"""Thin Celery wrappers around the External Access services (same rules as ``iam.tasks``: ids and plain values in,
nothing done when the rows are gone, harmless when run twice, retries only on temporary errors)."""

from celery import shared_task

from external_access.services import crls
from iam.tasks import RETRY


@shared_task(**RETRY)
def crl_import(crl_id: int, generation: int) -> str:
    """Store one import of a CRL's revoked serials and put it in force once complete."""
    return crls.crl_import_run(crl_id=crl_id, generation=generation)


@shared_task(**RETRY)
def crl_imports_resume() -> int:
    """Queue again the CRL imports whose worker died; returns how many."""
    return crls.stale_imports_resume()
