"""The console's session cookie and principal: who is signed in, as whom they act (the sub account, or the Account
role they switched into), and the engine's decision on a catalog action, exactly as the API decides it."""

from functools import wraps

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils.cache import add_never_cache_headers

from iam import audit
from iam.gateway.authentication import client_ip
from iam.gateway.authz import Decision, get_authorizer
from iam.gateway.principals import Principal, role_session_principal, sub_account_principal
from iam.models import AuditEvent, ConsoleSession
from iam.policy import catalog
from iam.policy.request import Request
from iam.services.signin import SignInStep, session_for_token
from sts.services import SUB_ACCOUNT_SOURCE


def form_text(request, name: str, max_length: int = 100) -> str:
    """A posted value fit to look rows up by ("" for one too long or with a NUL, which no row can hold)."""
    value = request.POST.get(name, "")
    return value if len(value) <= max_length and "\x00" not in value else ""


def set_cookie(response, step: SignInStep) -> None:
    """Hand the browser a new session token (only the hash is stored)."""
    if step.token:
        response.set_cookie(
            settings.IAM_CONSOLE_SESSION_COOKIE,
            step.token,
            httponly=True,
            secure=settings.SESSION_COOKIE_SECURE,
            samesite="Lax",
        )


def clear_cookie(response) -> None:
    response.delete_cookie(settings.IAM_CONSOLE_SESSION_COOKIE, samesite="Lax")


PENDING_PAGES = {
    ConsoleSession.MFA: "mfa",
    ConsoleSession.MFA_ENROL: "mfa/enrol",
    ConsoleSession.PASSWORD_CHANGE: "password",
}


def pending_url(session: ConsoleSession) -> str:
    """The sign-in page of a session's current stage."""
    alias = session.sub_account.account.sign_in_alias
    if session.stage == ConsoleSession.ACTIVE:
        return "/console/"
    return f"/signin/{alias}/{PENDING_PAGES[session.stage]}"


def current_session(request) -> ConsoleSession | None:
    return session_for_token(request.COOKIES.get(settings.IAM_CONSOLE_SESSION_COOKIE), ip=client_ip(request))


def principal_of(session: ConsoleSession, ip: str) -> Principal:
    """The signed-in sub account, or while switched the role session it took on (sourceIdentity: the sub account)."""
    sub_account = session.sub_account
    account = sub_account.account
    facts = {"source_ip": ip, "mfa_present": session.mfa_present}
    if session.role is not None:
        return role_session_principal(
            session.role,
            account,
            source_identity_type=SUB_ACCOUNT_SOURCE,
            source_identity_id=str(sub_account.sub_account_id),
            sub_account_no=sub_account.sub_account_no,
            **facts,
        )
    return sub_account_principal(sub_account, account, **facts)


def console_view(view):
    """A console page: needs an active session (else back to the account's sign-in page); sets request.console
    (the session), request.principal and the audit actor for the page's work."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        session = current_session(request)
        if session is None:
            response = HttpResponseRedirect("/signin/")
            clear_cookie(response)
            return response
        if session.stage != ConsoleSession.ACTIVE:  # a sign-in still under way: back to its step
            return HttpResponseRedirect(pending_url(session))
        ip = client_ip(request)
        request.console = session
        request.principal = principal_of(session, ip)
        with audit.acting_as(audit.Actor(request.principal.nrn, request.principal.principal_type, ip)):
            response = view(request, *args, **kwargs)
        add_never_cache_headers(response)  # a page may show a new secret (an access key, an MFA key)
        return response

    return wrapper


def authorize(request, action: str, resource: str | None = None) -> Decision:
    """The engine's decision for the console's principal on one Sub Account action; a denial is audited as the
    gateway audits one."""
    decision = get_authorizer().authorize(request.principal, [Request(catalog.SUB_ACCOUNT, action, resource)])
    if not decision.allowed:
        audit.record(
            account_id=request.principal.account_id,
            action=f"{catalog.SUB_ACCOUNT}:{action}",
            resource=resource or "*",
            result=AuditEvent.DENIED,
            detail={"reason": decision.reason, "method": request.method, "path": request.path},
        )
    return decision
