"""Approve Order Payment (seed 004) over HTTP: the cart email's link opens the cart page after login; approving
places the new hold (a new card through the tokenizer, or the hold's own); a declined card sends the order to
manual processing; pressing Approve twice authorizes once; another account's link is 404; a stale cart, a forged
token and an older link once a newer one was sent are the ledger's refusals and charge nothing; a session ended
before Approve logs in again and comes back to the cart."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from ledger.adapters.mailers import MemoryMailer
from ledger.aggregates.events.base import Event
from ledger.commands import messages as m
from ledger.ports.ids import account_uuid
from ledger.views import AuthorizationView
from ledger.web.credentials import SESSION_IDLE
from tests.web.conftest import Site, event_names, register
from workers.emails import EmailWorker

pytestmark = pytest.mark.nats
CARD = {"token": "tok_visa", "brand": "visa", "last4": "4242", "kind": "card", "exp": "12/2030"}


def emailed_link(site: Site, account: str = "ACC1") -> str:
    """The portal path of the newest cart email's link, as the email worker writes it."""
    worker = EmailWorker(site.ledger.store, MemoryMailer(), site.ledger.ports.tokens, "http://testserver.local")
    aggregate = account_uuid(account)
    event = [e for e in site.ledger.store.events.get(aggregate) if isinstance(e, Event)][-1]
    found = worker.compose(event, site.ledger.store.account(aggregate).state)
    assert found is not None
    link = re.search(r"http://testserver\.local(/portal/cart/\S+)", found[1][1])
    assert link is not None, found[1][1]
    return link.group(1)


def price_rose(site: Site) -> str:
    """Seed 004: a 100.00 order held on a card is repriced to 150.00 and the CSR sends the cart; its link."""
    register(site)
    site.staff(m.PlaceOrder(account="ACC1", order="O1", amount="100.00"))
    site.staff(m.AuthorizeCard(account="ACC1", authorization="AU1", order="O1", amount="100.00", token="tok_visa"))
    site.staff(m.ChangeOrderPrice(account="ACC1", order="O1", amount="150.00"))
    site.staff(m.RequestReauthorization(account="ACC1", authorization="AU1"))
    return emailed_link(site)


def form_of(shown: Any) -> tuple[str, dict[str, str]]:
    """The cart page's Approve form: its action and its hidden fields (CSRF token included)."""
    assert shown.status_code == 200, shown.text[:500]
    action = re.search(r'<form method="post" action="([^"]+)" class="stack">', shown.text)
    assert action is not None, shown.text[:2000]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', shown.text))
    return html.unescape(action.group(1)), fields


async def approve(site: Site, link: str, card: dict[str, str] | None = CARD) -> Any:
    """Open the cart (back from the tokenizer with ``card``, or with the hold's own card) and press Approve."""
    action, fields = form_of(await site.client.get(f"{link}&{urlencode(card)}" if card else link))
    return await site.client.post(action, data=fields)


async def holds(site: Site) -> dict[str, AuthorizationView]:
    """The account's holds as the ledger's read API shows them."""
    return {a.id: a for a in (await site.reader.account("ACC1")).authorizations}


async def manual_processing(site: Site, order: str) -> bool:
    """Whether the ledger flags ``order`` for manual processing by the CSR team."""
    return next(o for o in (await site.reader.account("ACC1")).orders if o.id == order).manual_processing


async def test_the_emails_link_opens_the_cart_after_login(site: Site) -> None:
    link = price_rose(site)
    assert urlsplit(link).path.startswith("/portal/cart/") and "hold=AU1" in link and "order=O1" in link
    guest = await site.client.get(link, follow_redirects=False)
    assert guest.status_code == 303
    back = parse_qs(urlsplit(guest.headers["location"]).query)["next"][0]
    assert back == link
    shown = await site.submit(f"/portal/login?{urlencode({'next': back})}", "/portal/login",
                              email="ada@example.com", password="correct horse battery", next=back)
    assert shown.status_code == 200 and str(shown.url).endswith(link)
    assert "Approve Order Payment" in shown.text and "O1" in shown.text and "150.00 USD" in shown.text
    assert 'action="/portal/cart/' in shown.text and "The card you used for this order" in shown.text
    tokenizer = re.search(r'href="http://127\.0\.0\.1:9/tokenize\?([^"]+)"', shown.text)
    assert tokenizer is not None
    return_to = parse_qs(html.unescape(tokenizer.group(1)))["return_to"][0]
    assert return_to == f"http://testserver.local{link}"


async def test_approve_with_a_new_card_holds_the_new_amount(site: Site) -> None:
    link = price_rose(site)
    await site.log_in()
    done = await approve(site, link)
    assert done.status_code == 200, done.text[:500]
    assert "Your card is authorized for 150.00 USD" in done.text
    assert re.search(r"Good until</dt><dd>\w{3} \d\d, \d{4} \d\d:\d\d [AP]M E[SD]T<", done.text)  # US Eastern
    new = urlsplit(str(done.url)).path.rsplit("/", 1)[-1]
    found = await holds(site)
    assert (found[new].amount, found[new].status, found["AU1"].status) == ("150.00", "active", "reauthorized")
    again = await site.client.get(link)  # the cart is used: no second checkout is offered
    assert again.status_code == 410 and "can no longer be used" in again.text


async def test_the_holds_own_card_and_a_second_press_authorize_once(site: Site) -> None:
    link = price_rose(site)
    await site.log_in()
    action, fields = form_of(await site.client.get(link))
    assert "card_token" not in fields
    first = await site.client.post(action, data=fields)
    second = await site.client.post(action, data=fields)
    assert first.status_code == second.status_code == 200 and first.url == second.url
    assert len(await holds(site)) == 2
    assert event_names(site).count("Reauthorized") == 1


async def test_a_declined_card_goes_to_manual_processing(site: Site) -> None:
    link = price_rose(site)
    await site.log_in()
    declined = await approve(site, link, {**CARD, "token": "tok_decline"})
    assert declined.status_code == 402
    assert "manual processing" in declined.text and "will call you" in declined.text
    orders = {o.id: o for o in (await site.reader.account("ACC1")).orders}
    assert orders["O1"].manual_processing is True
    assert (await holds(site))["AU1"].status == "failed" and len(await holds(site)) == 1


async def test_a_paypal_account_approves_the_cart_as_a_paypal_hold(site: Site) -> None:
    """Seed 004: "if the customer pays by Credit Card or PayPal, eCommerce will authorize a charge"; the cart's
    checkout holds what the gateway's token is (issue 14), and the hold's own method is offered again after."""
    link = price_rose(site)
    await site.log_in()
    done = await approve(site, link, {"token": "tok_paypal", "brand": "paypal", "last4": "", "kind": "paypal"})
    assert done.status_code == 200 and "Your PayPal account is authorized for 150.00 USD" in done.text
    new = urlsplit(str(done.url)).path.rsplit("/", 1)[-1]
    found = await holds(site)
    assert (found[new].method, found[new].amount, found[new].status) == ("paypal", "150.00", "active")
    assert found["AU1"].method == "card"
    site.staff(m.RequestReauthorization(account="ACC1", authorization=new))  # the cart again: the PayPal account
    shown = await site.client.get(emailed_link(site))
    assert "The PayPal account you used for this order" in shown.text


async def test_a_bank_account_at_the_checkout_is_refused_and_charges_nothing(site: Site) -> None:
    link = price_rose(site)
    await site.log_in()
    refused = await approve(site, link, {"token": "tok_ach", "brand": "bank", "last4": "6789", "kind": "ach"})
    assert refused.status_code == 422 and "A bank account cannot be authorized" in refused.text
    assert "Nothing was charged" in refused.text and "declined" not in refused.text
    assert await manual_processing(site, "O1") is False
    assert [(h.id, h.status) for h in (await holds(site)).values()] == [("AU1", "reauth_requested")]
    done = await approve(site, link)  # the cart is still open: a card approves it
    assert done.status_code == 200 and "Your card is authorized for 150.00 USD" in done.text


async def test_another_customers_account_answers_404(site: Site) -> None:
    link = price_rose(site)
    register(site, "ACC2", "bob@example.com")
    await site.log_in("bob@example.com")
    assert (await site.client.get(link)).status_code == 404
    bob = await site.client.get("/portal/")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', bob.text)
    assert csrf is not None
    path = link.replace("?", "/checkout?", 1)
    posted = await site.client.post(path, data={"_csrf_token": csrf.group(1), "new_hold": "AUTH-X"})
    assert posted.status_code == 404 and len(await holds(site)) == 1


async def test_a_tampered_link_is_refused(site: Site) -> None:
    link = price_rose(site)
    await site.log_in()
    raw = urlsplit(link).path.rsplit("/", 1)[-1]
    for tampered in (link.replace(raw, raw[:-1]), link.replace(raw, f"{raw}x"), link.replace("hold=AU1", "hold=AU9"),
                     link.replace("order=O1", "order=O2")):
        assert (await site.client.get(tampered)).status_code == 404, tampered
    assert len(await holds(site)) == 1


async def test_a_well_formed_but_wrong_token_is_refused_by_the_ledger_and_holds_nothing(site: Site) -> None:
    link = price_rose(site)
    await site.log_in()
    raw = urlsplit(link).path.rsplit("/", 1)[-1]
    forged = link.replace(raw, ("B" if raw[0] == "A" else "A") + raw[1:])
    refused = await approve(site, forged)  # the page cannot tell (the read API never shows a token's hash) ...
    assert refused.status_code == 404 and "This link is not valid" in refused.text  # ... the ledger can
    assert "Nothing was charged" in refused.text
    assert len(await holds(site)) == 1 and "Reauthorized" not in event_names(site)
    assert (await approve(site, link)).status_code == 200  # the real link still checks out


async def test_an_older_link_is_refused_once_a_newer_cart_was_sent(site: Site) -> None:
    older = price_rose(site)
    await site.log_in()
    action, fields = form_of(await site.client.get(older))
    site.staff(m.RequestReauthorization(account="ACC1", authorization="AU1"))  # re-triggered from the order screen
    newer = emailed_link(site)
    assert newer != older
    refused = await site.client.post(action, data=fields)
    assert refused.status_code == 410 and "A newer link was sent" in refused.text
    assert (await site.client.get(older)).status_code == 410
    carts = {c.id: c.status for c in (await site.reader.account("ACC1")).carts}
    assert sorted(carts.values()) == ["open", "replaced"]
    assert (await approve(site, newer)).status_code == 200 and len(await holds(site)) == 2


async def test_a_cart_whose_order_was_paid_meanwhile_is_refused_and_charges_nothing(site: Site) -> None:
    link = price_rose(site)
    await site.log_in()
    action, fields = form_of(await site.client.get(f"{link}&{urlencode(CARD)}"))
    site.staff(m.SubmitPayment(account="ACC1", payment="PHONE", amount="150.00", method="card", token="tok_visa",
                               orders={"O1": "150.00"}))
    refused = await site.client.post(action, data=fields)
    assert refused.status_code == 409 and "nothing left to pay" in refused.text
    assert "Nothing was charged" in refused.text
    assert len(await holds(site)) == 1
    assert (await site.client.get(link)).status_code == 410


async def test_a_quotes_first_cart_places_its_first_hold(site: Site) -> None:
    register(site)
    site.staff(m.PlaceOrder(account="ACC1", order="Q1", amount="0.00"))
    site.staff(m.ChangeOrderPrice(account="ACC1", order="Q1", amount="80.00"))
    site.staff(m.RequestCart(account="ACC1", order="Q1"))
    link = emailed_link(site)
    assert "hold=" not in link
    await site.log_in()
    first = await site.client.get(link)
    assert "Enter your card" in first.text and "80.00 USD" in first.text and 'name="new_hold"' not in first.text
    declined = await approve(site, link, {**CARD, "token": "tok_decline"})
    assert declined.status_code == 402 and "declined" in declined.text and len(await holds(site)) == 0
    assert await manual_processing(site, "Q1") is True  # seed 004: the CSR team sees it
    done = await approve(site, link)
    assert done.status_code == 200 and "Your card is authorized for 80.00 USD" in done.text
    assert await manual_processing(site, "Q1") is False
    assert [(h.order, h.amount, h.status) for h in (await holds(site)).values()] == [("Q1", "80.00", "active")]


async def test_a_session_ended_before_approve_logs_in_again_and_charges_nothing(site: Site) -> None:
    link = price_rose(site)
    await site.log_in()
    action, fields = form_of(await site.client.get(f"{link}&{urlencode(CARD)}"))
    site.clock.now += SESSION_IDLE + 1
    out = await site.client.post(action, data=fields, follow_redirects=False)
    assert out.status_code == 303 and parse_qs(urlsplit(out.headers["location"]).query)["next"] == [link]
    assert len(await holds(site)) == 1
