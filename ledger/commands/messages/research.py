"""Commands of research: a guest payment that matched no account, until it is matched (seed 000)."""

from __future__ import annotations

from typing import Literal

from ledger.aggregates.events.payments import Purpose
from ledger.commands.messages.base import ActorIn, Command


class ReceiveUnidentifiedPayment(Command, frozen=True, kw_only=True):
    """A guest portal payment (seed 000) whose order or customer number matched nothing."""

    payment: str
    amount: str
    currency: str
    method: Literal["card", "paypal", "ach"]
    token: str
    reference: str
    key: str | None = None
    actor: ActorIn | None = None


class ReferToAccounting(Command, frozen=True, kw_only=True):
    payment: str
    note: str = ""
    actor: ActorIn | None = None


class MatchPayment(Command, frozen=True, kw_only=True):
    """Research found the account: apply the payment to the open order, or deposit it on the account (held for
    its ``purpose`` when it has one, seed 000 step 6b)."""

    payment: str
    account: str
    order: str | None = None
    purpose: Purpose | None = None
    actor: ActorIn | None = None
