"""Events of account life and portal access (seeds 002 and 003: 72-hour invitations, one login per customer)."""

from __future__ import annotations

from datetime import date, datetime

from ledger.aggregates.events.base import Event, Minor


class AccessEvent(Event, frozen=True, kw_only=True):
    area = "access"


class AccountOpened(AccessEvent, frozen=True, kw_only=True):
    account_id: str
    currency: str
    email: str
    name: str = ""


class InvitationSent(AccessEvent, frozen=True, kw_only=True):
    """A portal invitation to the primary email; only the SHA-256 hash of the token is kept."""

    invitation_id: str
    email: str
    token_hash: str
    expires_at: datetime


class InvitationResent(AccessEvent, frozen=True, kw_only=True):
    invitation_id: str
    token_hash: str
    expires_at: datetime


class InvitationAccepted(AccessEvent, frozen=True, kw_only=True):
    invitation_id: str


class InvitationExpired(AccessEvent, frozen=True, kw_only=True):
    invitation_id: str


class PasswordChanged(AccessEvent, frozen=True, kw_only=True):
    """The customer set a new portal password (``how``: ``changed`` on My account, ``reset`` by an emailed link).
    The password and its hash live in the portal's credentials store, never here."""

    how: str


class PasswordResetRequested(AccessEvent, frozen=True, kw_only=True):
    """Someone asked for a password reset link for the customer's login (seed 002: Forgot Password)."""


class StatementSent(AccessEvent, frozen=True, kw_only=True):
    """A statement of the period went to the customer with a pay link (seed 001's Auto Send)."""

    period_from: date
    period_to: date
    balance: Minor
    open_invoices: int


class PersonalDataForgotten(AccessEvent, frozen=True, kw_only=True):
    """The account's personal data was erased (``ledger account forget``: its data keys destroyed, its portal
    login deleted) by ``by``, finance or the operator: the audit trail's record of who erased whom and when. It
    holds no personal data; the account's balances and history are untouched."""


class LoginClaimed(AccessEvent, frozen=True, kw_only=True):
    """An email became the portal login of one account (seed 003: "Only one login is supported per customer
    using the primary email"). Recorded on the login's own aggregate (a uuid5 of the email, compared
    case-insensitively), so two accounts can never both claim it; the email itself is not repeated here."""

    account_id: str
