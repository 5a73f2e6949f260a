"""What every portal page shares: the ledger client, the credentials store, the mailer, the settings, and the
helpers that render a page, read the customer's session and answer 404 for what is not theirs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Never, TypeAlias
from zoneinfo import ZoneInfo

import structlog
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.response import Template
from pwdlib import PasswordHash

from ledger.errors import LedgerError
from ledger.personal.vault import ERASED
from ledger.ports.mailer import Email, Mailer
from ledger.web.auth import Authenticator
from ledger.web.credentials import CredentialStore, Session
from ledger.web.invoice_pdf import PdfDrawer
from ledger.web.ledger_client import LedgerClient, LedgerUnavailable
from workers.emails import render

SESSION_COOKIE = "portal_session"
log = structlog.get_logger("ledger.web")

#: A portal request and connection, with Litestar's type parameters (route handler, user, auth, state): the app
#: installs no authentication middleware, so there is never a ``user`` or ``auth`` (reading one raises); the
#: session is looked up in the credentials store by its cookie and kept on the request's plain ``State``.
PortalRequest: TypeAlias = Request[Never, Never, State]
PortalConnection: TypeAlias = ASGIConnection[HTTPRouteHandler, Never, Never, State]


@dataclass
class Portal:
    """The web app's dependencies, built once at start (``ledger.web.server``)."""

    client: LedgerClient
    store: CredentialStore
    mailer: Mailer
    zone: ZoneInfo
    base_url: str
    tokenizer_url: str
    exact: bool = False
    sender: str = "ledger@localhost"
    hasher: PasswordHash | None = None
    auth: Authenticator = field(init=False)
    pdfs: PdfDrawer = field(init=False)

    def __post_init__(self) -> None:
        self.auth = Authenticator(self.store, self.hasher)
        self.pdfs = PdfDrawer()

    def link(self, path: str) -> str:
        """An absolute link to a portal page, for emails."""
        return f"{self.base_url}/portal/{path}"

    async def send(self, account: str, to: str, template: str, **values: str) -> None:
        """Send one of the portal's own emails (confirmation, reset link: no amounts, so no currency) about
        ``account``, the one place they leave: never to a forgotten account (the ledger shows its email erased),
        whose login this portal's store then forgets too (a portal ``account forget`` did not reach: ``ledger
        web`` with a portal.db of its own)."""
        if (await self.client.account(account)).email == ERASED:
            log.info("email_not_sent_account_forgotten", account=account, template=template)
            self.store.erase(account)
            return
        subject, text, html = render(template, "", **values)
        await self.mailer.send(Email(to=to, subject=subject, text=text, html=html, sender=self.sender,
                                     message_id=f"portal-{uuid.uuid4().hex}"))


def portal_of(connection: PortalConnection) -> Portal:
    """The app's Portal (its dependencies)."""
    portal: Portal = connection.app.state.portal
    return portal


def session_of(connection: PortalConnection) -> Session | None:
    """The live session of the request's cookie, if any."""
    raw = connection.cookies.get(SESSION_COOKIE)
    return portal_of(connection).store.session(raw) if raw else None


def logged_in(connection: PortalConnection, _: BaseRouteHandler) -> None:
    """Guard of every customer page: a guest is sent to the login page (see ``app.to_login``)."""
    session = session_of(connection)
    if session is None:
        raise NotAuthorizedException("log in first")
    connection.state.session = session


def customer(request: PortalRequest) -> Session:
    """The session the guard found."""
    session: Session = request.state.session
    return session


def page(name: str, request: PortalRequest, status_code: int = 200, **context: object) -> Template:
    """Render ``templates/<name>.html`` with the customer (if any) and the business time zone's name; ``context``:
    the template's values (Structs, rows, strings), which Jinja reads by attribute whatever their type."""
    session = getattr(request.state, "session", None)
    return Template(template_name=f"{name}.html", status_code=status_code,
                    context={"customer": session, "zone": portal_of(request).zone.key, **context})


def not_theirs(error: LedgerError) -> None:
    """Answer 404 for anything the ledger does not find on the customer's own account (whatever the id), and 503
    when the ledger did not answer; any other refusal is the caller's to show."""
    if isinstance(error, LedgerUnavailable):
        raise error
    if error.code == "not_found":
        raise NotFoundException("not found") from None
