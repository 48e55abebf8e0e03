"""First-run set-up for `make run`: a demo main account with root keys and a staff login, printed once."""

import json
import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from iam import audit
from iam.models import Account
from iam.services.accounts import account_create

DEMO_MEMBER_NO = 1000001
ACTOR = audit.Actor("system:bootstrap_demo", "System")


class Command(BaseCommand):
    help = "Create the demo main account and a staff user if they do not exist yet; print their credentials once."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default=None,
            help="where the web process answers, for the printed admin address "
            "(default: http://127.0.0.1:$PORT, PORT defaulting to 8000)",
        )

    def handle(self, *args, base_url: str | None = None, **options):
        base_url = (base_url or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}").rstrip("/")
        created = {}
        # All or nothing: a secret is printed only after everything is stored, so a failure halfway never leaves
        # an account whose key secret nobody saw.
        with transaction.atomic():
            if not Account.objects.filter(member_no=DEMO_MEMBER_NO).exists():
                account, key, secret = account_create(name="Demo", member_no=DEMO_MEMBER_NO)
                audit.record(
                    account_id=account.pk,
                    action="Admin:createAccount",
                    detail={"memberNo": account.member_no, "rootAccessKey": key.access_key, "secret": "issued"},
                    actor=ACTOR,
                )
                created["mainAccount"] = {
                    "memberNo": account.member_no,
                    "accessKey": key.access_key,
                    "secretKey": secret,
                }
            User = get_user_model()
            if not User.objects.filter(username="admin").exists():
                password = secrets.token_urlsafe(12)
                User.objects.create_superuser("admin", "admin@example.invalid", password)
                audit.record(
                    account_id=None,
                    action="Admin:createStaffUser",
                    detail={"username": "admin", "password": "generated"},
                    actor=ACTOR,
                )
                created["staff"] = {"username": "admin", "password": password, "url": f"{base_url}/admin/"}
        if created:
            self.stdout.write("Demo credentials (shown only this once):")
            self.stdout.write(json.dumps(created, indent=2))
        else:
            self.stdout.write(
                "Demo account and staff user already exist; their secrets were shown on the first run "
                "(lost them? see README: rotate_root_key, reset_staff_password)."
            )
        self.stdout.write(f"Admin: {base_url}/admin/")
