"""Seed 004 in a real Chromium through ``serve``: a repair's price rises, the CSR sends the "Approve Order Payment"
email, the customer opens its link, enters a card on the gateway's page and approves the new amount; the ledger
holds the new amount and releases the old hold. Screenshots with LEDGER_PORTAL_SCREENSHOTS, as the other stories."""

from __future__ import annotations

import pytest

from ledger.aggregates import events as ev
from ledger.commands import messages as m
from ledger.ports.ids import account_uuid
from tests.web.browser import Running, chromium, running  # noqa: F401
from tests.web.test_browser_stories import VISA, billed, card, link, press, registered, shoot, wait_for

pytestmark = [pytest.mark.nats, pytest.mark.browser]
CSR = m.ActorIn(kind="csr", name="jdoe", channel="csr")


def test_a_price_rise_approved_from_the_cart_email(running: Running) -> None:  # noqa: F811
    billed(running)
    service = running.ledger.service
    service.handle(m.PlaceOrder(account="ACC1", order="R-9", amount="99.00", channel="phone", actor=CSR))
    service.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="R-9", amount="99.00", token="tok_visa",
                                   actor=CSR))
    service.handle(m.ChangeOrderPrice(account="ACC1", order="R-9", amount="120.00", actor=CSR))
    service.handle(m.RequestReauthorization(account="ACC1", authorization="A1", actor=CSR))
    driver = chromium()
    try:
        registered(running, driver)
        driver.get(link(running, "/portal/cart/"))
        assert "Approve Order Payment" in driver.title and "120.00 USD" in driver.page_source
        shoot(driver, "cart")
        press(driver, "Use a different card")
        card(driver, VISA)
        press(driver, "Approve 120.00 USD")
        assert "Thank you!" in driver.page_source and "120.00 USD" in driver.page_source
        shoot(driver, "cart-approved")

        def reauthorized() -> list[ev.Event]:
            stored = running.ledger.store.events.get(account_uuid("ACC1"))
            return [e for e in stored if isinstance(e, ev.Reauthorized)]
        approved = wait_for(reauthorized)
        assert [(e.authorization_id, e.amount, e.cart_id is not None) for e in approved] == [("A1", 12000, True)]
        driver.get(link(running, "/portal/cart/"))  # the same link again: used, nothing more is held
        assert "can no longer be used" in driver.page_source
    finally:
        driver.quit()
