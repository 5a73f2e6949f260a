"""Human words for events: the audit log's comment ("Other - Payment Applied") and what changed."""

from __future__ import annotations

import re
from typing import Any

from ledger.aggregates import events as ev
from ledger.money import format_amount

_AREA_TITLES = {"access": "Portal", "orders": "Orders", "invoices": "Invoices", "payments": "Payments",
                "application": "Other", "credits": "Credits", "authorizations": "Authorizations",
                "methods": "Payment Methods", "research": "Research"}
_SKIP = {"originator_id", "originator_version", "timestamp", "by"}


def title(event: Any) -> str:
    """``PaymentApplied`` -> ``Payment Applied``."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(event).__name__)


def comment(event: ev.Event) -> str:
    """The audit comment, e.g. "Other - Payment Applied" (seed 000's audit comment log)."""
    return f"{_AREA_TITLES.get(event.area, event.area.title())} - {title(event)}"


def details(event: ev.Event, currency: str | None) -> str:
    """What changed, in words: the event's business fields, amounts as decimals."""
    parts = []
    for name in event.__struct_fields__:
        if name in _SKIP:
            continue
        value = getattr(event, name)
        if value is None or value == "" or name in ("token_hash", "cart_token_hash", "request_hash", "token"):
            continue
        if isinstance(value, int) and not isinstance(value, bool) and currency and (
                name == "amount" or name.endswith(("_amount", "total"))):
            value = format_amount(value, currency)
        elif isinstance(value, ev.payments.Instruction):
            value = value.mode + ("".join(f" {line.target_id}" for line in value.lines))
        parts.append(f"{name}={value}")
    return " ".join(parts)


def sentence(event: ev.Event, comment_text: str) -> str:
    """ "Other - Payment Applied by CSR jdoe at 10:42" (time of day in UTC here; readers format their zone)."""
    return f"{comment_text} by {event.by.describe()} at {event.timestamp:%H:%M}"
