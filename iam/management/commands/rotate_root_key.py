"""Replace a main account's root keys by a new one and print its secret once (when the old secret was lost)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from iam import audit
from iam.models import Account
from iam.services.accounts import root_access_key_rotate

ACTOR = audit.Actor("system:rotate_root_key", "System")


class Command(BaseCommand):
    help = (
        "Delete a main account's root access keys and issue one new key; prints {memberNo, accessKey, secretKey} "
        "as JSON. The secret is shown only this once."
    )

    def add_arguments(self, parser):
        parser.add_argument("member_no", type=int, help="the main account's memberNo")

    def handle(self, *args, member_no: int, **options):
        account = Account.objects.filter(member_no=member_no).first()
        if account is None:
            raise CommandError(f"no main account with memberNo {member_no}")
        # All or nothing: the secret is printed only once the new key and its event are stored.
        with transaction.atomic():
            key, secret, old_keys = root_access_key_rotate(account=account)
            audit.record(
                account_id=account.pk,
                action="Admin:rotateRootAccessKey",
                detail={"rootAccessKey": key.access_key, "deletedAccessKeys": old_keys, "secret": "issued"},
                actor=ACTOR,
            )
        self.stdout.write(json.dumps({"memberNo": account.member_no, "accessKey": key.access_key, "secretKey": secret}))
