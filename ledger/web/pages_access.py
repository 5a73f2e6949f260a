"""Guest and login pages (seeds 002, 003): the invitation's set-password page and its Confirm email, login,
logout, forgot password with a one-hour single-use link, and changing the password on My account."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from litestar import get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from ledger.errors import LedgerError
from ledger.personal.vault import ERASED
from ledger.views import AccountView
from ledger.web.auth import LoginRefused, password_problem
from ledger.web.portal import SESSION_COOKIE, PortalRequest, customer, logged_in, not_theirs, page, portal_of

#: Seed 002 for invitations (72 h); the reset link lives one hour, the Confirm link as long as an invitation.
RESET_VALID = 3600.0
CONFIRM_VALID = 72 * 3600.0


def _safe_next(target: str | None) -> str:
    """Where to go after login: only a page of the portal (never another site)."""
    if target and target.startswith("/portal/") and not target.startswith("//"):
        return target
    return "/portal/"


def _invitation_action(token: str, account: str) -> str:
    return f"/portal/invitation/{quote(token, safe='')}?{urlencode({'account': account})}"


def _with_session(request: PortalRequest, response: Redirect, raw: str | None) -> Redirect:
    secure = request.url.scheme == "https" or portal_of(request).base_url.startswith("https:")
    if raw is None:
        response.delete_cookie(SESSION_COOKIE, path="/")
    else:
        response.set_cookie(SESSION_COOKIE, raw, path="/", httponly=True, samesite="lax", secure=secure)
    return response


@get("/portal/login", name="login")
async def login_form(request: PortalRequest, next: FromQuery[str | None] = None,
                     done: FromQuery[str | None] = None) -> Template:
    """The login form (email and password)."""
    return page("login", request, next=_safe_next(next), done=done)


@post("/portal/login")
async def login(request: PortalRequest) -> Template | Redirect:
    """Log in: same answer for an unknown email and a wrong password; a new session id each time (rotated)."""
    portal = portal_of(request)
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    address = request.client.host if request.client else "unknown"
    try:
        found = await portal.auth.log_in(email, password, address)
    except LoginRefused as refused:
        if refused.unconfirmed is not None:
            await _send_confirmation(request, refused.unconfirmed.account, refused.unconfirmed.email, "")
        headers = {"Retry-After": str(int(refused.retry_after) + 1)} if refused.retry_after else {}
        status = 429 if refused.retry_after else 400
        response = page("login", request, status, error=refused.message, email=email, next=target)
        response.headers.update(headers)
        return response
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        portal.store.close_session(old)
    raw = portal.store.open_session(found)
    return _with_session(request, Redirect(target, status_code=303), raw)


@post("/portal/logout", guards=[logged_in])
async def logout(request: PortalRequest) -> Template | Redirect:
    """End this browser's session."""
    portal_of(request).store.close_session(request.cookies.get(SESSION_COOKIE, ""))
    return _with_session(request, Redirect("/portal/login?done=logged_out", status_code=303), None)


@get("/portal/forgot")
async def forgot_form(request: PortalRequest) -> Template:
    """Forgot password: ask for the login's email."""
    return page("forgot", request)


@post("/portal/forgot")
async def forgot(request: PortalRequest) -> Template:
    """Email a one-hour, single-use reset link if the email has a login; the same answer either way."""
    portal = portal_of(request)
    email = str((await request.form()).get("email", "")).strip()
    found = portal.store.login_by_email(email) if email else None
    if found is not None and found.confirmed:
        await portal.client.command("account.record_reset_request", found.account, {}, actor=found.login_id)
        raw = portal.store.issue_link("reset", found.account, RESET_VALID)
        await portal.send(found.account, found.email, "password_reset", link=portal.link(f"reset/{raw}"))
    return page("message", request, title="Check your email",
                message="If this email has a portal login, a link to reset its password is on its way. "
                        "It works once, for one hour.")


@get("/portal/reset/{token:str}")
async def reset_form(request: PortalRequest, token: FromPath[str]) -> Template:
    """Choose a new password with a reset link (or learn it has expired)."""
    if portal_of(request).store.link_account("reset", token) is None:
        return page("message", request, 410, title="This link has expired",
                    message="Reset links work once, for one hour.", action=("/portal/forgot", "Send me a new link"))
    return page("password_new", request, action=f"/portal/reset/{token}", title="Choose a new password")


@post("/portal/reset/{token:str}")
async def reset(request: PortalRequest, token: FromPath[str]) -> Template | Redirect:
    """Set the new password, spend the link, log out every browser, record the fact in the ledger."""
    portal = portal_of(request)
    form = await request.form()
    password, confirm = str(form.get("password", "")), str(form.get("confirm", ""))
    problem = password_problem(password, confirm)
    if problem:
        return page("password_new", request, 400, action=f"/portal/reset/{token}", title="Choose a new password",
                    error=problem)
    account = portal.store.use_link("reset", token)
    found = portal.store.login_of(account) if account else None
    if found is None:
        return page("message", request, 410, title="This link has expired",
                    message="Reset links work once, for one hour.", action=("/portal/forgot", "Send me a new link"))
    portal.store.set_password(found.account, await portal.auth.hash(password))
    portal.store.close_sessions(found.account)
    await portal.client.command("account.record_password_change", found.account, {"how": "reset"},
                                actor=found.login_id)
    return Redirect("/portal/login?done=password_reset", status_code=303)


@get("/portal/invitation/{token:str}")
async def invitation_form(request: PortalRequest,
                          token: FromPath[str], account: FromQuery[str] = "") -> Template:
    """Seed 002: the invitation link opens the set-password page (or says it has expired)."""
    view = await _invited(request, account)
    status = view.portal
    if status == "accepted":
        return page("message", request, title="Already registered", message="This login is set up: log in.",
                    action=("/portal/login", "Log in"))
    if status == "expired":
        return page("invitation_expired", request, 410, token=token, account=account)
    return page("password_new", request, action=_invitation_action(token, account),
                title="Register for the customer portal", email=view.email)


@post("/portal/invitation/{token:str}")
async def accept_invitation(request: PortalRequest,
                            token: FromPath[str], account: FromQuery[str] = "") -> Template:
    """Set the password: the ledger accepts the invitation (72 h, single use), then the Confirm email goes out."""
    portal = portal_of(request)
    form = await request.form()
    password, confirm = str(form.get("password", "")), str(form.get("confirm", ""))
    action = _invitation_action(token, account)
    problem = password_problem(password, confirm)
    if problem:
        return page("password_new", request, 400, action=action, title="Register for the customer portal",
                    error=problem)
    view = await _invited(request, account)
    if view.portal == "accepted" or portal.store.login_of(account) is not None:
        return page("message", request, 400, title="Already registered", message="This login is set up: log in.",
                    action=("/portal/login", "Log in"))
    login = portal.store.register(account, view.email, await portal.auth.hash(password))
    try:
        await portal.client.command("account.accept_invite", account, {"token": token}, actor=login.login_id)
    except LedgerError as refused:
        portal.store.forget(account)
        if refused.code == "invitation_expired":
            return page("invitation_expired", request, 410, token=token, account=account)
        return page("message", request, 400, title="This link cannot be used", message=refused.message,
                    action=("/portal/login", "Log in"))
    await _send_confirmation(request, account, view.email, view.name)
    return page("message", request, title="Check your email",
                message="Your password is set. Click Confirm in the email we just sent you, then log in.")


async def _invited(request: PortalRequest, account: str) -> AccountView:
    """The account an invitation link names (404 for one the ledger does not know, or forgot: its invitation
    can register no login)."""
    try:
        view = await portal_of(request).client.account(account)
    except LedgerError as error:
        not_theirs(error)
        raise NotFoundException("not found") from None
    if view.email == ERASED:
        raise NotFoundException("not found")
    return view


async def _send_confirmation(request: PortalRequest, account: str, email: str, name: str) -> None:
    """Seed 002's confirmation email, with a Confirm link (single use, 72 hours)."""
    portal = portal_of(request)
    raw = portal.store.issue_link("confirm", account, CONFIRM_VALID)
    await portal.send(account, email, "portal_confirm", name=name or account, link=portal.link(f"confirm/{raw}"),
                      login=portal.link("login"))


@post("/portal/invitation/{token:str}/renew")
async def renew_invitation(request: PortalRequest,
                           token: FromPath[str], account: FromQuery[str] = "") -> Template:
    """Send me a new invitation: the expired link's holder gets a fresh one by email."""
    try:
        await portal_of(request).client.command("account.renew_invite", account, {"token": token}, actor="invitee")
    except LedgerError as refused:
        return page("message", request, 400, title="No new invitation", message=refused.message)
    return page("message", request, title="A new invitation is on its way",
                message="Check your email: the new link is valid for 72 hours.")


@get("/portal/confirm/{token:str}")
async def confirm_form(request: PortalRequest, token: FromPath[str]) -> Template:
    """Seed 002: "Click Confirm in the confirmation email received" (a button, so link scanners confirm nothing)."""
    if portal_of(request).store.link_account("confirm", token) is None:
        raise NotFoundException("not found")
    return page("confirm", request, token=token)


@post("/portal/confirm/{token:str}")
async def confirm(request: PortalRequest, token: FromPath[str]) -> Template | Redirect:
    """Confirm the login; then the customer logs in."""
    store = portal_of(request).store
    account = store.use_link("confirm", token)
    if account is None:
        raise NotFoundException("not found")
    store.confirm(account)
    return Redirect("/portal/login?done=confirmed", status_code=303)


@get("/portal/password", guards=[logged_in])
async def password_form(request: PortalRequest) -> Template:
    """Change password (My account): the current one, then the new one twice."""
    return page("password_change", request)


@post("/portal/password", guards=[logged_in])
async def change_password(request: PortalRequest) -> Template | Redirect:
    """Check the current password, store the new hash, record the fact in the ledger."""
    portal, session = portal_of(request), customer(request)
    form = await request.form()
    current, password = str(form.get("current", "")), str(form.get("password", ""))
    found = portal.store.login_of(session.account)
    if found is None or not await portal.auth.check_password(found, current):
        return page("password_change", request, 400, error="The current password is not right.")
    problem = password_problem(password, str(form.get("confirm", "")))
    if problem:
        return page("password_change", request, 400, error=problem)
    portal.store.set_password(session.account, await portal.auth.hash(password))
    await portal.client.command("account.record_password_change", session.account, {"how": "changed"},
                                actor=session.login_id)
    return Redirect("/portal/account?done=password_changed", status_code=303)


ROUTES = [login_form, login, logout, forgot_form, forgot, reset_form, reset, invitation_form, accept_invitation,
          renew_invitation, confirm_form, confirm, password_form, change_password]
