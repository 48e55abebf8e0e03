"""The admin site of the product: its name, a dashboard of each main account's usage against the limits, and
"View site" leading to the API documentation. (A module of its own, outside ``iam.admin``: Django builds the site
from ``IamAdminConfig.default_site`` before it imports the admin modules that register on it.)"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

PRODUCT = "IAM: Sub Account, STS and External Access"
DASHBOARD_ACCOUNTS = 100
# A count at or above this share of its limit is flagged on the dashboard.
NEAR_LIMIT = 0.8


@dataclass(frozen=True)
class Usage:
    """One count of a main account against its limit."""

    label: str
    count: int
    limit: int

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.count / self.limit)) if self.limit else 0

    @property
    def near_limit(self) -> bool:
        return bool(self.limit) and self.count >= NEAR_LIMIT * self.limit


def _count_of(model, related: str = "account"):
    rows = model.objects.filter(**{related: OuterRef("pk")}).order_by().values(related)
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()), 0)


def account_usage(limit: int = DASHBOARD_ACCOUNTS) -> tuple[list[dict], int]:
    """Each main account (the first ``limit`` by memberNo) with its sub accounts, groups, user policies and roles
    against the limits; and how many accounts there are. One query for the rows, one for the total."""
    from iam.models import Account, Group, Role, SubAccount

    accounts = Account.objects.annotate(
        sub_account_total=_count_of(SubAccount), group_total=_count_of(Group), role_total=_count_of(Role)
    ).order_by("member_no")[:limit]
    rows = [
        {
            "account": account,
            "usage": [
                Usage("Sub accounts", account.sub_account_total, settings.IAM_MAX_SUB_ACCOUNTS),
                Usage("Groups", account.group_total, settings.IAM_MAX_GROUPS),
                # The counter the 500-policy limit is enforced on (the reconcile job repairs any drift).
                Usage("Policies", account.policy_count, settings.IAM_MAX_POLICIES),
                Usage("Roles", account.role_total, settings.IAM_MAX_ROLES),
            ],
        }
        for account in accounts
    ]
    return rows, Account.objects.count()


class IamAdminSite(admin.AdminSite):
    """The staff admin, named after the product, with the usage dashboard as its index."""

    site_header = f"{PRODUCT} administration"
    site_title = "IAM admin"
    index_title = "Dashboard"
    site_url = "/api/docs/"
    index_template = "admin/iam/index.html"
    # The index lists every model; without the side bar on every page the lists keep their width (1,400 px).
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        rows, total = account_usage()
        context = {
            "usage_rows": rows,
            "usage_total": total,
            "usage_shown": len(rows),
            "usage_headers": [u.label for u in rows[0]["usage"]] if rows else [],
            **(extra_context or {}),
        }
        return super().index(request, context)

    def get_app_list(self, request, app_label=None):
        # Django's own users and groups are staff sign-ins, not the Sub Account groups: say so, so that the index does
        # not show two "Groups".
        apps = super().get_app_list(request, app_label)
        for app in apps:
            if app["app_label"] == "axes":
                app["name"] = "Admin sign-in lockouts"
            elif app["app_label"] == "iam":
                for model in app["models"]:
                    if model["object_name"] == "Account":
                        model["name"] = "Main accounts"
            elif app["app_label"] == "auth":
                app["name"] = "Staff (admin sign-in)"
                for model in app["models"]:
                    if model["object_name"] == "Group":
                        model["name"] = "Staff groups"
                    elif model["object_name"] == "User":
                        model["name"] = "Staff users"
        return apps
