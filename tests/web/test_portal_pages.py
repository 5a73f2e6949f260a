"""The customer's pages over HTTP (seeds 001-003): dashboard header, tabs, an invoice, Make a Payment (chosen
invoices, Distribute with a credit, a declined card, ACH pending, exact amount), My account's methods and
autopay; another account's ids answer 404."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from ledger.commands import messages as m
from ledger.ports.ids import account_uuid
from tests.web.conftest import Site, event_names, register

pytestmark = pytest.mark.nats


def billed(site: Site, account: str = "ACC1", email: str = "ada@example.com") -> None:
    """A registered customer with three open invoices (oldest first) and an order from the POS."""
    register(site, account, email)
    site.staff(m.PlaceOrder(account=account, order="SO-1", amount="30.00", channel="pos", items=[
        m.OrderItemIn(sku=f"SKU-{n}", description=f"Widget {n}", quantity=n, unit_price="1.00") for n in (1, 2, 3, 4)]))
    for number, (amount, day) in enumerate((("100.00", "01"), ("50.00", "10"), ("30.00", "20")), start=1):
        site.staff(m.IssueInvoice(account=account, invoice=f"INV-{number}", amount=amount, date=f"2026-08-{day}",
                                  due=f"2026-09-{day}", order="SO-1" if number == 3 else None))


async def pay(site: Site, method: str = "new_card", token: str = "tok_visa", **form: Any) -> Any:
    """Make a Payment through the form, the tokenizer's return (simulated) and the Review page."""
    chosen = await site.submit("/portal/pay", method=method, follow=False, **form)
    assert chosen.status_code in (302, 303), chosen.text[:500]
    target = urlsplit(chosen.headers["location"])
    if method.startswith("new_"):
        assert target.path == "/tokenize"
        back = parse_qs(target.query)["return_to"][0]
        kind = "ach" if method == "new_ach" else "card"
        brand = "bank" if kind == "ach" else "visa"
        review = f"{back}&{urlencode({'token': token, 'brand': brand, 'last4': '4242', 'kind': kind})}"
    else:
        review = chosen.headers["location"]
    shown = await site.client.get(review)
    assert shown.status_code == 200, shown.text[:500]
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', shown.text):
        data.setdefault(name, []).append(value)
    return await site.client.post("/portal/pay/confirm", data=data)


async def test_the_dashboard_header(site: Site) -> None:
    billed(site)
    await site.log_in()
    site.staff(m.SubmitPayment(account="ACC1", payment="P0", amount="20.00", method="card", token="tok_visa",
                               invoices={"INV-1": "20.00"}))
    home = await site.client.get("/portal/")
    assert "Account balance" in home.text and "160.00 USD" in home.text
    assert "Last paid" in home.text and "20.00 USD" in home.text and "EDT" in home.text
    assert "Make Payment" in home.text and "View Last Invoice" in home.text and "/portal/invoices/INV-3" in home.text
    assert "Due on open orders" not in home.text  # SO-1 is invoiced (INV-3): its balance is the invoice's
    site.staff(m.PlaceOrder(account="ACC1", order="SO-2", amount="12.00", channel="phone"))
    assert "Due on open orders" in (await site.client.get("/portal/")).text


async def test_tabs_and_filters(site: Site) -> None:
    billed(site)
    site.staff(m.IssueCredit(account="ACC1", credit="CR-1", amount="5.00", reference="goodwill"))
    await site.log_in()
    invoices = await site.client.get("/portal/invoices?status=unpaid")
    assert invoices.status_code == 200 and all(f"INV-{n}" in invoices.text for n in (1, 2, 3))
    assert "INV-1" not in (await site.client.get("/portal/invoices?status=paid")).text
    assert (await site.client.get("/portal/invoices?status=lost")).status_code == 400
    one = await site.client.get("/portal/invoices/INV-3")
    assert one.status_code == 200 and "SO-1" in one.text and "Aug 20, 2026" in one.text
    credits = await site.client.get("/portal/credits")
    assert "CR-1" in credits.text and "goodwill" in credits.text and "USD" in credits.text
    history = await site.client.get("/portal/history?period=year&year=2026")
    assert history.status_code == 200 and "SO-1" in history.text and "POS" in history.text
    assert history.text.index("INV-3") < history.text.index("INV-1")  # newest first
    assert "Print Page" in history.text
    assert "Widget 3" in history.text and "Widget 4" not in history.text  # the first three items
    full = await site.client.get("/portal/orders/SO-1")
    assert full.status_code == 200 and all(f"Widget {n}" in full.text for n in (1, 2, 3, 4))
    assert (await site.client.get("/portal/orders/SO-404")).status_code == 404
    assert (await site.client.get("/portal/history?period=3m")).status_code == 200
    assert (await site.client.get("/portal/history?period=2w")).status_code == 400
    assert (await site.client.get("/portal/payments")).status_code == 200


async def test_another_accounts_ids_answer_404(site: Site) -> None:
    billed(site)
    billed(site, "ACC2", "bob@example.com")
    site.staff(m.AddPaymentMethod(account="ACC2", method="M-BOB", kind="card", token="tok_visa", brand="visa",
                                  last4="4242", exp_month=12, exp_year=2030))
    await site.log_in()
    assert (await site.client.get("/portal/invoices/INV-404")).status_code == 404
    assert (await site.client.get("/portal/pay?account=ACC2")).status_code == 404
    assert (await site.client.get("/portal/pay/success/P-OF-ACC2")).status_code == 404
    deleted = await site.submit("/portal/account", "/portal/account/methods/M-BOB/delete")
    assert deleted.status_code == 404
    assert "PaymentMethodRemoved" not in event_names(site, "ACC2")


async def test_pay_two_chosen_invoices_by_card(site: Site) -> None:
    billed(site)
    await site.log_in()
    done = await pay(site, pay=["INV-1", "INV-3"], inv=["INV-1", "INV-2", "INV-3"], amt=["100.00", "50.00", "30.00"])
    assert done.status_code == 200 and "Thank you" in done.text
    transaction = re.search(r'class="mono">([^<]+)<', done.text)
    assert transaction is not None and transaction.group(1).strip()
    invoices = await site.reader.invoices("ACC1")
    assert [i.status for i in invoices] == ["paid", "open", "paid"]
    events = site.ledger.store.events.get(account_uuid("ACC1"))
    submitted = [e for e in events if type(e).__name__ == "PaymentSubmitted"]
    login = site.portal.store.login_of("ACC1")
    assert login is not None and submitted[0].by.kind == "customer" and submitted[0].by.channel == "portal"
    assert submitted[0].by.name == login.login_id and "@" not in login.login_id  # never the email in an event


async def test_overpaying_an_invoice_makes_credit(site: Site) -> None:
    billed(site)
    await site.log_in()
    await pay(site, pay=["INV-3"], inv=["INV-1", "INV-2", "INV-3"], amt=["100.00", "50.00", "40.00"])
    credits = await site.reader.credits("ACC1")
    assert [c.remaining for c in credits] == ["10.00"]


async def test_distribute_oldest_first_with_the_credit_applied(site: Site) -> None:
    billed(site)
    site.staff(m.IssueCredit(account="ACC1", credit="CR-1", amount="20.00"))
    await site.log_in()
    shown = await site.client.get("/portal/pay")
    assert 'class="credit"' in shown.text and "20.00 USD" in shown.text
    await pay(site, mode="distribute", total="130.00")
    invoices = await site.reader.invoices("ACC1")
    assert [i.status for i in invoices] == ["paid", "paid", "open"]
    assert (await site.reader.credits("ACC1"))[0].remaining == "0.00"


async def test_a_declined_card_is_a_clear_message_and_pays_nothing(site: Site) -> None:
    billed(site)
    await site.log_in()
    refused = await pay(site, token="tok_decline", pay=["INV-1"], inv=["INV-1"], amt=["100.00"])
    assert refused.status_code == 402 and "declined" in refused.text and "Nothing was charged" in refused.text
    invoices = await site.reader.invoices("ACC1")
    assert [i.status for i in invoices] == ["open", "open", "open"]


async def test_ach_shows_pending_until_settled(site: Site) -> None:
    billed(site)
    await site.log_in()
    done = await pay(site, method="new_ach", token="tok_ach", pay=["INV-1"], inv=["INV-1"], amt=["100.00"])
    assert done.status_code == 200 and "Pending" in done.text
    assert "Pending" in (await site.client.get("/portal/payments")).text
    payment = (await site.reader.payments("ACC1"))[0].id
    site.staff(m.SettlePayment(account="ACC1", payment=payment))  # the bank cleared it
    settled = await site.client.get("/portal/payments")
    assert "Settled" in settled.text and "Pending" not in settled.text


async def test_a_form_error_names_what_to_fix(site: Site) -> None:
    billed(site)
    await site.log_in()
    nothing = await site.submit("/portal/pay", method="new_card", inv=["INV-1"], amt=["100.00"], pay=[])
    assert nothing.status_code == 400 and "choose at least one invoice" in nothing.text
    bad = await site.submit("/portal/pay", method="new_card", mode="distribute", total="ten dollars")
    assert bad.status_code == 400 and 'role="alert"' in bad.text


async def test_the_exact_amount_setting(site: Site) -> None:
    billed(site)
    site.portal.exact = True
    await site.log_in()
    assert "readonly" in (await site.client.get("/portal/pay")).text
    refused = await pay(site, pay=["INV-1"], inv=["INV-1"], amt=["60.00"])
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert (await site.reader.payments("ACC1")) == []


async def test_my_account_methods_and_autopay(site: Site) -> None:
    billed(site)
    await site.log_in()
    page = await site.client.get("/portal/account")
    assert "ada@example.com" in page.text and "Autopay is <strong>off" in page.text
    out = await site.client.get("/portal/account/methods/new?kind=card", follow_redirects=False)
    assert out.status_code in (302, 303)
    assert urlsplit(out.headers["location"]).path == "/tokenize"
    back = "/portal/account/methods/added?" + urlencode({"token": "tok_visa", "brand": "visa", "last4": "4242",
                                                         "kind": "card", "exp": "12/2030"})
    saved = await site.submit(back, "/portal/account/methods", token="tok_visa", brand="visa", last4="4242",
                              kind="card", exp="12/2030")
    assert saved.status_code == 200 and "Visa ending 4242" in saved.text
    method = (await site.reader.account("ACC1")).methods[0].id
    on = await site.submit("/portal/account", "/portal/account/autopay", autopay="on", method=method)
    assert "Autopay is <strong>on" in on.text
    await site.submit("/portal/account", "/portal/account/autopay", autopay="off")
    gone = await site.submit("/portal/account", f"/portal/account/methods/{method}/delete")
    assert "No saved payment methods" in gone.text
    no_method = await site.submit("/portal/account", "/portal/account/autopay", autopay="on")
    assert no_method.status_code == 400 and 'role="alert"' in no_method.text


async def test_pay_with_a_saved_method(site: Site) -> None:
    billed(site)
    site.staff(m.AddPaymentMethod(account="ACC1", method="M-1", kind="card", token="tok_visa", brand="visa",
                                  last4="4242", exp_month=12, exp_year=2030))
    await site.log_in()
    assert 'value="M-1"' in (await site.client.get("/portal/pay")).text
    done = await pay(site, method="M-1", pay=["INV-2"], inv=["INV-1", "INV-2", "INV-3"],
                     amt=["100.00", "50.00", "30.00"])
    assert done.status_code == 200 and "Thank you" in done.text
    assert [i.status for i in await site.reader.invoices("ACC1")] == ["open", "paid", "open"]
    assert (await site.client.get("/portal/pay/review?mode=invoices&inv=INV-1&pay=INV-1&amt=1.00&method=M-9")
            ).status_code == 404  # a method that is not the customer's


async def test_pay_now_lists_orders_with_a_balance_due_and_pays_them_with_invoices(site: Site) -> None:
    """Seed 001: "Click on the Pay Now link to view all invoices and orders with unpaid balances"; an order is
    checked and paid like an invoice, in the same payment (its order lines)."""
    billed(site)  # SO-1 is billed by INV-3: it is paid through its invoice, never listed twice
    site.staff(m.PlaceOrder(account="ACC1", order="SO-2", amount="40.00", channel="phone"))
    await site.log_in()
    shown = (await site.client.get("/portal/pay")).text
    assert re.search(r'name="pay_ord" value="SO-2".*Order SO-2.*name="ord" value="SO-2".*name="ord_amt" '
                     r'inputmode="decimal" value="40.00"', shown, re.S), shown
    assert 'value="SO-1"' not in shown and 'name="inv" value="INV-3"' in shown
    bad = await site.submit("/portal/pay", method="new_card", ord=["SO-2"], pay_ord=["SO-2"], ord_amt=["ten"])
    assert bad.status_code == 400 and "not a decimal amount" in bad.text  # the same check as an invoice line
    done = await pay(site, pay=["INV-2"], inv=["INV-1", "INV-2", "INV-3"], amt=["100.00", "50.00", "30.00"],
                     pay_ord=["SO-2"], ord=["SO-2"], ord_amt=["25.00"])
    assert done.status_code == 200 and "Thank you" in done.text and "75.00" in done.text
    applied = [(e.target_id, e.amount) for e in site.ledger.store.events.get(account_uuid("ACC1"))
               if type(e).__name__ == "PaymentApplied"]
    assert applied == [("INV-2", 5000), ("SO-2", 2500)]
    await pay(site, pay_ord=["SO-2"], ord=["SO-2"], ord_amt=["15.00"])
    order = next(o for o in (await site.reader.account("ACC1")).orders if o.id == "SO-2")
    assert order.paid == "40.00"
    assert "SO-2" not in [row.id for row in await site.reader.unpaid("ACC1")]
    assert 'value="SO-2"' not in (await site.client.get("/portal/pay")).text  # nothing left to pay on it


async def test_an_order_alone_is_something_to_pay_on_the_dashboard(site: Site) -> None:
    register(site)
    site.staff(m.PlaceOrder(account="ACC1", order="SO-2", amount="40.00", channel="phone"))
    await site.log_in()
    home = (await site.client.get("/portal/")).text
    assert 'href="/portal/pay">Make Payment' in home and "Nothing to pay" not in home
    assert "Order SO-2" in (await site.client.get("/portal/pay")).text


async def test_the_exact_amount_setting_holds_for_orders(site: Site) -> None:
    billed(site)
    site.staff(m.PlaceOrder(account="ACC1", order="SO-2", amount="40.00", channel="phone"))
    site.portal.exact = True
    await site.log_in()
    refused = await pay(site, pay_ord=["SO-2"], ord=["SO-2"], ord_amt=["10.00"])
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert (await site.reader.payments("ACC1")) == []
