"""Commands of access: opening an account, invitations, passwords, statements."""

from __future__ import annotations

from typing import Literal

from ledger.commands.messages.base import AccountCommand


class OpenAccount(AccountCommand, frozen=True, kw_only=True):
    email: str
    currency: str = "USD"
    name: str = ""


class SendInvitation(AccountCommand, frozen=True, kw_only=True):
    pass


class ResendInvitation(AccountCommand, frozen=True, kw_only=True):
    pass


class AcceptInvitation(AccountCommand, frozen=True, kw_only=True):
    token: str


class RenewInvitation(AccountCommand, frozen=True, kw_only=True):
    """The customer asks for a new invitation with the link that expired."""

    token: str


class RecordPasswordChange(AccountCommand, frozen=True, kw_only=True):
    """The portal reports a new password (``changed`` or ``reset``); never the password or its hash."""

    how: Literal["changed", "reset"]


class RecordPasswordResetRequest(AccountCommand, frozen=True, kw_only=True):
    """The portal reports that a reset link was sent to the customer's login."""


class ForgetPersonalData(AccountCommand, frozen=True, kw_only=True):
    """Record the erasure of the account's personal data (``ledger account forget``, which then destroys its
    keys and portal login: :mod:`ledger.personal.erasure`); finance or the operator only."""


class ExpireInvitation(AccountCommand, frozen=True, kw_only=True):
    pass


class SendStatement(AccountCommand, frozen=True, kw_only=True):
    """Email the statement of a period with a pay link."""

    period_from: str
    period_to: str
