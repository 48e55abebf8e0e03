"""Subjects (subject activity): made from certificate use by ``sessions``; staff and the root key enable and
disable them (a disabled subject gets no session)."""

from external_access.models import Subject


def subject_set_enabled(*, subject: Subject, enabled: bool) -> Subject:
    subject.enabled = enabled
    subject.save(update_fields=["enabled", "update_time"])
    return subject
