"""Seed the seven system-managed policies of the permission catalog (read-only everywhere)."""

from django.db import migrations


def seed(apps, schema_editor):
    from iam.policy import catalog

    Policy = apps.get_model("iam", "Policy")
    for system in catalog.SYSTEM_POLICIES:
        Policy.objects.update_or_create(
            policy_id=system.policy_id,
            defaults={
                "account": None,
                "name": system.name,
                "policy_type": "SYSTEM_MANAGED",
                "description": system.description,
                "permissions": system.permissions_copy(),
                "tags": {},
            },
        )


def unseed(apps, schema_editor):
    from iam.policy import catalog

    apps.get_model("iam", "Policy").objects.filter(
        policy_id__in=[p.policy_id for p in catalog.SYSTEM_POLICIES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("iam", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
