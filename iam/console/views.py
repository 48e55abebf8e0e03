"""The sub-account console at /console/: my permissions, change password, MFA, my access keys, switching into an
Account role and back, signing out. Every page acts as the signed-in principal (the sub account, or the role it
switched into) and every catalog action is decided by the engine as the API decides it."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iam import audit
from iam.console.session import authorize, clear_cookie, console_view, form_text
from iam.console.signin_views import qr_svg
from iam.errors import ServiceError
from iam.gateway.authentication import client_ip
from iam.gateway.authz import get_authorizer
from iam.models import AccessKey, AuditEvent, Role
from iam.policy import catalog
from iam.policy.request import Request
from iam.selectors import principal_policies
from iam.services import signin
from iam.services import sub_accounts as sub_account_services
from iam.services.simulation import resources_named, simulate, subject_for_role, subject_for_sub_account

SA = catalog.SUB_ACCOUNT


def _page(request, template: str, context: dict | None = None, status: int = 200):
    session = request.console
    base = {"session": session, "sub_account": session.sub_account, "account": session.sub_account.account}
    base["role"] = session.role
    base["principal"] = request.principal
    return render(request, f"console/{template}", {**base, **(context or {})}, status=status)


def _record(request, action: str, resource: str, result: str = AuditEvent.SUCCESS, **detail) -> None:
    audit.record(
        account_id=request.principal.account_id,
        action=f"{SA}:{action}",
        resource=resource,
        result=result,
        detail={"method": request.method, "path": request.path, **detail},
    )


@require_GET
@console_view
def home(request):
    return _page(request, "home.html")


@require_GET
@console_view
def permissions(request):
    """What the current principal may do: every Sub Account action on '*', and one action on one resource."""
    session = request.console
    if session.role is not None:
        subject = subject_for_role(role=session.role)
    else:
        subject = subject_for_sub_account(account=session.sub_account.account, sub_account=session.sub_account)
    subject.base_context["ncp:MultiFactorAuthPresent"] = session.mfa_present
    actions = [(SA, a.name) for a in catalog.actions_for(SA)]
    table = simulate(subject=subject, actions=actions, resources=["*"], context={})
    named = resources_named(subject=subject, product=SA)
    for row in table:
        row["named"] = [] if row["decision"] == "allowed" else [r for r in named.get(row["action"], []) if r != "*"]
    checked = None
    action = request.GET.get("action", "").strip()
    resource = request.GET.get("resource", "").strip() or "*"
    if action:
        if catalog.is_known_action(SA, action):
            checked = simulate(subject=subject, actions=[(SA, action)], resources=[resource[:400]], context={})[0]
        else:
            messages.error(request, f"{action} is not a Sub Account action")
    policies = [policy_id for policy_id, _ in principal_policies(request.principal)]
    context = {
        "table": table,
        "allowed_count": sum(1 for r in table if r["decision"] == "allowed"),
        "checked": checked,
        "action": action,
        "resource": resource,
        "action_names": [a for _, a in actions],
        "policy_ids": policies,
    }
    return _page(request, "permissions.html", context)


@require_http_methods(["GET", "POST"])
@console_view
def password(request):
    """Change my own password (the current one first)."""
    context = {"min_length": request.console.sub_account.account.password_min_length}
    if request.method == "POST":
        new = request.POST.get("new_password", "")
        if new != request.POST.get("new_password_again", ""):
            context["errors"] = [("newPasswordAgain", "does not match the new password")]
            return _page(request, "password.html", context, status=400)
        try:
            signin.password_change(
                session=request.console,
                current_password=request.POST.get("current_password", ""),
                new_password=new,
                ip=client_ip(request),
            )
        except ServiceError as exc:
            context["errors"] = exc.field_errors
            return _page(request, "password.html", context, status=400)
        messages.success(request, "Your password is changed.")
        return HttpResponseRedirect("/console/")
    return _page(request, "password.html", context)


@require_http_methods(["GET", "POST"])
@console_view
def mfa(request):
    """Enrol an MFA device, or replace the one I have: scan the code, confirm with a code it shows."""
    session = request.console
    context = {}
    if request.method == "POST" and request.POST.get("step") == "confirm":
        try:
            signin.mfa_enrol(session=session, code=request.POST.get("code", ""), ip=client_ip(request))
        except signin.SignInRefused as refused:
            context["error"] = refused.message
        else:
            messages.success(request, "Your MFA device is registered.")
            return HttpResponseRedirect("/console/")
    if request.method == "POST" or context.get("error"):
        secret = signin.mfa_enrolment_secret(session=session)
        uri = signin.mfa_provisioning_uri(session.sub_account, secret)
        context.update(secret=secret, qr=mark_safe(qr_svg(uri)))  # noqa: S308 - segno's SVG of our own URI
    return _page(request, "mfa_manage.html", context, status=400 if context.get("error") else 200)


@require_http_methods(["GET", "POST"])
@console_view
def access_keys(request):
    """My own access keys: create, rotate (a new key replaces one) and delete, each allowed by my policies."""
    sub_account = request.console.sub_account
    resource = sub_account.nrn
    new_secret = None
    status = 200
    if request.method == "POST":
        operation = request.POST.get("operation")
        needed = {
            "create": ["Change/createSubAccountAccessKey"],
            "rotate": ["Change/deleteSubAccountAccessKey", "Change/createSubAccountAccessKey"],
            "delete": ["Change/deleteSubAccountAccessKey"],
        }.get(operation)
        denied = None
        for action in needed or []:
            if not authorize(request, action, resource).allowed:
                denied = action
                break
        if needed is None:
            messages.error(request, "Unknown operation")
            status = 400
        elif denied:
            messages.error(request, f"Permission denied: {SA}:{denied} on your sub account")
            status = 403
        else:
            try:
                new_secret = _change_keys(request, operation, sub_account, resource)
            except ServiceError as exc:
                messages.error(request, exc.message)
                status = 400
    listed = authorize(request, "View/getSubAccountAccessKey", resource).allowed
    keys = list(AccessKey.objects.filter(sub_account=sub_account, kind=AccessKey.SUB_ACCOUNT)) if listed else []
    context = {"keys": keys, "listed": listed, "new_key": new_secret}
    return _page(request, "access_keys.html", context, status=status)


def _change_keys(request, operation: str, sub_account, resource: str):
    """Apply one key operation; returns (access key, secret) of a new key, shown once."""
    with transaction.atomic():
        if operation in ("rotate", "delete"):
            old = form_text(request, "access_key", 64)
            sub_account_services.access_key_delete(sub_account=sub_account, access_key=old)
            _record(request, "Change/deleteSubAccountAccessKey", resource, accessKey=old)
        if operation in ("create", "rotate"):
            key, secret = sub_account_services.access_key_create(sub_account=sub_account)
            _record(request, "Change/createSubAccountAccessKey", resource, accessKey=key.access_key, secret="issued")
            return key.access_key, secret
    return None


@require_http_methods(["GET", "POST"])
@console_view
def roles(request):
    """The Account roles of my account I may switch into (Change/switchRole on the role, decided for me, not for a
    role I am in), switching into one and back."""
    session = request.console
    if request.method == "POST":
        if request.POST.get("operation") == "return":
            signin.role_switch_back(session=session, ip=client_ip(request))
            messages.success(request, "Back to your own permissions.")
            return HttpResponseRedirect("/console/")
        if session.role is not None:
            messages.error(request, "Return to your sub account before switching to another role.")
            return HttpResponseRedirect("/console/roles")
        role = (
            Role.objects.for_account(session.sub_account.account)
            .filter(role_no=form_text(request, "role_no", 40))
            .first()
        )
        if role is None or not authorize(request, "Change/switchRole", role.nrn).allowed:
            messages.error(request, "You may not switch to that role.")
            return HttpResponseRedirect("/console/roles")
        try:
            signin.role_switch(session=session, role=role, ip=client_ip(request))
        except ServiceError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect("/console/roles")
        messages.success(request, f"You act as the role {role.name}.")
        return HttpResponseRedirect("/console/")
    candidates = []
    if session.role is None:
        account_roles = Role.objects.for_account(session.sub_account.account).filter(role_type=Role.ACCOUNT)
        for role in account_roles.order_by("name"):
            role.account = session.sub_account.account
            candidates.append({"role": role, "allowed": role.active and authorize_quietly(request, role.nrn)})
    return _page(request, "roles.html", {"candidates": candidates})


def authorize_quietly(request, role_nrn: str) -> bool:
    """Whether the list may offer a role (a listing is no attempt: nothing is audited)."""
    return get_authorizer().authorize(request.principal, [Request(SA, "Change/switchRole", role_nrn)]).allowed


@require_POST
@console_view
def sign_out(request):
    alias = request.console.sub_account.account.sign_in_alias
    signin.sign_out(session=request.console, ip=client_ip(request))
    response = HttpResponseRedirect(f"/signin/{alias}/")
    clear_cookie(response)
    return response
