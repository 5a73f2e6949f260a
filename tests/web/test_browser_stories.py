"""The portal in a real Chromium (seeds 001-003), a few stories end to end through ``serve``: invitation email ->
set password -> Confirm -> login -> pay two chosen invoices and an order with a card typed into the gateway's
tokenizer (seed 001: "all invoices and orders with unpaid balances") ->
Success -> receipt in the Maildir with the transaction id; Distribute over three invoices with a credit; a
declined card; a forgotten password reset by email. Set LEDGER_PORTAL_SCREENSHOTS=docs/portal to keep the pages
as seen at phone and desktop widths."""

from __future__ import annotations

import email
import email.policy
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.cards import card_number_in_text
from ledger.commands import messages as m
from ledger.ports.ids import account_uuid
from tests.web.browser import DESKTOP, PHONE, Running, chromium, posted_bodies, running  # noqa: F401
from tests.web.conftest import PASSWORD

pytestmark = [pytest.mark.nats, pytest.mark.browser]
NEW_PASSWORD = "a new horse battery staple"
VISA, DECLINE = "4242 4242 4242 4242", "4000 0000 0000 0002"


def texts(site: Running) -> list[str]:
    """The plain-text parts of every email in the Maildir."""
    found = []
    new = site.mail / "new"
    for path in sorted(new.glob("*")) if new.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",))  # type: ignore[attr-defined]
        found.append(f"Subject: {message['subject']}\n{body.get_content() if body else ''}")
    return found


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("not in time")


def link(site: Running, pattern: str) -> str:
    """The newest link matching ``pattern`` in the Maildir."""
    def find() -> str | None:
        hits = [hit for text in texts(site) for hit in re.findall(rf"http://\S*{pattern}\S*", text)]
        return hits[-1] if hits else None
    found: str = wait_for(find)
    return found


def shoot(driver: Any, name: str) -> None:
    """Keep the page at phone and desktop widths when LEDGER_PORTAL_SCREENSHOTS names a folder."""
    folder = os.environ.get("LEDGER_PORTAL_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in (("phone", PHONE), ("desktop", DESKTOP)):
        driver.set_window_size(width, height)
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, max(height, min(int(full) + 120, 3000)))
        driver.save_screenshot(str(Path(folder) / f"{name}-{label}.png"))
    driver.set_window_size(*DESKTOP)


def fill(driver: Any, **fields: str) -> None:
    from selenium.webdriver.common.by import By

    for name, value in fields.items():
        box = driver.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)


def press(driver: Any, text: str) -> None:
    """Click the button or link named ``text`` and wait for the next page.

    The old page is marked with a window property before the click; the next page is there when the mark is gone and
    the new document has loaded. (Chromium's driver answers a staleness check on a node of a page that is being
    replaced with "Node with given id does not belong to the document" instead of a stale element, so the wait does
    not hold a reference into the old page.)
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__ledgerOldPage = true;")
    driver.find_element(By.XPATH, f"//button[normalize-space()='{text}'] | //a[normalize-space()='{text}']").click()
    # A script sent while the old page unloads may fail; the wait asks again until the new page answers (or 30 s).
    WebDriverWait(driver, 30, ignored_exceptions=(WebDriverException,)).until(lambda d: d.execute_script(
        "return window.__ledgerOldPage === undefined && document.readyState === 'complete';"))


def billed(site: Running) -> None:
    service = site.ledger.service
    service.handle(m.OpenAccount(account="ACC1", email="ada@example.com", name="Ada Lovelace"))
    service.handle(m.PlaceOrder(account="ACC1", order="SO-7", amount="30.00", channel="pos", items=[
        m.OrderItemIn(sku=sku, description=text, quantity=quantity, unit_price=price)
        for sku, text, quantity, price in (("GLV-L", "Work gloves, large", 2, "6.00"), ("TAPE-25", "Duct tape", 3,
                                           "4.00"), ("MASK-N95", "N95 mask", 1, "6.00"))]))
    for number, (amount, day) in enumerate((("100.00", "01"), ("50.00", "05"), ("30.00", "09")), start=1):
        service.handle(m.IssueInvoice(account="ACC1", invoice=f"INV-{number}", amount=amount,
                                      date=f"2026-11-{day}", due=f"2026-12-{day}",
                                      order="SO-7" if number == 3 else None))


def registered(site: Running, driver: Any) -> None:
    """Invitation email -> set password -> Confirm email -> log in."""
    site.ledger.service.handle(m.SendInvitation(account="ACC1"))
    driver.get(link(site, "/portal/invitation/"))
    shoot(driver, "invitation")
    fill(driver, password=PASSWORD, confirm=PASSWORD)
    press(driver, "Save password")
    assert "Click Confirm" in driver.page_source
    driver.get(link(site, "/portal/confirm/"))
    press(driver, "Confirm")
    assert "Your login is confirmed" in driver.page_source
    shoot(driver, "login")
    fill(driver, email="ada@example.com", password=PASSWORD)
    press(driver, "Log in")
    assert "Account balance" in driver.page_source


def forgot_then_new_password(site: Running, driver: Any) -> None:
    """Log out, Forgot password -> reset email -> a new password -> log in with it; the ledger records both facts
    (the portal's signed customer requests, through serve's authorized NATS)."""
    press(driver, "Log out")
    driver.get(f"{site.portal}/portal/forgot")
    fill(driver, email="ada@example.com")
    press(driver, "Confirm")
    assert "Check your email" in driver.page_source
    driver.get(link(site, "/portal/reset/"))
    fill(driver, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    press(driver, "Save password")
    assert "Your password is changed" in driver.page_source
    fill(driver, email="ada@example.com", password=NEW_PASSWORD)
    press(driver, "Log in")
    assert "Account balance" in driver.page_source
    names = [type(e).__name__ for e in site.ledger.store.events.get(account_uuid("ACC1"))]
    assert names[-2:] == ["PasswordResetRequested", "PasswordChanged"]


def card(driver: Any, number: str) -> None:
    """The gateway's hosted page: the card goes there, never to the portal."""
    assert "Test gateway" in driver.title
    fill(driver, number=number, exp="12/2030", cvc="123")
    press(driver, "Continue")


def test_invitation_to_a_paid_pair_of_invoices_and_a_receipt(running: Running) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    billed(running)
    running.ledger.service.handle(m.PlaceOrder(account="ACC1", order="SO-8", amount="45.00", channel="phone"))
    driver = chromium()
    try:
        registered(running, driver)
        shoot(driver, "dashboard")
        press(driver, "Make Payment")
        for name, chosen in (("pay", "INV-1"), ("pay", "INV-3"), ("pay_ord", "SO-8")):
            driver.find_element(By.CSS_SELECTOR, f"input[name={name}][value='{chosen}']").click()
        shoot(driver, "pay")
        press(driver, "Apply Payment")
        shoot(driver, "tokenizer")
        card(driver, VISA)
        assert "Review your payment" in driver.page_source and "175.00 USD" in driver.page_source
        assert "Order SO-8" in driver.page_source
        shoot(driver, "review")
        press(driver, "Pay 175.00 USD")
        assert "Thank you" in driver.page_source
        shoot(driver, "success")
        transaction = driver.find_element(By.CSS_SELECTOR, "dd.mono").text.strip()
        assert transaction
        wait_for(lambda: any(transaction in text and "Subject: Payment received" in text for text in texts(running)))
        driver.get(f"{running.portal}/portal/invoices")
        shoot(driver, "invoices")
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert [r.text.split()[-1] for r in rows] == ["Paid", "Open", "Paid"]
        assert running.ledger.store.account(account_uuid("ACC1")).state.orders["SO-8"].open == 0  # the order paid
        for page in ("payments", "history", "account"):
            driver.get(f"{running.portal}/portal/{page}")
            shoot(driver, page)
        bodies = posted_bodies(driver, running.portal)
        assert bodies and not any(card_number_in_text(body) for body in bodies)
    finally:
        driver.quit()


def test_distribute_over_three_invoices_with_a_credit_then_a_declined_card(running: Running) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    billed(running)
    running.ledger.service.handle(m.IssueCredit(account="ACC1", credit="CR-1", amount="20.00", reference="goodwill"))
    driver = chromium()
    try:
        registered(running, driver)
        driver.get(f"{running.portal}/portal/pay")
        assert "credit of 20.00 USD" in driver.find_element(By.CSS_SELECTOR, "p.credit").text
        driver.find_element(By.ID, "mode-distribute").click()
        fill(driver, total="50.00")
        press(driver, "Apply Payment")
        card(driver, DECLINE)
        press(driver, "Pay 50.00 USD")
        alert = driver.find_element(By.CSS_SELECTOR, "[role=alert]").text
        assert "declined" in alert and "Nothing was charged" in alert
        shoot(driver, "declined")
        assert running.ledger.service.store is not None
        driver.find_element(By.ID, "mode-distribute").click()
        fill(driver, total="130.00")
        press(driver, "Apply Payment")
        card(driver, VISA)
        press(driver, "Pay 130.00 USD")
        assert "Thank you" in driver.page_source
        driver.get(f"{running.portal}/portal/invoices")
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert [r.text.split()[-1] for r in rows] == ["Paid", "Paid", "Open"]  # 130 + the 20.00 credit, oldest first
        driver.get(f"{running.portal}/portal/credits")
        assert "0.00" in driver.find_element(By.CSS_SELECTOR, "tbody tr").text
        forgot_then_new_password(running, driver)
    finally:
        driver.quit()
