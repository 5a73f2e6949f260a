"""One attempt at one command: the aggregates it loaded, the ports it may use, its time and actor.

Handlers load through the unit, call one aggregate method and return an :class:`Outcome`; the service saves
every aggregate the unit touched in one transaction, or retries the whole attempt on a concurrency conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

import msgspec
import structlog

from ledger.aggregates import Account, UnidentifiedPayment
from ledger.aggregates import events as ev
from ledger.aggregates.logins import PortalLogin
from ledger.commands.messages import ActorIn, Command
from ledger.commands.validation import check_reference, check_text
from ledger.errors import NotFound, ValidationError
from ledger.personal.vault import ERASED
from ledger.ports import Ports
from ledger.ports.gateway import Gateway, WatchedGateway
from ledger.ports.ids import account_uuid, login_uuid, unidentified_uuid
from ledger.store.application import LedgerStore
from ledger.store.intents import Intent

#: How far a running clock may be behind an account's newest event and still record after it (see _not_before).
CLOCK_SKEW = timedelta(seconds=5)


class Unit:
    """The aggregates and context of one command attempt.

    ``after_conflict``: an earlier attempt of the same command lost a write race (another writer saved the account
    first) after running to its end, so whatever it asked of the gateway was done (a charge, a hold). Handlers
    then record that, or undo it, rather than refuse on state the other writer changed meanwhile. ``memo`` is
    shared by every attempt of one command: what an attempt asked the gateway for, so that a retry asks the same.
    ``after_commit`` actions run once the command's events are saved (releasing an old hold at the gateway only
    when the new one is on record); ``on_refused`` actions once the command is finally refused (undoing what an
    earlier attempt got from the gateway), not when an attempt is merely decided again on fresher state.
    """

    def __init__(self, store: LedgerStore, ports: Ports, actor: ActorIn | None, *,
                 after_conflict: bool = False, memo: dict[str, Any] | None = None,
                 command: Command | None = None) -> None:
        self.store = store
        self.command = command
        self.gateway = WatchedGateway(ports.gateway)
        self.ports = replace(ports, gateway=cast(Gateway, self.gateway))
        self.after_conflict = after_conflict
        self.memo: dict[str, Any] = {} if memo is None else memo
        self._after_commit: list[Callable[[], object]] = []
        self._on_refused: list[Callable[[], object]] = []
        by = actor or ActorIn()
        if by.kind not in ev.base.ACTOR_KINDS:
            raise ValidationError(f"unknown actor kind {by.kind!r}", field="actor.kind")
        if by.channel not in ev.base.CHANNELS:
            raise ValidationError(f"unknown channel {by.channel!r}", field="actor.channel")
        self.ctx = ev.Context(at=ports.clock.now(), by=ev.Actor(by.kind, check_text(by.name, "actor.name"),
                                                                   by.channel, by.via))
        self.touched: list[Account | UnidentifiedPayment | PortalLogin] = []
        self.intents: list[str] = []

    def intend(self, *, key: str, account: str, kind: str, amount: int, target: str) -> None:
        """Record, committed, that the gateway is about to be asked for ``kind`` under ``key`` (resolved when
        the outcome is recorded or the gateway declines; :mod:`ledger.store.intents`). Raises when the store
        refuses writes, before any money moves."""
        self.store.gateway_book.intend(Intent(key, account, kind, amount, target, self.ports.clock.now(),
                                              command=without_token(self.command)))
        self.intents.append(key)

    def account(self, account_id: str) -> Account:
        """Load the account named by its business id (NotFound names the ``account`` field)."""
        account = self.store.account(account_uuid(check_reference(account_id, "account")))
        self.touched.append(account)
        self._not_before(account.modified_on)
        return account

    def new_account(self, account: Account) -> Account:
        """Track a newly opened account."""
        self.touched.append(account)
        return account

    def account_exists(self, account_id: str) -> Account | None:
        """The account, or None when no such account was opened (asked first with one read: an opening, the
        usual caller, is of an account that does not exist yet)."""
        aggregate_id = account_uuid(account_id)
        if not self.store.known(aggregate_id):
            return None
        try:
            return self.store.account(aggregate_id)
        except NotFound:
            return None

    def unidentified(self, payment_id: str) -> UnidentifiedPayment:
        """Load an unidentified payment awaiting research."""
        found = self.store.unidentified(unidentified_uuid(check_reference(payment_id, "payment")))
        self.touched.append(found)
        self._not_before(found.modified_on)
        return found

    def claim_login(self, email: str, account_id: str) -> None:
        """Make ``email`` the portal login of ``account_id``, saved with the command's other events; refused
        (``email_in_use``) when another account holds it (seeds 002, 003). ``email`` as the account holds it,
        sealed (:mod:`ledger.personal.vault`): the login is its clear text; a forgotten account claims none."""
        email = self.store.personal.reveal(account_uuid(account_id), email)
        if email == ERASED:
            return
        aggregate_id = login_uuid(email)
        login = self.store.login(aggregate_id)
        if login is None:
            self.track(PortalLogin.claim(self.ctx, aggregate_id=aggregate_id, account_id=account_id))
        else:
            login.check_holder(account_id)

    def _not_before(self, newest: datetime) -> None:
        """On a running clock, keep the command's time at or after a loaded aggregate's newest event when that
        event is at most ``CLOCK_SKEW`` newer: the clock was read before loading, and another process (or
        host, clocks a little apart) may have written in between. Anything further ahead (an event written
        ``--at`` a future instant) and a chosen time (``--at``) are left for the aggregate to refuse: moving
        far forward would stamp this command, and its expiry checks, with a time that has not come."""
        if self.ctx.at < newest <= self.ctx.at + CLOCK_SKEW and not self.ports.clock.fixed:
            self.ctx = ev.Context(at=newest, by=self.ctx.by)

    def track(self, aggregate: Account | UnidentifiedPayment | PortalLogin) -> None:
        """Save ``aggregate`` with the others when the command succeeds."""
        self.touched.append(aggregate)

    def commit(self) -> list[tuple[ev.Event, int | None]]:
        """Save every touched aggregate in one transaction; returns each event with its log position."""
        recordings = self.store.save(*self.touched)
        return [(cast(ev.Event, r.domain_event), r.notification.id if r.notification else None) for r in recordings]

    def after_commit(self, action: Callable[[], object]) -> None:
        """Run ``action`` once this attempt's events are saved (never when it is refused or loses a race)."""
        self._after_commit.append(action)

    def on_refused(self, action: Callable[[], object]) -> None:
        """Run ``action`` if the command ends refused by this attempt's refusal."""
        self._on_refused.append(action)

    def committed(self) -> None:
        """Resolve this attempt's gateway intents (what the gateway did is recorded), then run the after-commit
        actions; one that fails is logged (the command itself is done; reconciliation resolves the intents)."""
        _run_all([lambda: self.store.gateway_book.resolve(self.intents), *self._after_commit],
                 "after_commit_failed")

    def refused(self) -> None:
        """Resolve the intents the gateway declined (nothing moved; the others, an answer lost or an act the
        refusal undoes, stay for reconciliation), then run the on-refused actions; one that fails is logged."""
        declined = [key for key in self.intents if key in self.gateway.declined]
        _run_all([lambda: self.store.gateway_book.resolve(declined), *self._on_refused], "on_refused_failed")


def without_token(command: Command | None) -> str:
    """``command`` as JSON (``{"type": ..., "body": ...}``) with its token, if any, left out; "" for None."""
    if command is None:
        return ""
    body = msgspec.to_builtins(command)
    body.pop("token", None)
    return msgspec.json.encode({"type": type(command).__name__, "body": body}).decode()


def _run_all(actions: list[Callable[[], object]], failure: str) -> None:
    for action in actions:
        try:
            action()
        except Exception as error:
            structlog.get_logger("ledger.commands").error(failure, error=repr(error), exc_info=error)


