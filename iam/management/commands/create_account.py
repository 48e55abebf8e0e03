"""Create a main account and print its memberNo, root access key and secret as JSON (the secret only here)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from iam import audit
from iam.errors import ServiceError
from iam.services.accounts import account_create


class Command(BaseCommand):
    help = "Create a main account; prints {memberNo, accessKey, secretKey} as JSON. The secret is shown only once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the account's display name")
        parser.add_argument("--email", default="")
        parser.add_argument("--member-no", type=int, default=None, help="a fixed memberNo (default: random)")

    def handle(self, *args, name, email, member_no, **options):
        try:
            with transaction.atomic():
                account, key, secret = account_create(name=name, email=email, member_no=member_no)
                audit.record(
                    account_id=account.pk,
                    action="Admin:createAccount",
                    detail={"memberNo": account.member_no, "rootAccessKey": key.access_key, "secret": "issued"},
                    actor=audit.Actor("system:create_account", "System"),
                )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(json.dumps({"memberNo": account.member_no, "accessKey": key.access_key, "secretKey": secret}))
