"""List pages: the totals a page computes from its own rows equal those COUNT(*) gives; the FilterSet form is built only
when the request names a filter; a page's rows carry the caller's account without joining its table; an unfiltered
list runs the very SQL the ORM would, compiled once, and answers the same bytes."""

import math
import pickle

import pytest
from django.db import connection, models
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from iam.api import filtersets
from iam.api.pagination import CompiledList, NcpPagination
from iam.api.views.groups import GroupViewSet
from iam.api.views.sub_accounts import SubAccountViewSet
from iam.models import Group, SubAccount
from iam.services.groups import group_create, group_members_add
from iam.services.policies import policy_create
from iam.services.roles import role_create
from iam.services.sub_accounts import sub_account_create
from tests.conftest import make_sub_account, make_tenant

URL = "/api/v1/sub-accounts"


class AlwaysCounted(NcpPagination):
    """The pagination as it was: COUNT(*) for every page, then the page (the reference the shortcut must equal)."""

    def paginate_queryset(self, queryset, request, view=None):
        self.page = int(request.query_params.get("page") or 0)
        self.size = int(request.query_params.get("size") or 10)
        self.total = queryset.count()
        start = self.page * self.size
        return list(queryset[start : start + self.size])


def _subs(tenant, count: int, **fields) -> list[SubAccount]:
    made = []
    for i in range(count):
        sub, _ = sub_account_create(
            account=tenant.account,
            login_id=f"user{i:02d}",
            name=f"User {i}",
            email=f"user{i}@example.com",
            can_console_access=False,
        )
        made.append(sub)
    if fields:
        SubAccount.objects.filter(pk__in=[s.pk for s in made]).update(**fields)
    return made


def _counts(queries) -> int:
    return sum("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


def _both_ways(api, creds, uri: str, monkeypatch, view=SubAccountViewSet) -> tuple[dict, int]:
    """The body as served, with how many COUNT statements it ran; and asserts it equals the always-counted body."""
    with CaptureQueriesContext(connection) as queries:
        served = api.call("GET", uri, creds=creds)
    counts = _counts(queries)  # now: the next request resets the connection's query log
    assert served.status_code == 200, served.content
    with monkeypatch.context() as patch:
        patch.setattr(view, "pagination_class", AlwaysCounted)
        counted = api.call("GET", uri, creds=creds)
    assert counted.status_code == 200, counted.content
    assert served.content == counted.content  # every byte, totals and flags included
    return served.json(), counts


def _expect(body: dict, *, page: int, size: int, total: int, rows: int) -> None:
    pages = max(1, math.ceil(total / size)) if total else 0
    assert (body["page"], body["totalItems"], body["totalPages"], len(body["items"])) == (page, total, pages, rows)
    assert body["isFirst"] is (page == 0) and body["hasPrevious"] is (page > 0)
    assert body["isLast"] is (page + 1 >= pages) and body["hasNext"] is (page + 1 < pages)


# Totals without COUNT(*) ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_first_page_that_is_not_full_is_its_own_total(api, tenant, monkeypatch):
    _subs(tenant, 3)
    body, counts = _both_ways(api, tenant.root, f"{URL}?size=5", monkeypatch)
    _expect(body, page=0, size=5, total=3, rows=3)
    assert counts == 0


@pytest.mark.django_db
def test_a_first_page_exactly_full_is_its_own_total(api, tenant, monkeypatch):
    _subs(tenant, 5)
    body, counts = _both_ways(api, tenant.root, f"{URL}?size=5", monkeypatch)
    _expect(body, page=0, size=5, total=5, rows=5)
    assert counts == 0


@pytest.mark.django_db
def test_a_full_first_page_with_more_rows_after_it_counts(api, tenant, monkeypatch):
    _subs(tenant, 6)
    body, counts = _both_ways(api, tenant.root, f"{URL}?size=5", monkeypatch)
    _expect(body, page=0, size=5, total=6, rows=5)
    assert counts == 1


@pytest.mark.django_db
def test_the_last_page_is_the_rows_before_it_plus_its_own(api, tenant, monkeypatch):
    _subs(tenant, 12)
    body, counts = _both_ways(api, tenant.root, f"{URL}?page=2&size=5", monkeypatch)
    _expect(body, page=2, size=5, total=12, rows=2)
    assert counts == 0
    body, counts = _both_ways(api, tenant.root, f"{URL}?page=1&size=6", monkeypatch)  # last and exactly full
    _expect(body, page=1, size=6, total=12, rows=6)
    assert counts == 0


@pytest.mark.django_db
def test_a_middle_page_and_a_page_past_the_end_count(api, tenant, monkeypatch):
    _subs(tenant, 12)
    body, counts = _both_ways(api, tenant.root, f"{URL}?page=1&size=5", monkeypatch)
    _expect(body, page=1, size=5, total=12, rows=5)
    assert counts == 1
    body, counts = _both_ways(api, tenant.root, f"{URL}?page=7&size=5", monkeypatch)
    _expect(body, page=7, size=5, total=12, rows=0)
    assert counts == 1


@pytest.mark.django_db
def test_an_empty_list_has_no_pages(api, tenant, other_tenant, monkeypatch):
    _subs(other_tenant, 3)  # another account's rows are not this one's total
    body, counts = _both_ways(api, tenant.root, URL, monkeypatch)
    _expect(body, page=0, size=10, total=0, rows=0)
    assert counts == 0
    body, counts = _both_ways(api, tenant.root, f"{URL}?page=2", monkeypatch)
    _expect(body, page=2, size=10, total=0, rows=0)
    assert counts == 1


@pytest.mark.django_db
def test_filtered_and_searched_pages_total_the_matching_rows(api, tenant, monkeypatch):
    subs = _subs(tenant, 9)
    SubAccount.objects.filter(pk__in=[s.pk for s in subs[:4]]).update(active=False)
    body, counts = _both_ways(api, tenant.root, f"{URL}?active=false&size=3", monkeypatch)
    _expect(body, page=0, size=3, total=4, rows=3)
    assert counts == 1
    body, counts = _both_ways(api, tenant.root, f"{URL}?active=false&page=1&size=3", monkeypatch)
    _expect(body, page=1, size=3, total=4, rows=1)
    assert counts == 0
    body, counts = _both_ways(api, tenant.root, f"{URL}?searchColumn=loginId&searchWord=user0&size=100", monkeypatch)
    _expect(body, page=0, size=100, total=9, rows=9)
    body, counts = _both_ways(api, tenant.root, f"{URL}?active=true&searchWord=user08", monkeypatch)
    _expect(body, page=0, size=10, total=1, rows=1)
    assert counts == 0
    group = group_create(account=tenant.account, name="ops")
    group_members_add(group=group, sub_account_ids=[str(s.sub_account_id) for s in subs[2:7]])
    body, counts = _both_ways(api, tenant.root, f"{URL}?groupId={group.group_id}&size=5", monkeypatch)
    _expect(body, page=0, size=5, total=5, rows=5)
    body, counts = _both_ways(api, tenant.root, f"{URL}?groupId={group.group_id}&size=2&page=1", monkeypatch)
    _expect(body, page=1, size=2, total=5, rows=2)
    assert counts == 1


@pytest.mark.django_db
def test_other_lists_share_the_pagination(api, tenant, monkeypatch):
    for i in range(7):
        group_create(account=tenant.account, name=f"group-{i}")
    body, counts = _both_ways(api, tenant.root, "/api/v1/groups?size=7", monkeypatch, view=GroupViewSet)
    _expect(body, page=0, size=7, total=7, rows=7)
    assert counts == 0
    body, counts = _both_ways(api, tenant.root, "/api/v1/groups?size=3&page=2", monkeypatch, view=GroupViewSet)
    _expect(body, page=2, size=3, total=7, rows=1)
    assert counts == 0


# The FilterSet form ------------------------------------------------------------------------------------------


@pytest.fixture
def filtersets_built(monkeypatch) -> list[dict]:
    """The data of every SubAccountFilterSet built from now on."""
    built = []
    original = filtersets.SubAccountFilterSet.__init__

    def spy(self, data=None, *args, **kwargs):
        built.append(dict(data.items()) if data is not None else None)
        original(self, data, *args, **kwargs)

    monkeypatch.setattr(filtersets.SubAccountFilterSet, "__init__", spy)
    return built


@pytest.mark.django_db
def test_no_filter_parameter_builds_no_filterset(api, tenant, filtersets_built):
    _subs(tenant, 2)
    for uri in (URL, f"{URL}?page=0&size=5", f"{URL}?searchWord=user", f"{URL}?unknown=1"):
        response = api.call("GET", uri, creds=tenant.root)
        assert response.status_code == 200, response.content
        assert response.json()["totalItems"] == 2
    assert filtersets_built == []


@pytest.mark.django_db
def test_a_filter_parameter_goes_through_the_filterset_even_empty_or_invalid(api, tenant, filtersets_built):
    _subs(tenant, 2, active=False)
    assert api.call("GET", f"{URL}?active=", creds=tenant.root).json()["totalItems"] == 2
    assert api.call("GET", f"{URL}?active=true", creds=tenant.root).json()["totalItems"] == 0
    refused = api.call("GET", f"{URL}?active=yes", creds=tenant.root)
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["fieldErrors"]] == ["active"]
    assert [data.get("active") for data in filtersets_built] == ["", "true", "yes"]


def test_a_filterset_with_a_required_filter_is_always_validated():
    class Required(filtersets.SubAccountFilterSet):
        loginId = filtersets.django_filters.CharFilter(field_name="login_id", required=True)

    class View:
        filterset_class = Required

    request = Request(APIRequestFactory().get("/", {"page": "0"}))
    with pytest.raises(ValidationError) as refused:
        filtersets.NcpFilterBackend().filter_queryset(request, SubAccount.objects.none(), View())
    assert "loginId" in refused.value.detail


def test_a_multi_value_widget_suffix_counts_as_naming_its_filter():
    class Ranged(filtersets.SubAccountFilterSet):
        no = filtersets.django_filters.RangeFilter(field_name="sub_account_no")

    assert filtersets._names_a_filter(Ranged, QueryDict("no_min=3"))
    assert filtersets._names_a_filter(Ranged, QueryDict("groupId="))
    assert not filtersets._names_a_filter(Ranged, QueryDict("page=1&nothing=2&searchWord=x"))


# The caller's account on every row ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_page_joins_no_account_table_and_its_rows_carry_the_callers_account(api, tenant):
    subs = _subs(tenant, 3)
    with CaptureQueriesContext(connection) as queries:
        body = api.call("GET", URL, creds=tenant.root).json()
    page_sql = [q["sql"] for q in queries.captured_queries if 'FROM "iam_subaccount"' in q["sql"]]
    assert len(page_sql) == 1 and "iam_account" not in page_sql[0]
    member_no = tenant.account.member_no
    assert [i["nrn"] for i in body["items"]] == [
        f"nrn:PUB:IAM::{member_no}:SubAccount/{s.sub_account_id}" for s in subs
    ]


# The compiled list query ------------------------------------------------------------------------------------------

LISTS = {
    "/api/v1/sub-accounts": "iam_subaccount",
    "/api/v1/groups": "iam_group",
    "/api/v1/policies": "iam_policy",
    "/api/v1/roles": "iam_role",
    "/api/v1/audit-events": "iam_auditevent",
}
ADMINISTRATOR = "00000000-0000-4000-8000-000000000001"


def _served(api, creds, uri: str, table: str) -> tuple[bytes, list[str]]:
    """The body, and the statements that read the list's table (the page, a count)."""
    with CaptureQueriesContext(connection) as queries:
        response = api.call("GET", uri, creds=creds)
    assert response.status_code == 200, response.content
    return response.content, [q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]


def _rows_of_every_kind(tenant, api, tag: str):
    _subs(tenant, 4)
    for i in range(3):
        group_create(account=tenant.account, name=f"{tag}-group-{i}", tags={"t": "ü"})
    statement = {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}]}
    policy_create(account=tenant.account, name=f"{tag}-policy", permissions=[statement])
    role_create(account=tenant.account, name=f"{tag}-role", role_type="Account", session_expiration_sec=600)
    api.call("POST", "/api/v1/groups", {"groupName": f"{tag}-audited"}, creds=tenant.root)  # an audit event


@pytest.mark.django_db
def test_an_unfiltered_list_runs_the_orms_own_sql_and_answers_its_bytes_for_every_caller(api, monkeypatch):
    """Every list, every page shape, two accounts (the second runs SQL compiled for the first) and a sub account:
    the same statements (their text as logged, the parameters in it) and the same body as the ORM running the view's queryset."""
    first, second = make_tenant("First", member_no=4101), make_tenant("Second", member_no=4102)
    _rows_of_every_kind(first, api, "a")
    _rows_of_every_kind(second, api, "b")
    _, reader = make_sub_account(second, "reader", policy_ids=[ADMINISTRATOR])
    compiled = []
    original = CompiledList.__getitem__
    monkeypatch.setattr(CompiledList, "__getitem__", lambda self, w: compiled.append(w) or original(self, w))
    for creds in (first.root, second.root, reader):
        for uri, table in LISTS.items():
            for query in ("", "?size=2", "?page=1&size=2", "?page=50"):
                before = len(compiled)
                served, statements = _served(api, creds, uri + query, table)
                assert len(compiled) == before + 1, uri + query  # the compiled query served it
                with monkeypatch.context() as patch:
                    patch.setattr(CompiledList, "of", classmethod(lambda cls, *args: None))
                    orm, orm_statements = _served(api, creds, uri + query, table)
                assert served == orm, uri + query
                assert statements == orm_statements and statements, uri + query
    own = {g.name for g in Group.objects.filter(account=second.account)}
    body = api.call("GET", "/api/v1/groups?size=100", creds=second.root).json()
    assert {i["groupName"] for i in body["items"]} == own and own  # the second account's rows, only those


@pytest.mark.django_db
def test_a_filtered_or_searched_list_goes_through_the_orm(api, tenant, monkeypatch):
    _subs(tenant, 3)
    used = []
    monkeypatch.setattr(CompiledList, "__getitem__", lambda self, w: used.append(w))
    for uri in (f"{URL}?active=true", f"{URL}?searchWord=user", f"{URL}?canConsoleAccess="):
        assert api.call("GET", uri, creds=tenant.root).json()["totalItems"] == 3, uri
    assert used == []


@pytest.mark.django_db
def test_only_the_views_own_queryset_narrowed_to_the_account_and_nothing_more_is_marked(tenant):
    base = SubAccount.objects.select_related("account")
    scoped = base.for_account(tenant.account)
    assert scoped.tenancy_of == (base.tenancy_token, tenant.account.pk)
    assert base.for_account(tenant.account).tenancy_of[0] is base.tenancy_token  # one token per base queryset
    assert (
        SubAccount.objects.select_related("account").for_account(tenant.account).tenancy_of[0] is not base.tenancy_token
    )
    unpickled = pickle.loads(pickle.dumps(scoped))
    assert unpickled.tenancy_of[0] is not base.tenancy_token  # names no live queryset
    for chained in (
        scoped.filter(active=True),  # no parameter: only the mark tells this query from the plain one
        scoped.order_by("login_id"),
        scoped.exclude(login_id__isnull=True),
        scoped.all(),
        scoped.distinct(),
        scoped[:5],
    ):
        assert not hasattr(chained, "tenancy_of")


@pytest.mark.django_db
def test_only_a_plain_query_with_the_account_id_as_its_one_parameter_is_compiled(tenant):
    account = tenant.account
    plain = SubAccount.objects.for_account(account)
    assert CompiledList._compile(plain, account.pk) is not None
    refused = [
        plain.filter(login_id="x"),  # a second parameter
        SubAccount.objects.filter(login_id="x"),  # no account id at all
        plain.select_related("account"),
        plain.prefetch_related("groups"),
        plain.annotate(n=models.Count("groups")),
        plain.values("login_id"),
        plain.select_for_update(),
        plain[:5],
        plain.none(),
        account.sub_accounts.all(),  # rows that carry a known related object
    ]
    for queryset in refused:
        assert CompiledList._compile(queryset, account.pk) is None, refused.index(queryset)
    assert CompiledList._compile(plain, account.pk + 1) is None


@pytest.mark.django_db
def test_a_view_without_a_class_queryset_pages_through_the_orm(api, tenant, monkeypatch):
    _subs(tenant, 2)
    monkeypatch.setattr(SubAccountViewSet, "queryset", None)
    monkeypatch.setattr(SubAccountViewSet, "get_queryset", lambda self: SubAccount.objects.for_account(self.account))
    body = api.call("GET", URL, creds=tenant.root).json()
    assert [i["loginId"] for i in body["items"]] == ["user00", "user01"]
