"""Human words for events: the audit log's comment ("Other – Payment Applied") and what changed.

Both are worked out once per event type (which fields to show, which are amounts), since the audit log
describes every event of the log on a rebuild.
"""

from __future__ import annotations

import re
from functools import cache

import msgspec

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import Event, Minor
from ledger.money import format_amount

_AREA_TITLES = {"access": "Portal", "orders": "Orders", "invoices": "Invoices", "payments": "Payments",
                "application": "Other", "credits": "Credits", "authorizations": "Authorizations",
                "methods": "Payment Methods", "research": "Research"}
#: Fields every event has (shown in their own columns) and secrets' hashes (never shown).
_SKIP = frozenset({"originator_id", "originator_version", "timestamp", "by", "token_hash", "cart_token_hash",
                   "request_hash", "token"})
_PLAIN, _AMOUNT, _INSTRUCTION, _LINES = 0, 1, 2, 3


@cache
def _title(event_type: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", event_type.__name__)


@cache
def _comment(event_type: type[ev.Event]) -> str:
    return f"{_AREA_TITLES.get(event_type.area, event_type.area.title())} – {_title(event_type)}"


@cache
def _plan(event_type: type[ev.Event]) -> tuple[tuple[str, int], ...]:
    """(field, how to show it) for the business fields of ``event_type``, in declaration order."""
    plan = []
    for field in msgspec.structs.fields(event_type):
        if field.name in _SKIP:
            continue
        how = (_INSTRUCTION if field.name == "instruction" else _AMOUNT if field.type == Minor
               else _LINES if field.type in (tuple[ev.payments.Line, ...], tuple[ev.payments.Line, ...] | None)
               else _PLAIN)
        plan.append((field.name, how))
    return tuple(plan)


def title(event: Event) -> str:
    """``PaymentApplied`` -> ``Payment Applied``."""
    kind: type = type(event)
    return _title(kind)


def comment(event: ev.Event) -> str:
    """The audit comment, e.g. "Other – Payment Applied" (seed 000's audit comment log)."""
    return _comment(type(event))


def details(event: ev.Event, currency: str | None) -> str:
    """What changed, in words: the event's business fields, amounts as decimals."""
    parts = []
    for name, how in _plan(type(event)):
        value = getattr(event, name)
        if value is None or value == "" or value == ():
            continue
        if how == _AMOUNT and currency and isinstance(value, int) and not isinstance(value, bool):
            value = format_amount(value, currency)
        elif how == _LINES and currency:  # what a pending distribution planned to pay: "INV-12 25.00, ..."
            value = ", ".join(f"{line.target_id} {format_amount(line.amount, currency)}" for line in value)
        elif how == _INSTRUCTION and isinstance(value, ev.payments.Instruction):
            value = value.mode + "".join(f" {line.target_id}" for line in value.lines)
        parts.append(f"{name}={value}")
    return " ".join(parts)


def sentence(event: ev.Event, comment_text: str) -> str:
    """ "Other – Payment Applied by CSR jdoe at 10:42" (time of day in UTC here; readers format their zone)."""
    return f"{comment_text} by {event.by.describe()} at {event.timestamp:%H:%M}"
