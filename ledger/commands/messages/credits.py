"""Commands of credits: issuing, applying and refunding a customer credit."""

from __future__ import annotations

from ledger.commands.messages.base import AccountCommand


class IssueCredit(AccountCommand, frozen=True, kw_only=True):
    credit: str
    amount: str
    reference: str = ""


class ApplyCredit(AccountCommand, frozen=True, kw_only=True):
    credit: str
    amount: str
    invoice: str | None = None
    order: str | None = None


class RefundCredit(AccountCommand, frozen=True, kw_only=True):
    credit: str
    amount: str
    key: str | None = None
