"""Selectors: the key a signed call names, read as the ORM would read it, standing for the connection health check and
prepared once per connection on PostgreSQL."""

import psycopg
import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from iam import selectors
from iam.models import AccessKey
from iam.selectors import access_key_for_signature
from iam.services.roles import role_create
from sts.services import role_session_issue
from tests.conftest import make_sub_account

RELATIONS = ("account", "sub_account", "role")


def _values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _same_as_the_orm(access_key: str, django_assert_num_queries) -> AccessKey:
    expected = AccessKey.objects.select_related(*RELATIONS).get(access_key=access_key)
    with django_assert_num_queries(1):
        key = access_key_for_signature(access_key)
        related = {name: getattr(key, name) for name in RELATIONS}  # loaded with the key: no more queries
    assert _values(key) == _values(expected)
    for name in RELATIONS:
        wanted = getattr(expected, name)
        if wanted is None:
            assert related[name] is None, name
        else:
            assert type(related[name]) is type(wanted) and _values(related[name]) == _values(wanted), name
    assert key._state.adding is False and key._state.db == "default"
    return key


def test_a_root_key_comes_with_its_account(tenant, django_assert_num_queries):
    key = _same_as_the_orm(tenant.root.access_key, django_assert_num_queries)
    assert key.kind == AccessKey.ROOT and key.sub_account is None and key.role is None
    assert key.account.authz_version == tenant.account.authz_version


def test_a_sub_account_key_comes_with_its_sub_account(tenant, django_assert_num_queries):
    sub, creds = make_sub_account(
        tenant, "reader", actions=["View/getSubAccountList"], use_api_allow_source=True,
        api_allow_sources=[{"type": "IP", "source": "10.0.0.0/8"}],
    )  # fmt: skip
    key = _same_as_the_orm(creds.access_key, django_assert_num_queries)
    assert key.sub_account.sub_account_id == sub.sub_account_id
    assert key.sub_account.api_allow_sources == [{"type": "IP", "source": "10.0.0.0/8"}]  # JSON decoded
    assert key.create_time.tzinfo is not None and isinstance(key.active, bool)


def test_a_role_session_key_comes_with_its_role_and_sub_account(tenant, django_assert_num_queries):
    sub, _ = make_sub_account(tenant, "switcher")
    role = role_create(account=tenant.account, name="operator", role_type="Account", tags={"team": "ops"})
    session, _ = role_session_issue(
        role=role,
        source_identity_type="SubAccount",
        source_identity_id=str(sub.sub_account_id),
        duration_sec=3600,
        sub_account=sub,
        mfa_present=True,
    )
    key = _same_as_the_orm(session.access_key, django_assert_num_queries)
    assert key.role.role_no == role.role_no and key.role.tags == {"team": "ops"}
    assert key.sub_account.pk == sub.pk and key.mfa_present is True and key.expire_time is not None


@pytest.mark.django_db
def test_an_unknown_key_is_none(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert access_key_for_signature("NO-SUCH-KEY") is None


# The key look-up stands for the connection health check, and is prepared --------------------------------------------

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")


def _terminate_backend_of(conn) -> None:
    """Ends the server side of ``conn`` from another connection (what a database restart does to a kept one)."""
    pid = conn.connection.info.backend_pid
    with psycopg.connect(**conn.get_connection_params(), autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def health_checks(settings):
    connection.health_check_enabled = True
    yield
    connection.health_check_enabled = settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_look_up_is_the_health_check_of_a_kept_connection(tenant, health_checks, monkeypatch):
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    connection.health_check_done = False  # a new request on a kept connection (request_started)
    key = access_key_for_signature(tenant.root.access_key)
    assert key.account_id == tenant.account.pk
    assert checks == [] and connection.health_check_done  # no SELECT 1 first, and none later in the request


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_dead_kept_connection_is_replaced_and_the_call_goes_through(tenant, health_checks):
    access_key_for_signature(tenant.root.access_key)
    before = connection.connection.info.backend_pid
    _terminate_backend_of(connection)
    connection.health_check_done = False
    key = access_key_for_signature(tenant.root.access_key)
    assert key.account_id == tenant.account.pk
    assert connection.connection.info.backend_pid != before


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_dead_connection_after_the_check_fails_as_before(tenant, health_checks):
    """Once the request has checked its connection, a failure is the request's (Django's own behaviour)."""
    access_key_for_signature(tenant.root.access_key)
    _terminate_backend_of(connection)
    connection.health_check_done = True
    with pytest.raises(OperationalError):
        access_key_for_signature(tenant.root.access_key)
    connection.close()


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_error_of_the_statement_on_a_live_connection_is_not_retried(tenant, health_checks, monkeypatch):
    runs = []

    def failing(*args):
        runs.append(1)
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(selectors, "_fetch_key_row", failing)
    connection.ensure_connection()
    connection.health_check_done = False
    with pytest.raises(OperationalError):
        access_key_for_signature(tenant.root.access_key)
    assert runs == [1]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_look_up_is_prepared_once_per_connection_and_a_stale_plan_means_a_new_connection(tenant, monkeypatch):
    for _ in range(3):  # prepared from the first run on: the query log still reads the statement with its key
        with CaptureQueriesContext(connection) as queries:
            access_key_for_signature(tenant.root.access_key)
        [logged] = [q["sql"] for q in queries.captured_queries]
        assert logged.endswith(f"WHERE k.\"access_key\" = '{tenant.root.access_key}'")
    sql, _ = selectors._signature_key_query("default")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert sql.replace("%s", "$1") in prepared
    before = connection.connection.info.backend_pid
    original, runs = selectors._fetch_key_row, []

    def stale_once(conn, statement, access_key):
        runs.append(1)
        if len(runs) == 1:
            error = OperationalError("cached plan must not change result type")
            error.__cause__ = psycopg.errors.FeatureNotSupported("cached plan must not change result type")
            raise error
        return original(conn, statement, access_key)

    monkeypatch.setattr(selectors, "_fetch_key_row", stale_once)
    assert access_key_for_signature(tenant.root.access_key).account_id == tenant.account.pk
    assert runs == [1, 1] and connection.connection.info.backend_pid != before


@on_postgresql
@pytest.mark.django_db
def test_inside_a_transaction_the_look_up_runs_djangos_own_check_and_never_retries(tenant, health_checks, monkeypatch):
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    connection.health_check_done = False
    assert access_key_for_signature(tenant.root.access_key).account_id == tenant.account.pk
    assert checks == [1]  # Django's SELECT 1, as its cursor() runs it
    monkeypatch.setattr(selectors, "_fetch_key_row", lambda *a: (_ for _ in ()).throw(OperationalError("gone")))
    connection.health_check_done = False
    with pytest.raises(OperationalError):
        access_key_for_signature(tenant.root.access_key)
