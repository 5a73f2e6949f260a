"""``make demo``: the seeds' scenarios, run through the real service on a fresh SQLite file.

1. A guest pays the balance due on an order through the portal; staff match it to the order (seed 000),
   and a payment that matches nothing waits for research.
2. Web Pay: an amount distributed oldest invoice first with open credit applied, then an overpayment that
   becomes credit (seed 001).
3. An ACH payment of the exact amount due, pending, then returned: balances as if it never happened (seed 003).
4. A card authorization expires after 29 days; the price rises, the customer approves the new cart, the old
   order is cancelled and a new one linked (seed 004).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ledger.adapters.clock import ManualClock
from ledger.bootstrap import Ledger, build
from ledger.cli.tables import print_account
from ledger.commands import messages as m
from ledger.config import Settings
from ledger.logs import configure_logging
from ledger.views import stored_account_view

console = Console()
GUEST = m.ActorIn(kind="guest", name="guest", channel="portal")
CUSTOMER = m.ActorIn(kind="customer", name="c-400", channel="portal")
CSR = m.ActorIn(kind="csr", name="jdoe", channel="csr")


def step(ledger: Ledger, text: str, command: m.Command) -> None:
    """Run one command and say what it recorded."""
    outcome = ledger.service.handle(command)
    status = escape(f" [{outcome.status}]") if outcome.status else ""
    console.print(f"  [cyan]{text}[/cyan] -> {', '.join(outcome.events)}{status}")


def show(ledger: Ledger, account: str) -> None:
    """Print the account as the portal shows it."""
    print_account(stored_account_view(ledger.store, account, ledger.ports.clock.zone, ledger.ports.clock.now()))
    console.print()


def guest_payment(ledger: Ledger) -> None:
    console.rule("Seed 000: guest payment applied to an open order")
    step(ledger, "open account", m.OpenAccount(account="CUST-100", email="guest@example.com", currency="CAD"))
    step(ledger, "phone order", m.PlaceOrder(account="CUST-100", order="ORD-1", amount="850.00", channel="phone"))
    step(ledger, "guest pays on the portal", m.ReceiveUnidentifiedPayment(
        payment="WEB-1", amount="300.00", currency="CAD", method="card", token="tok_visa",
        reference="order ORD-1 customer CUST-100", actor=GUEST))
    step(ledger, "staff apply it to the order", m.MatchPayment(payment="WEB-1", account="CUST-100", order="ORD-1",
                                                               actor=CSR))
    step(ledger, "a payment matching nothing", m.ReceiveUnidentifiedPayment(
        payment="WEB-2", amount="45.00", currency="CAD", method="card", token="tok_visa", reference="#99??",
        actor=GUEST))
    step(ledger, "sent to Accounting", m.ReferToAccounting(payment="WEB-2", note="no such order", actor=CSR))
    show(ledger, "CUST-100")


def web_pay(ledger: Ledger) -> None:
    console.rule("Seed 001: Web Pay, oldest invoice first, credits applied, overpayment becomes credit")
    step(ledger, "open account", m.OpenAccount(account="CUST-200", email="buyer@example.com"))
    step(ledger, "invoice INV-1", m.IssueInvoice(account="CUST-200", invoice="INV-1", amount="100.00",
                                                 date="2026-08-01", due="2026-08-31"))
    step(ledger, "invoice INV-2", m.IssueInvoice(account="CUST-200", invoice="INV-2", amount="250.00",
                                                 date="2026-08-15", due="2026-09-14"))
    step(ledger, "credit memo", m.IssueCredit(account="CUST-200", credit="CM-1", amount="20.00",
                                              reference="damaged item"))
    step(ledger, "pay 330.00, distribute", m.SubmitPayment(account="CUST-200", payment="PAY-1", amount="330.00",
                                                           method="card", token="tok_visa", distribute=True,
                                                           actor=GUEST))
    step(ledger, "invoice INV-3", m.IssueInvoice(account="CUST-200", invoice="INV-3", amount="75.00",
                                                 date="2026-09-01", due="2026-09-30"))
    step(ledger, "pay 100.00 on INV-3", m.SubmitPayment(account="CUST-200", payment="PAY-2", amount="100.00",
                                                        method="card", token="tok_visa",
                                                        invoices={"INV-3": "100.00"}, actor=GUEST))
    show(ledger, "CUST-200")


def ach_return(ledger: Ledger) -> None:
    console.rule("Seed 003: ACH of the exact amount due, pending, then returned")
    step(ledger, "open account", m.OpenAccount(account="CUST-300", email="office@example.com"))
    step(ledger, "invoice SVC-7", m.IssueInvoice(account="CUST-300", invoice="SVC-7", amount="480.00",
                                                 date="2026-09-02", due="2026-10-02"))
    step(ledger, "pay by ACH, exact", m.SubmitPayment(account="CUST-300", payment="ACH-1", amount="480.00",
                                                      method="ach", token="tok_ach", invoices={"SVC-7": "480.00"},
                                                      exact=True, actor=GUEST))
    show(ledger, "CUST-300")
    step(ledger, "bank returns it (R01)", m.ReturnPayment(account="CUST-300", payment="ACH-1", code="R01"))
    show(ledger, "CUST-300")


def reauthorization(ledger: Ledger, clock: ManualClock) -> None:
    console.rule("Seed 004: authorization expires, price rises, reauthorized, order replaced")
    step(ledger, "open account", m.OpenAccount(account="CUST-400", email="repair@example.com"))
    step(ledger, "repair order", m.PlaceOrder(account="CUST-400", order="R-1", amount="150.00", channel="csr"))
    step(ledger, "card authorized", m.AuthorizeCard(account="CUST-400", authorization="AUTH-1", order="R-1",
                                                    amount="150.00", token="tok_visa"))
    clock.advance(days=29)
    step(ledger, "29 days later: expired", m.ExpireAuthorization(account="CUST-400", authorization="AUTH-1"))
    step(ledger, "repair costs more", m.ChangeOrderPrice(account="CUST-400", order="R-1", amount="240.00",
                                                         actor=CSR))
    step(ledger, "cart link sent", m.RequestReauthorization(account="CUST-400", authorization="AUTH-1", actor=CSR))
    step(ledger, "customer approves", m.Reauthorize(account="CUST-400", authorization="AUTH-1",
                                                   new_authorization="AUTH-2", actor=CUSTOMER))
    step(ledger, "old order replaced", m.ReplaceOrder(account="CUST-400", order="R-1", new_order="R-2",
                                                      amount="240.00", actor=CSR))
    step(ledger, "captured at shipment", m.CaptureAuthorization(account="CUST-400", authorization="AUTH-2",
                                                                payment="CAP-1"))
    show(ledger, "CUST-400")


def main() -> None:
    """Run every scenario on a fresh store in a temporary folder."""
    configure_logging(quiet=True)
    with tempfile.TemporaryDirectory(prefix="ledger-demo-") as folder:
        home = Path(folder)
        settings = Settings.from_env({}, home=home, db_path=home / "ledger.db", gateway_db=home / "gateway.db")
        clock = ManualClock(datetime(2026, 9, 3, 14, 0, tzinfo=UTC), zone=settings.timezone)
        ledger = build(settings, clock=clock)
        try:
            guest_payment(ledger)
            web_pay(ledger)
            ach_return(ledger)
            clock.advance(hours=1)
            reauthorization(ledger, clock)
        finally:
            ledger.close()


if __name__ == "__main__":
    main()
