"""Decisions about saved payment methods and autopay (seed 002).

Only a gateway token, brand, last four digits and expiry are ever stored; autopay needs a saved method.
"""

from __future__ import annotations

from datetime import datetime

from ledger.aggregates import events as ev
from ledger.aggregates.root import AccountRoot
from ledger.aggregates.state import SavedMethod
from ledger.errors import Conflict, NotFound, PolicyViolation, ValidationError


def expired(exp_month: int | None, exp_year: int | None, at: datetime) -> bool:
    """A card is good through the last day of its expiry month."""
    return exp_month is not None and exp_year is not None and (at.year, at.month) > (exp_year, exp_month)


class MethodDecisions(AccountRoot):
    def add_method(self, ctx: ev.Context, *, method: str, kind: str, token: str, brand: str, last4: str,
                   exp_month: int | None = None, exp_year: int | None = None) -> ev.PaymentMethodAdded:
        """Save a method; the first one saved becomes the default."""
        if method in self.state.methods:
            raise Conflict(f"payment method {method} already exists", field="method", code="duplicate_id")
        if kind not in ("card", "ach", "paypal"):
            raise ValidationError("kind must be card, ach or paypal", field="kind")
        if len(last4) != 4 or not (last4.isascii() and last4.isdigit()):
            raise ValidationError("last4 must be four digits (0-9)", field="last4")
        if kind == "card" and (exp_month is None or exp_year is None or not 1 <= exp_month <= 12):
            raise ValidationError("a card needs an expiry month (1-12) and year", field="exp_month")
        if exp_year is not None and not 2000 <= exp_year <= 2199:
            raise ValidationError("the expiry year is written in full, 2000-2199", field="exp_year")
        if kind == "card" and expired(exp_month, exp_year, ctx.at):
            raise PolicyViolation(f"the card expired at the end of {exp_month:02d}/{exp_year}", field="exp_month",
                                  code="card_expired")
        event = self.trigger(ctx, ev.PaymentMethodAdded, method_id=method, kind=kind, token=token, brand=brand,
                             last4=last4, exp_month=exp_month, exp_year=exp_year)
        if self.state.default_method is None:
            self.trigger(ctx, ev.DefaultPaymentMethodSet, method_id=method)
        return event

    def remove_method(self, ctx: ev.Context, *, method: str) -> ev.PaymentMethodRemoved:
        """Delete a saved method; the one autopay charges cannot be removed while autopay is on."""
        self.method(method)
        if self.state.autopay_method == method:
            raise PolicyViolation("autopay uses this method; disable autopay or pick another first",
                                  field="method", code="method_in_use")
        return self.trigger(ctx, ev.PaymentMethodRemoved, method_id=method)

    def set_default_method(self, ctx: ev.Context, *, method: str) -> ev.DefaultPaymentMethodSet:
        """Make a saved method the default."""
        self.method(method)
        if self.state.default_method == method:
            raise Conflict("already the default", field="method", code="no_change")
        return self.trigger(ctx, ev.DefaultPaymentMethodSet, method_id=method)

    def enable_autopay(self, ctx: ev.Context, *, method: str | None = None) -> ev.AutopayEnabled:
        """Pay future invoices automatically; needs a saved method (the default unless one is named)."""
        chosen = method or self.state.default_method
        if chosen is None:
            raise PolicyViolation("autopay needs a saved payment method", field="method",
                                  code="autopay_needs_method")
        self.method(chosen)
        return self.trigger(ctx, ev.AutopayEnabled, method_id=chosen)

    def disable_autopay(self, ctx: ev.Context, *, reason: str = "") -> ev.AutopayDisabled:
        """Stop paying future invoices automatically."""
        if self.state.autopay_method is None:
            raise Conflict("autopay is not on", field="account", code="no_change")
        return self.trigger(ctx, ev.AutopayDisabled, reason=reason)

    def saved_for_payment(self, saved: str, at: datetime) -> SavedMethod:
        """The saved method a payment names (seed 002: "use a saved payment"); an expired card is refused."""
        found = self.state.methods.get(saved)
        if found is None:
            raise NotFound(f"no saved payment method {saved}", field="saved")
        if found.kind == "card" and expired(found.exp_month, found.exp_year, at):
            raise PolicyViolation(f"card {found.brand} ending {found.last4} expired at the end of "
                                  f"{found.exp_month:02d}/{found.exp_year}", field="saved", code="card_expired")
        return found

    def record_autopay_failure(self, ctx: ev.Context, *, invoice: str, method: str) -> ev.AutopayFailed:
        """Autopay will not charge the saved card for a new invoice: it has expired (seed 002). Recorded once per
        invoice, so the customer is emailed and the CSR dashboard lists it."""
        found = self.state.invoices.get(invoice)
        if found is None:
            raise NotFound(f"no invoice {invoice}", field="invoice")
        if found.autopay_failed is not None:
            raise Conflict(f"autopay's failure on {invoice} is on record", field="invoice", code="no_change")
        saved = self.method(method)
        if not (saved.kind == "card" and expired(saved.exp_month, saved.exp_year, ctx.at)):
            raise PolicyViolation(f"saved method {method} can still pay", field="method", code="method_usable")
        return self.trigger(ctx, ev.AutopayFailed, invoice_id=invoice, method_id=method, reason="card_expired")

    def method(self, method_id: str) -> SavedMethod:
        """The saved method, or NotFound."""
        found = self.state.methods.get(method_id)
        if found is None:
            raise NotFound(f"no payment method {method_id}", field="method")
        return found
