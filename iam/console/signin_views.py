"""The sign-in pages at /signin/<alias>/: login ID and password, then the MFA code or its enrolment, then a forced
password change, each a stage of one pending console session. The rules are in iam.services.signin."""

import segno
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from iam.console.session import clear_cookie, current_session, pending_url, set_cookie
from iam.errors import InvalidInput
from iam.gateway.authentication import client_ip
from iam.models import ConsoleSession
from iam.services import signin


def _account(alias: str):
    account = signin.sign_in_account(alias)
    if account is None:
        raise Http404("no sign-in page here")
    return account


def _after(alias: str, step: signin.SignInStep):
    """Where a sign-in step leads: the next stage's page, or the console."""
    response = HttpResponseRedirect(pending_url(step.session))
    set_cookie(response, step)
    return response


def _pending(request, alias: str, stage: str):
    """The pending session of this account at ``stage``, or None."""
    account = _account(alias)
    session = current_session(request)
    if session is None or session.sub_account.account_id != account.pk or session.stage != stage:
        return account, None
    return account, session


def _restart(alias: str):
    response = HttpResponseRedirect(f"/signin/{alias}/")
    clear_cookie(response)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def choose_account(request):
    """/signin/: asks for the account's alias (where a console page sends a browser with no session)."""
    alias = (request.GET.get("alias") or "").strip().lower()
    if alias and signin.sign_in_account(alias) is not None:
        return HttpResponseRedirect(f"/signin/{alias}/")
    return render(request, "console/choose_account.html", {"alias": alias, "unknown": bool(alias)})


@never_cache
@require_http_methods(["GET", "POST"])
def password_step(request, alias: str):
    account = _account(alias)
    context = {"account": account, "alias": alias, "login_id": ""}
    if request.method == "POST":
        login_id = request.POST.get("login_id", "")
        try:
            step = signin.sign_in_password(
                account=account, login_id=login_id, password=request.POST.get("password", ""), ip=client_ip(request)
            )
        except signin.SignInRefused as refused:
            context.update(error=refused.message, login_id=login_id[:60])
            return render(request, "console/signin.html", context, status=401)
        return _after(alias, step)
    return render(request, "console/signin.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def mfa_step(request, alias: str):
    account, session = _pending(request, alias, ConsoleSession.MFA)
    if session is None:
        return _restart(alias)
    context = {"account": account, "alias": alias, "sub_account": session.sub_account}
    if request.method == "POST":
        try:
            step = signin.sign_in_mfa(session=session, code=request.POST.get("code", ""), ip=client_ip(request))
        except signin.SignInRefused as refused:
            context["error"] = refused.message
            return render(request, "console/mfa.html", context, status=401)
        return _after(alias, step)
    return render(request, "console/mfa.html", context)


def qr_svg(uri: str) -> str:
    """The enrolment URI as an inline SVG QR code (no image file, no script)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff")


def enrolment_context(session: ConsoleSession) -> dict:
    secret = signin.mfa_enrolment_secret(session=session)
    uri = signin.mfa_provisioning_uri(session.sub_account, secret)
    return {"secret": secret, "qr": mark_safe(qr_svg(uri)), "sub_account": session.sub_account}  # noqa: S308 - segno's SVG


@never_cache
@require_http_methods(["GET", "POST"])
def mfa_enrol_step(request, alias: str):
    account, session = _pending(request, alias, ConsoleSession.MFA_ENROL)
    if session is None:
        return _restart(alias)
    context = {"account": account, "alias": alias, **enrolment_context(session)}
    if request.method == "POST":
        try:
            step = signin.mfa_enrol(session=session, code=request.POST.get("code", ""), ip=client_ip(request))
        except signin.SignInRefused as refused:
            context["error"] = refused.message
            return render(request, "console/mfa_enrol.html", context, status=400)
        return _after(alias, step)
    return render(request, "console/mfa_enrol.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def password_change_step(request, alias: str):
    account, session = _pending(request, alias, ConsoleSession.PASSWORD_CHANGE)
    if session is None:
        return _restart(alias)
    sub_account = session.sub_account
    context = {
        "account": account,
        "alias": alias,
        "sub_account": sub_account,
        "expired": not sub_account.need_password_reset,
        "min_length": account.password_min_length,
    }
    if request.method == "POST":
        try:
            step = signin.password_change(
                session=session,
                current_password=request.POST.get("current_password", ""),
                new_password=_confirmed(request),
                ip=client_ip(request),
            )
        except InvalidInput as exc:
            context["errors"] = exc.field_errors
            return render(request, "console/password_change.html", context, status=400)
        return _after(alias, step)
    return render(request, "console/password_change.html", context)


def _confirmed(request) -> str:
    new = request.POST.get("new_password", "")
    if new != request.POST.get("new_password_again", ""):
        raise InvalidInput.field("newPasswordAgain", "does not match the new password")
    return new
