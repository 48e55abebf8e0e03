"""The audit trail: who did what to which resource, from where, and how it went. Never a secret.

The actor and request of the work in progress travel in context variables set at the edges (API authentication,
admin requests, tasks), so the places that record need not pass them along.
"""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.utils import timezone

from iam.models import AuditEvent

SECRET_WORDS = ("secret", "password", "token", "signature", "mfa")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a principal (by NRN), a staff user, or a system job."""

    name: str
    actor_type: str  # MainAccount, SubAccount, Staff, System
    source_ip: str = ""


SYSTEM = Actor("system", "System")

_actor: ContextVar[Actor | None] = ContextVar("iam_audit_actor", default=None)
_request_id: ContextVar[str] = ContextVar("iam_request_id", default="")


def current_actor() -> Actor:
    return _actor.get() or SYSTEM


def current_request_id() -> str:
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def acting_as(actor: Actor, request_id: str | None = None):
    """Run a block as ``actor`` (and under ``request_id``); restores the previous ones afterwards."""
    actor_token = _actor.set(actor)
    request_token = _request_id.set(request_id if request_id is not None else (_request_id.get() or new_request_id()))
    try:
        yield
    finally:
        _actor.reset(actor_token)
        _request_id.reset(request_token)


def set_request_id(value: str):
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)


def set_actor(actor: Actor | None):
    return _actor.set(actor)


def reset_actor(token) -> None:
    _actor.reset(token)


def clean_detail(detail: dict | None) -> dict:
    """A copy without anything that looks like a secret (keys naming secrets are dropped, whatever their value)."""
    if not detail:
        return {}
    clean = {}
    for key, value in detail.items():
        if any(word in str(key).lower() for word in SECRET_WORDS) and value not in (
            "issued",
            "generated",
            "set",
            "reset",
        ):
            continue
        if isinstance(value, dict):
            value = clean_detail(value)
        elif isinstance(value, list):
            value = [clean_detail(v) if isinstance(v, dict) else v for v in value]
        clean[str(key)] = value
    return clean


def event(
    *,
    account_id: int | None,
    action: str,
    resource: str = "",
    result: str = AuditEvent.SUCCESS,
    detail: dict | None = None,
    actor: Actor | None = None,
    time=None,
) -> AuditEvent:
    """An unsaved event (for bulk writes)."""
    actor = actor or current_actor()
    return AuditEvent(
        time=time or timezone.now(),
        account_id=account_id,
        actor=actor.name[: AuditEvent._meta.get_field("actor").max_length],
        actor_type=actor.actor_type,
        action=action,
        resource=(resource or "")[: AuditEvent._meta.get_field("resource").max_length],
        result=result,
        source_ip=actor.source_ip,
        request_id=current_request_id(),
        detail=clean_detail(detail),
    )


def record(**kwargs) -> AuditEvent:
    """Record one event now."""
    audit_event = event(**kwargs)
    audit_event.save()
    return audit_event


def record_many(events: list[AuditEvent], batch_size: int = 2000) -> None:
    AuditEvent.objects.bulk_create(events, batch_size=batch_size)
