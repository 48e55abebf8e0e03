from django.apps import AppConfig


class ExternalAccessConfig(AppConfig):
    """External Access: trust anchors, profiles, CRLs and certificate sessions (built on the iam app)."""

    name = "external_access"
    verbose_name = "External Access"

    def ready(self) -> None:
        from iam.services import role_users

        # A Service role a profile holds is not deleted (iam.services.roles.role_delete asks every registrant).
        role_users.register("ExternalAccess", profile_users)


def profile_users(role) -> list[str]:
    """The External Access profiles that hold ``role``, as the 409 of a refused role delete names them."""
    from external_access.services.profiles import profiles_using

    return [f"ExternalAccess:Profile/{p.profile_id} ({p.name})" for p in profiles_using(role)]
