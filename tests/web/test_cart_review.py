"""Review of the cart page (seed 004): an error logs no raw token, a checkout needs its CSRF token and holds the
amount the page showed, login never leaves the portal."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import pytest

from ledger.commands import messages as m
from ledger.web import app
from tests.web.conftest import Site, register
from tests.web.test_cart import form_of, price_rose

pytestmark = pytest.mark.nats


class Lines:
    """A logger that keeps what it is given."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def error(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


async def test_a_failing_cart_page_logs_no_raw_token(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    link = price_rose(site)
    raw = unquote(urlsplit(link).path.rsplit("/", 1)[-1])
    await site.log_in()
    logged = Lines()
    monkeypatch.setattr(app, "log", logged)

    async def broken(account: str) -> Any:
        raise RuntimeError("the read failed")

    monkeypatch.setattr(site.portal.client, "account", broken)
    shown = await site.client.get(link)
    assert shown.status_code == 500
    [(event, fields)] = logged.lines
    assert (event, fields["path"]) == ("portal_request_failed", "/portal/cart/{raw}")
    assert raw not in repr(logged.lines)


async def test_a_checkout_without_its_csrf_token_is_refused_and_holds_nothing(site: Site) -> None:
    link = price_rose(site)
    await site.log_in()
    path = link.replace("?", "/checkout?", 1)
    posted = await site.client.post(path, data={"new_hold": "AUTH-X"})
    assert posted.status_code == 403
    assert [a.id for a in (await site.reader.account("ACC1")).authorizations] == ["AU1"]


async def test_the_login_page_never_sends_a_customer_off_the_portal(site: Site) -> None:
    await site.client.get("/portal/login")
    register(site)
    for target in ("https://evil.example/portal/", "//evil.example/portal/", "/portal/cart/x?next=//evil"):
        done = await site.submit(f"/portal/login?{urlencode({'next': target})}", "/portal/login", follow=False,
                                 email="ada@example.com", password="correct horse battery", next=target)
        assert done.status_code == 303 and done.headers["location"].startswith("/portal/"), target
        assert not done.headers["location"].startswith("//")


async def test_approve_holds_the_amount_the_page_showed_or_nothing(site: Site) -> None:
    link = price_rose(site)
    await site.log_in()
    shown = await site.client.get(link)
    assert "Approve 150.00 USD" in shown.text
    action, fields = form_of(shown)
    site.staff(m.ChangeOrderPrice(account="ACC1", order="O1", amount="200.00"))  # while the page is open
    posted = await site.client.post(action, data=fields)
    assert posted.status_code == 409 and "price of this order changed" in posted.text
    assert [a.id for a in (await site.reader.account("ACC1")).authorizations] == ["AU1"]
    again = await site.client.get(link)
    assert "Approve 200.00 USD" in again.text
    action, fields = form_of(again)
    done = await site.client.post(action, data=fields)
    assert done.status_code == 200 and "Your card is authorized for 200.00 USD" in done.text
