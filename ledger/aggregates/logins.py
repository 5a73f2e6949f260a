"""Portal logins (seeds 002, 003): an email logs in to one customer only.

Accounts are separate aggregates, so "no two accounts with portal access share an email" cannot be decided
inside one of them. Each login is an aggregate of its own, named by the email (case-insensitively): the first
account to be invited claims it, and the event store's one-version-per-aggregate rule refuses a second claim
written concurrently. Accounts without portal access may share an email (a household, a business and its
owner).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from ledger.aggregates import events as ev
from ledger.errors import Conflict, NotFound


class PortalLogin:
    """Which account one email logs in to."""

    def __init__(self, claimed: ev.LoginClaimed) -> None:
        self.id: UUID = claimed.originator_id
        self.version = claimed.originator_version
        self.modified_on = claimed.timestamp
        self.account_id = claimed.account_id
        self._pending: list[ev.Event] = []

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

    @property
    def pending_events(self) -> tuple[ev.Event, ...]:
        """Events recorded by this command and not yet saved."""
        return tuple(self._pending)

    def collect_events(self) -> list[ev.Event]:
        """Hand pending events to the store."""
        pending, self._pending = self._pending, []
        return pending

    @classmethod
    def projector(cls, aggregate: Any, events: Iterable[Any]) -> Any:
        """Rebuild from stored events (one: the claim)."""
        for event in events:
            if isinstance(event, ev.LoginClaimed):
                aggregate = cls(event)
            elif aggregate is None:
                raise NotFound("unknown login", field="email")
        return aggregate
