"""Who uses a role outside this app: other apps register a function that names their users of a role (External
Access will name its profiles), and deleting a Service role that anything still uses is refused with the list.

A registrant takes a Role and returns the names of what uses it, e.g. ``["ExternalAccess:Profile/web-servers"]``.
"""

from collections.abc import Callable

from iam.models import Role

RoleUsers = Callable[[Role], list[str]]
_registrants: dict[str, RoleUsers] = {}


def register(name: str, users: RoleUsers) -> None:
    """Register (or replace) the users of roles that one app knows, under its name (call it in AppConfig.ready())."""
    _registrants[name] = users


def unregister(name: str) -> None:
    _registrants.pop(name, None)


def role_users(role: Role) -> list[str]:
    """Everything any registered app says still uses ``role``, sorted."""
    found: set[str] = set()
    for users in list(_registrants.values()):
        found.update(users(role) or ())
    return sorted(found)
