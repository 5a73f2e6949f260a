"""The application service: the Python API that the CLI and the NATS service call.

``LedgerService.handle(command)`` validates at the edge, runs the command's handler and saves everything it
recorded in one transaction. Commands on one account take turns in this process (:class:`AccountLocks`); a
concurrency conflict (another process saved the same account first) retries the whole command on fresh state,
so no update is ever lost; a refusal writes nothing.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import structlog
from eventsourcing.persistence import RecordConflictError

from ledger.aggregates import events as ev
from ledger.commands import messages as m
from ledger.commands.deadlines import check_deadline
from ledger.commands.gateway_calls import raise_unrecorded
from ledger.commands.handlers import HANDLERS
from ledger.commands.handlers.registry import Handler
from ledger.commands.messages import Outcome
from ledger.commands.self_service import GUEST, SELF_SERVICE, SELF_SERVICE_ACTORS, guest_may
from ledger.commands.unit import Unit
from ledger.commands.validation import refuse_card_numbers
from ledger.errors import ConcurrencyExhausted, Forbidden, LedgerError, ValidationError
from ledger.ports import Ports
from ledger.store.application import LedgerStore

log = structlog.get_logger("ledger.commands")


def retry_pause(attempt: int) -> None:
    """Wait before deciding a command again after a version conflict.

    The first retries follow at once (a jitter under a millisecond): the writer that won goes straight on to its
    next command, so a loser that backs off for long loses again and again (starvation), whereas one that
    reloads at once meets the winner's next write on even terms. Only a long run of conflicts (many writers on
    one account) backs off, exponentially, to at most 20 ms.
    """
    ceiling = 0.001 if attempt <= 5 else min(0.02, 0.001 * 2 ** (attempt - 5))
    time.sleep(random.uniform(0, ceiling))


class AccountLocks:
    """A lock per account (striped by the account id's hash): the commands on one account that this process runs
    take turns, deciding and writing one after another, so they never meet as version conflicts, and none can
    lose the race again and again while others on the account keep winning (seen as ConcurrencyExhausted with
    a dozen threads on a few accounts). Writers in other processes still meet as conflicts, retried. Commands
    on different accounts share a lock only when their stripes collide (1 in ``stripes``)."""

    def __init__(self, stripes: int = 4096) -> None:
        self._locks = [threading.RLock() for _ in range(stripes)]

    def __call__(self, account: object) -> AbstractContextManager[object]:
        """The lock of ``account`` (nothing to take for a command on no account)."""
        if not isinstance(account, str):
            return nullcontext()
        return self._locks[hash(account) % len(self._locks)]


def log_recorded(account: str | None, written: Iterable[tuple[ev.Event, int | None]]) -> None:
    """One ``event_recorded`` line per (event, log position) written by a command (its fields are only worked
    out when INFO is logged: the event id is a SHA-1)."""
    if log.is_enabled_for(logging.INFO):
        for event, position in written:
            log.info("event_recorded", account=account, event_type=type(event).__name__,
                     event_id=event.event_id, version=event.originator_version, log_position=position)


def check_actor(command: m.Command) -> None:
    """Refuse a customer's or guest's command that only staff or the system may give, and a guest's that only the
    account's customer may (``actor_not_allowed``)."""
    actor = getattr(command, "actor", None)
    if actor is None or actor.kind not in SELF_SERVICE_ACTORS:
        return
    if type(command) not in SELF_SERVICE:
        raise Forbidden(f"a {actor.kind} may not {type(command).__name__}; staff or the system may",
                        field="actor.kind")
    if actor.kind == "guest" and not guest_may(command):
        what = f"{type(command).__name__}{' with a saved method' if type(command) in GUEST else ''}"
        raise Forbidden(f"a guest may not {what}; the account's customer may", field="actor.kind")


def handler_for(command: m.Command) -> Handler:
    """The handler of ``command``, after the checks every command gets at the edge (no card number in any
    field, an actor allowed to give it); refused without a handler (``unknown_command``), on a card number or
    for the actor (logged like any refusal)."""
    handler = HANDLERS.get(type(command))
    if handler is None:
        raise ValidationError(f"unknown command {type(command).__name__}", field="command", code="unknown_command")
    try:
        refuse_card_numbers(command)
        check_actor(command)
    except LedgerError as error:
        raise refusal(command, error) from None
    return handler


def refusal(command: m.Command, error: LedgerError) -> LedgerError:
    """``error``, logged as the command's refusal; its field is named as the command names it (the CLI option,
    the NATS body's key), the aggregates' arguments bearing the commands' names."""
    log.info("command_refused", account=getattr(command, "account", None), command=type(command).__name__,
             code=error.code, field=error.field)
    return error


class LedgerService:
    """Runs commands against the event store with the given ports, each saved in its own transaction.

    The one command loop of the ledger: :class:`ledger.commands.batching.BatchingService` is this loop with
    another committer (group commit) and loads from the store's write-through cache (``reads_recent``).
    """

    #: Whether an attempt may load Accounts from the store's cache of recently committed ones.
    reads_recent = False

    def __init__(self, store: LedgerStore, ports: Ports, *, max_attempts: int = 50) -> None:
        self.store = store
        self.ports = ports
        self.max_attempts = max_attempts
        self.locks = AccountLocks()

    def handle(self, command: m.Command) -> Outcome:
        """Run one command; raises a :class:`LedgerError` subclass on refusal (nothing written), and
        :class:`DeadlineExceeded` when its deadline (:mod:`ledger.commands.deadlines`) passed before its turn."""
        with self.locks(getattr(command, "account", None)):
            check_deadline()
            return self._handle(command)

    def commit(self, unit: Unit) -> list[tuple[ev.Event, int | None]]:
        """Save everything an attempt recorded, in one transaction; each event with its log position."""
        return unit.commit()

    def _handle(self, command: m.Command) -> Outcome:
        handler = handler_for(command)
        name = type(command).__name__
        account = getattr(command, "account", None)
        trust_cache = self.reads_recent
        conflicted = False
        memo: dict[str, Any] = {}  # what an attempt asked the gateway for, for a retry to ask again
        for attempt in range(1, self.max_attempts + 1):
            unit = Unit(self.store, self.ports, getattr(command, "actor", None), after_conflict=conflicted,
                        memo=memo, command=command)
            try:
                with self.store.recent_reads(enabled=trust_cache) as reads:
                    try:
                        outcome = handler(unit, command)
                        written = self.commit(unit)
                    finally:
                        self.store.give_back(reads)
            except RecordConflictError:
                conflicted = True
                log.info("concurrency_conflict_retry", account=account, command=name, attempt=attempt)
                retry_pause(attempt)
                continue
            except LedgerError as error:
                if reads.hits:
                    trust_cache = False  # decided on a cached copy: decide again on fresh state
                    continue
                unit.refused()
                raise refusal(command, error) from None
            except Exception as error:
                raise_unrecorded(command, unit, error)
            unit.committed()
            log_recorded(account, written)
            return outcome
        raise ConcurrencyExhausted(f"gave up after {self.max_attempts} concurrent conflicts", field="account")
