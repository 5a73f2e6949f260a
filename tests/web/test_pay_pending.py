"""Make a Payment while a bank payment is pending (seed 003, issue 14): each line says what the pending ACH will
pay and offers what it leaves, so the exact amount on the page is the one the ledger accepts and nothing is paid
twice; a line the pending payment covers is shown but cannot be chosen."""

from __future__ import annotations

import re

import pytest

from ledger.commands import messages as m
from tests.web.conftest import Site
from tests.web.test_portal_pages import billed, pay

pytestmark = pytest.mark.nats


def ach(site: Site, amount: str) -> None:
    """The customer's bank payment of ``amount`` on INV-1, pending until the bank decides."""
    site.staff(m.SubmitPayment(account="ACC1", payment="ACH1", amount=amount, method="ach", token="tok_ach",
                               invoices={"INV-1": amount}))


def row_of(page: str, target: str) -> str:
    """The pay page's table row of one invoice or order."""
    found = re.search(rf"<tr>(?:(?!</tr>).)*\b{target}</label>(?:(?!</tr>).)*</tr>", page, re.S)
    assert found is not None, page
    return found.group(0)


async def test_the_customer_pays_what_a_pending_ach_leaves_and_nothing_becomes_credit(site: Site) -> None:
    billed(site)  # INV-1 100.00, INV-2 50.00, INV-3 30.00
    ach(site, "40.00")
    site.portal.exact = True
    await site.log_in()
    shown = (await site.client.get("/portal/pay")).text
    assert "ACH pending 40.00" in row_of(shown, "INV-1")
    assert re.search(r'name="amt" inputmode="decimal" value="60.00" size="9" readonly', row_of(shown, "INV-1"))
    assert 'name="total" inputmode="decimal" value="140.00"' in shown  # Distribute: the balance less the ACH
    amounts = re.findall(r'name="amt" inputmode="decimal" value="([^"]*)"', shown)  # as the page offers them
    done = await pay(site, pay=["INV-1"], inv=["INV-1", "INV-2", "INV-3"], amt=amounts)
    assert done.status_code == 200 and "Thank you" in done.text and "60.00" in done.text
    site.staff(m.SettlePayment(account="ACC1", payment="ACH1"))  # the bank cleared it
    assert [i.status for i in await site.reader.invoices("ACC1")] == ["paid", "open", "open"]
    assert (await site.reader.account("ACC1")).credit_balance == "0.00"
    assert await site.reader.credits("ACC1") == []


async def test_an_invoice_a_pending_ach_covers_cannot_be_chosen(site: Site) -> None:
    billed(site)
    ach(site, "100.00")
    await site.log_in()
    shown = (await site.client.get("/portal/pay")).text
    covered = row_of(shown, "INV-1")
    assert "ACH pending 100.00" in covered and "covered by a pending bank payment" in covered.lower()
    assert "disabled" in covered and 'name="pay"' not in covered and 'name="amt"' not in covered
    assert 'name="inv" value="INV-1"' not in shown and 'name="inv" value="INV-2"' in shown
    assert 'name="total" inputmode="decimal" value="80.00"' in shown
    # a form that chooses it anyway (crafted, or a page left open) is refused by the ledger as a message
    refused = await pay(site, pay=["INV-1"], inv=["INV-1"], amt=["100.00"])
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert "INV-1 is covered by pending payment ACH1" in refused.text
    assert [p.id for p in await site.reader.payments("ACC1")] == ["ACH1"]
