"""Reads with business meaning."""

import uuid
from functools import lru_cache

from django.db import DatabaseError, connections, router
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Q

from iam.gateway.principals import ROLE, SUB_ACCOUNT, Principal
from iam.models import AccessKey, Group, Policy, PolicyAttachment, Role, Server, SubAccount
from iam.policy import nrn

FEATURE_NOT_SUPPORTED = "0A000"  # the SQLSTATE of "cached plan must not change result type"

# What a signed call's key is read with: (related model, the key's foreign key, joined when the key has none too).
_SIGNATURE_KEY_RELATIONS = (("account", False), ("sub_account", True), ("role", True))


@lru_cache(maxsize=8)
def _signature_key_query(alias: str):
    """The SQL of access_key_for_signature on one database and, per model, its fields and value converters."""
    connection = connections[alias]
    quote = connection.ops.quote_name

    def columns(model, table_alias: str) -> tuple[list[str], list, list]:
        fields = model._meta.concrete_fields
        converters = []
        for field in fields:
            column = field.get_col(table_alias)
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            converters.append((found, column))
        return [f"{table_alias}.{quote(f.column)}" for f in fields], [f.attname for f in fields], converters

    select, parts, joins = [], [], []
    names, attnames, converters = columns(AccessKey, "k")
    select += names
    parts.append((None, attnames, converters))
    for index, (relation, optional) in enumerate(_SIGNATURE_KEY_RELATIONS):
        field = AccessKey._meta.get_field(relation)
        model, table_alias = field.related_model, f"r{index}"
        names, attnames, converters = columns(model, table_alias)
        select += names
        parts.append((field, attnames, converters))
        target = model._meta.get_field(field.target_field.name).column
        joins.append(
            f"{'LEFT OUTER' if optional else 'INNER'} JOIN {quote(model._meta.db_table)} {table_alias} "
            f"ON {table_alias}.{quote(target)} = k.{quote(field.column)}"
        )
    sql = (
        f"SELECT {', '.join(select)} FROM {quote(AccessKey._meta.db_table)} k {' '.join(joins)} "
        f"WHERE k.{quote(AccessKey._meta.get_field('access_key').column)} = %s"
    )
    return sql, parts


def _server_binding_cursor(connection):
    """A cursor of ``connection`` whose statements psycopg may prepare (server-side binding, with the connection's
    ``prepare_threshold``), logged and wrapped as Django's own; Django's cursor where there is no such thing."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql import base as postgresql

    if not postgresql.is_psycopg3:
        return connection.cursor()
    connection.close_if_health_check_failed()  # as Django's cursor() does (a no-op where the look-up stands for it)
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = postgresql.ServerBindingCursor(connection.connection)
        # As Django's create_cursor does: times in the connection's time zone.
        loader = connection.connection.adapters.get_loader(postgresql.TIMESTAMPTZ_OID, postgresql.Format.TEXT)
        if connection.timezone != loader.timezone:
            postgresql.register_tzloader(connection.timezone, raw)
    connection.validate_thread_sharing()
    if connection.queries_logged:
        return _ServerBindingDebugCursor(raw, connection)
    return connection.make_cursor(raw)


class _ServerBindingDebugCursor(CursorDebugWrapper):
    """Django's debug cursor, logging a server-bound statement as the client-bound one would read (the statement with
    its parameters in it): Django asks psycopg for the text it sent, which a prepared statement never sends."""

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params), params):
            return CursorWrapper.execute(self, sql, params)


def _fetch_key_row(connection, sql: str, access_key: str):
    with _server_binding_cursor(connection) as cursor:
        cursor.execute(sql, [access_key])
        return cursor.fetchone()


def access_key_for_signature(access_key: str) -> AccessKey | None:
    """The key a signed call names, with its account, sub account and role loaded (what authentication checks), or
    None. One query, as ``AccessKey.objects.select_related("account", "sub_account", "role")`` would make, but with
    its SQL built once per process (compiling that four-table select cost about as much as running it) and prepared
    by PostgreSQL once per connection (planning it cost more than running it) where DB_PREPARE_THRESHOLD allows.

    It is the first statement of a signed call, so it also stands for the connection health check Django would run
    first (CONN_HEALTH_CHECKS, a SELECT 1 round trip on every request): when the kept connection turns out dead,
    it is closed and the look-up runs again on a new one, which is what that check would have done."""
    alias = router.db_for_read(AccessKey)
    sql, parts = _signature_key_query(alias)
    connection = connections[alias]
    stands_for_check = (
        connection.health_check_enabled
        and not connection.health_check_done
        and connection.connection is not None
        and not connection.in_atomic_block
    )
    if stands_for_check:
        connection.health_check_done = True
    try:
        row = _fetch_key_row(connection, sql, access_key)
    except DatabaseError as exc:
        stale_plan = (
            getattr(exc.__cause__, "sqlstate", None) == FEATURE_NOT_SUPPORTED and not connection.in_atomic_block
        )
        if not stale_plan and (not stands_for_check or connection.is_usable()):
            raise  # not a dead connection: an error of this statement, as before
        # A dead connection, or a statement prepared before a migration changed a column it reads ("cached plan
        # must not change result type"): a new connection has neither.
        connection.close()
        row = _fetch_key_row(connection, sql, access_key)
    if row is None:
        return None
    key = None
    position = 0
    for relation, attnames, converters in parts:
        values = []
        for value, (field_converters, column) in zip(row[position : position + len(attnames)], converters, strict=True):
            for converter in field_converters:
                value = converter(value, column, connection)
            values.append(value)
        position += len(attnames)
        if relation is None:
            key = AccessKey.from_db(alias, attnames, values)
            continue
        model = relation.related_model
        has_row = values[attnames.index(model._meta.pk.attname)] is not None
        relation.set_cached_value(key, model.from_db(alias, attnames, values) if has_row else None)
    return key


def principal_policies(principal: Principal) -> list[tuple[str, list]]:
    """(policy id, statements) of every policy that applies to a principal, one query: a sub account's own and its
    groups', or a role session's role's (whoever is behind the session)."""
    if principal.principal_type == ROLE:
        return role_policies(role_id=principal.role_id) if principal.role_id is not None else []
    if principal.principal_type != SUB_ACCOUNT or principal.sub_account_no is None:
        return []
    rows = (
        Policy.objects.filter(
            Q(attachments__sub_account_id=principal.sub_account_no)
            | Q(attachments__group__memberships__sub_account_id=principal.sub_account_no)
        )
        .distinct()
        .order_by("id")
        .values_list("policy_id", "permissions")
    )
    return [(policy_id, permissions or []) for policy_id, permissions in rows]


def role_policies(*, role_id: int) -> list[tuple[str, list]]:
    """(policy id, statements) of the policies attached to a role."""
    rows = Policy.objects.filter(attachments__role_id=role_id).order_by("id").values_list("policy_id", "permissions")
    return [(policy_id, permissions or []) for policy_id, permissions in rows]


_TAGGED = {
    "SubAccount": (SubAccount, "sub_account_id"),
    "Group": (Group, "group_id"),
    "Policy": (Policy, "policy_id"),
    "Role": (Role, "role_no"),
}


def resource_tags(*, account_id: int, resource_nrn: str) -> dict:
    """The tags of the IAM resource an NRN names, within one account ({} when there is no such resource)."""
    try:
        parsed = nrn.parse(resource_nrn)
    except nrn.InvalidNrn:
        return {}
    if (parsed.product, parsed.resource_type) == (nrn.VPC_SERVER, "Server"):
        row = Server.objects.filter(server_instance_no=parsed.resource_id, account_id=account_id)
        return next(iter(row.values_list("tags", flat=True)), None) or {}
    model_field = _TAGGED.get(parsed.resource_type)
    if parsed.product != nrn.IAM or model_field is None:
        return {}
    model, field = model_field
    if field in ("sub_account_id", "group_id"):
        try:
            uuid.UUID(parsed.resource_id)
        except ValueError:
            return {}
    row = model.objects.filter(**{field: parsed.resource_id, "account_id": account_id}).values_list("tags", flat=True)
    return next(iter(row), None) or {}


def resource_counts(*, account) -> dict:
    """What the dashboard shows: how many of each resource the account has."""
    return {
        "subAccountCount": SubAccount.objects.for_account(account).count(),
        "groupCount": Group.objects.for_account(account).count(),
        "policyCount": Policy.objects.filter(account=account).count(),
        "roleCount": Role.objects.for_account(account).count(),
    }


def policy_resources(*, policy: Policy, account) -> dict:
    """The sub accounts, groups and roles of this account the policy is attached to."""
    attachments = PolicyAttachment.objects.filter(policy=policy, account=account).select_related(
        "sub_account", "group", "role"
    )
    result = {"subAccounts": [], "groups": [], "roles": []}
    for a in attachments:
        if a.sub_account_id:
            s = a.sub_account
            result["subAccounts"].append(
                {
                    "subAccountId": str(s.sub_account_id),
                    "loginId": s.login_id,
                    "name": s.name,
                    "attachTime": a.create_time,
                }
            )
        elif a.group_id:
            g = a.group
            result["groups"].append({"groupId": str(g.group_id), "groupName": g.name, "attachTime": a.create_time})
        else:
            r = a.role
            result["roles"].append({"roleNo": r.role_no, "roleName": r.name, "attachTime": a.create_time})
    return result


def attached_policies(**target) -> list[Policy]:
    """The policies attached directly to one sub account, group or role."""
    return [a.policy for a in PolicyAttachment.objects.filter(**target).select_related("policy")]


def role_servers(*, role: Role) -> list:
    """The servers a Server role is attached to."""
    return list(role.servers.order_by("server_instance_no"))


def role_account_targets(*, role: Role) -> list:
    """The main accounts an Account role names as targets (its own first)."""
    return sorted(
        role.account_targets.select_related("target_account", "role"),
        key=lambda t: (t.target_account_id != role.account_id, t.pk),
    )


def role_service_targets(*, role: Role) -> list:
    """The services that may assume a Service role."""
    return list(role.service_targets.order_by("service"))


def role_sso_assignments(*, role: Role) -> list:
    """The Ncloud Single Sign-On users and groups a Single Sign-On role is assigned to."""
    return list(role.sso_assignments.order_by("principal_type", "principal_name"))
