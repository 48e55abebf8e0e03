"""Give a staff user a new generated password and print it once (when the one from bootstrap_demo was lost)."""

import json
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from iam import audit

ACTOR = audit.Actor("system:reset_staff_password", "System")


class Command(BaseCommand):
    help = (
        "Set a new generated password for a staff user and clear its admin sign-in lockouts; prints "
        "{username, password} as JSON. The password is shown only this once."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="the staff user's username (bootstrap_demo's is admin)")

    def handle(self, *args, username: str, **options):
        user = get_user_model().objects.filter(username=username, is_staff=True).first()
        if user is None:
            raise CommandError(f"no staff user named {username!r}")
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user.set_password(password)
            user.save(update_fields=["password"])
            unlocked = staff_lockouts_clear(username=username)
            audit.record(
                account_id=None,
                action="Admin:resetStaffPassword",
                detail={"username": username, "password": "generated", "lockoutsCleared": unlocked},
                actor=ACTOR,
            )
        self.stdout.write(json.dumps({"username": username, "password": password}))


def staff_lockouts_clear(*, username: str) -> int:
    """Forget the failed admin sign-ins of a user (django-axes), so the new password works at once."""
    from axes.utils import reset

    return reset(username=username)
