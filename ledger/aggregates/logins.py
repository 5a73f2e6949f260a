"""Portal logins (seeds 002, 003): an email logs in to one customer only.

Accounts are separate aggregates, so "no two accounts with portal access share an email" cannot be decided
inside one of them. Each login is an aggregate of its own, named by the email (case-insensitively): the first
account to be invited claims it, and the event store's one-version-per-aggregate rule refuses a second claim
written concurrently. Accounts without portal access may share an email (a household, a business and its
owner).
"""

from __future__ import annotations

from uuid import UUID

from ledger.aggregates import events as ev
from ledger.aggregates.standalone import Standalone
from ledger.errors import Conflict


class PortalLogin(Standalone):
    """Which account one email logs in to."""

    first = ev.LoginClaimed
    unknown = ("unknown login", "email")

    def __init__(self, claimed: ev.LoginClaimed) -> None:
        super().__init__(claimed)
        self.account_id = claimed.account_id

    @classmethod
    def claim(cls, ctx: ev.Context, *, aggregate_id: UUID, account_id: str) -> PortalLogin:
        """The email becomes ``account_id``'s login."""
        event = ev.LoginClaimed(originator_id=aggregate_id, originator_version=1, timestamp=ctx.at, by=ctx.by,
                                account_id=account_id)
        login = cls(event)
        login._pending.append(event)
        return login

    def check_holder(self, account_id: str) -> None:
        """Refuse portal access to another account than the one holding this login."""
        if self.account_id != account_id:
            raise Conflict("this email is the portal login of another account; one login identifies one customer",
                           field="email", code="email_in_use")
