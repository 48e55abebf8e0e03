"""Profiles: the Service roles a certificate-authenticated workload may take on, and the longest session it gets.
A role sits in at most one profile (the database's unique role column decides between parallel requests); a profile
may hold no role at all."""

import uuid

from django.db import IntegrityError, transaction

from external_access.models import Profile, ProfileRole
from external_access.services.common import checked_description, checked_enabled, checked_name, set_enabled
from iam.errors import Conflict, InvalidInput, NotFound
from iam.models import Account, Role

MAX_PROFILES_PER_ACCOUNT = 100
MAX_ROLES_PER_PROFILE = 50


def _duration(value) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not Profile.MIN_DURATION <= value <= Profile.MAX_DURATION
    ):
        raise InvalidInput.field(
            "durationSeconds", f"must be whole seconds from {Profile.MIN_DURATION} to {Profile.MAX_DURATION}"
        )
    return value


def _roles(account: Account, role_ids) -> list[Role]:
    """The account's Service roles named by roleNo, in the order given; every bad one is named by its index."""
    if not isinstance(role_ids, list):
        raise InvalidInput.field("roleIdList", "must be a list of roleNo")
    if len(role_ids) > MAX_ROLES_PER_PROFILE:
        raise InvalidInput.field("roleIdList", f"must name at most {MAX_ROLES_PER_PROFILE} roles")
    roles, errors, missing = [], [], []
    for index, role_id in enumerate(role_ids):
        field = f"roleIdList[{index}]"
        try:
            role_no = str(uuid.UUID(role_id)) if isinstance(role_id, str) else None
        except ValueError:
            role_no = None
        role = Role.objects.filter(account=account, role_no=role_no).first() if role_no else None
        if role is None:
            missing.append((field, f"no such role: {str(role_id)[:40]}"))
        elif role.role_type != Role.SERVICE:
            errors.append((field, f"{role.name} is a {role.role_type} role: a profile holds Service roles only"))
        elif role in roles:
            errors.append((field, f"{role.name} is named twice"))
        else:
            roles.append(role)
    if missing:  # as for every id list: another account's role is simply not found
        raise NotFound("; ".join(m for _, m in missing), field_errors=missing)
    if errors:
        raise InvalidInput("; ".join(f"{f}: {m}" for f, m in errors), field_errors=errors)
    return roles


def _set_roles(profile: Profile, roles: list[Role]) -> None:
    """Replace the profile's roles; a role already in another profile is a 409 that names it."""
    ProfileRole.objects.filter(profile=profile).exclude(role__in=roles).delete()
    for role in roles:
        if ProfileRole.objects.filter(profile=profile, role=role).exists():
            continue
        try:
            with transaction.atomic():
                ProfileRole.objects.create(profile=profile, role=role)
        except IntegrityError:
            other = ProfileRole.objects.filter(role=role).select_related("profile").first()
            where = f" ({other.profile.name})" if other is not None else ""
            raise Conflict(
                f"role {role.name} is already in another profile{where}: a role sits in at most one profile",
                field_errors=[("roleIdList", f"{role.role_no} is in another profile")],
            ) from None


def profile_create(
    *, account: Account, name, description="", duration_seconds=Profile.DEFAULT_DURATION, enabled=False, role_ids=()
) -> Profile:
    fields = {
        "name": checked_name(name),
        "description": checked_description(description),
        "duration_seconds": _duration(duration_seconds),
        "enabled": checked_enabled(enabled),
    }
    roles = _roles(account, list(role_ids) if isinstance(role_ids, tuple) else role_ids)
    if Profile.objects.filter(account=account).count() >= MAX_PROFILES_PER_ACCOUNT:
        raise Conflict(f"an account has at most {MAX_PROFILES_PER_ACCOUNT} profiles")
    try:
        with transaction.atomic():
            profile = Profile.objects.create(account=account, **fields)
            _set_roles(profile, roles)
    except IntegrityError:
        raise Conflict("a profile of this name already exists", field_errors=[("name", "already in use")]) from None
    return profile


def profile_update(*, profile: Profile, **changes) -> Profile:
    """PATCH: name, description, durationSeconds, roleIdList (replaces the roles); enable/disable have their calls."""
    unknown = set(changes) - {"name", "description", "duration_seconds", "role_ids"}
    if unknown:
        raise InvalidInput.field(sorted(unknown)[0], "cannot be changed here")
    if "name" in changes:
        profile.name = checked_name(changes["name"])
    if "description" in changes:
        profile.description = checked_description(changes["description"])
    if "duration_seconds" in changes:
        profile.duration_seconds = _duration(changes["duration_seconds"])
    roles = _roles(profile.account, changes["role_ids"]) if "role_ids" in changes else None
    try:
        with transaction.atomic():
            profile.save()
            if roles is not None:
                _set_roles(profile, roles)
    except IntegrityError:
        raise Conflict("a profile of this name already exists", field_errors=[("name", "already in use")]) from None
    return profile


def profile_set_enabled(*, profile: Profile, enabled: bool) -> Profile:
    return set_enabled(profile, enabled)


def profile_delete(*, profile: Profile) -> None:
    profile.delete()


def profiles_using(role: Role) -> list[Profile]:
    """The profiles that hold ``role`` (at most one): a Service role in use is not deleted."""
    return [pr.profile for pr in ProfileRole.objects.filter(role=role).select_related("profile")]
