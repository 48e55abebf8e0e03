"""Subjects (subject activity): made from certificate use by ``sessions``; staff and the root key enable and
disable them (a disabled subject gets no session)."""

from external_access.models import Subject
from external_access.services.common import set_enabled


def subject_set_enabled(*, subject: Subject, enabled: bool) -> Subject:
    return set_enabled(subject, enabled)
