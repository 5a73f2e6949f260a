"""The customer portal as a Litestar app: server-rendered pages (Jinja2, autoescaped), one stylesheet, CSRF on
every form (a hidden ``_csrf_token`` field), guests sent to the login page, 404 for anything not theirs."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from urllib.parse import urlencode

import structlog
from litestar import Litestar, MediaType, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from ledger.ports.clock import local_words
from ledger.web import pages_access, pages_account, pages_cart, pages_pay
from ledger.web.ledger_client import LedgerUnavailable
from ledger.web.portal import Portal, PortalRequest, page

HERE = Path(__file__).parent
log = structlog.get_logger("ledger.web")


@get("/healthz", media_type=MediaType.TEXT)
async def healthz() -> str:
    """Liveness: the web app answers (it does not ask the ledger)."""
    return "ok"


@get("/")
async def root() -> Redirect:
    """The portal lives under /portal/."""
    return Redirect("/portal/")


@get("/portal/static-check", media_type=MediaType.HTML, include_in_schema=False)
async def static_page() -> str:
    """A fixed page served by the same app, the baseline of the portal's speed benchmark."""
    return "<!doctype html><title>ok</title><p>ok</p>"


def to_login(request: PortalRequest, _: NotAuthorizedException) -> Redirect:
    """A guest asking for a customer page goes to the login page, and back there after logging in."""
    return Redirect(f"/portal/login?{urlencode({'next': request.url.path})}", status_code=303)


def not_found(request: PortalRequest, _: NotFoundException) -> Template:
    """404 page (the same for another account's id and an id that does not exist)."""
    return page("message", request, 404, title="Not found", message="There is nothing here.",
                action=("/portal/", "Back to your account"))


def forbidden(request: PortalRequest, _: PermissionDeniedException) -> Template:
    """403: a form sent without its CSRF token (an old page, or another site)."""
    return page("message", request, 403, title="This form has expired",
                message="Go back, reload the page and send it again.")


def unavailable(request: PortalRequest, _: LedgerUnavailable) -> Template:
    """503: the ledger did not answer."""
    return page("message", request, 503, title="Please try again",
                message="Your account cannot be reached just now. Nothing was changed.")


def internal(request: PortalRequest, error: Exception) -> Template:
    """500: logged with its traceback and a reference the page repeats (never the request's body, nor its path: a
    link's raw token is a part of it, ``/portal/cart/{raw}``; the route's template is logged)."""
    if isinstance(error, HTTPException) and error.status_code < 500:
        return page("message", request, error.status_code, title="Cannot do that", message=str(error.detail))
    reference = uuid.uuid4().hex[:12]
    log.error("portal_request_failed", path=request.scope.get("path_template") or "?", reference=reference,
              error=repr(error), exc_info=error)
    return page("message", request, 500, title="Something went wrong",
                message=f"Nothing more was done. If it happens again, quote reference {reference}.")


def build_app(portal: Portal, *, csrf_secret: str | None = None, secure_cookies: bool = False) -> Litestar:
    """The portal app over ``portal``'s ledger client, credentials store and mailer."""
    config = TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine,
                            engine_callback=lambda e: _filters(e, portal))
    return Litestar(
        logging_config=None,  # its records go through the ledger's JSON lines (ledger.logs), as every line does
        route_handlers=[healthz, root, static_page, *pages_access.ROUTES, *pages_account.ROUTES, *pages_pay.ROUTES,
                        *pages_cart.ROUTES, create_static_files_router("/portal/static", [HERE / "static"])],
        template_config=config,
        csrf_config=CSRFConfig(secret=csrf_secret or secrets.token_urlsafe(32), cookie_httponly=True,
                               cookie_secure=secure_cookies, cookie_samesite="lax"),
        exception_handlers={NotAuthorizedException: to_login, NotFoundException: not_found,
                            PermissionDeniedException: forbidden, LedgerUnavailable: unavailable,
                            Exception: internal},
        state=State({"portal": portal}),
        openapi_config=None,
        on_shutdown=[portal.client.close],
    )


def _filters(engine: JinjaTemplateEngine, portal: Portal) -> None:
    env = engine.engine
    env.filters["when"] = lambda value: local_words(value, portal.zone)
    env.filters["day"] = lambda value: local_words(value, portal.zone, with_time=False)
    env.filters["money"] = lambda value, currency="": f"{value} {currency}".strip()
    env.filters["label"] = lambda value: str(value).replace("_", " ").capitalize()
