"""Group commit: concurrent commands on different accounts are written in one transaction.

Each caller runs its handler as usual (load, decide) on its own thread, then hands its recorded events to one
committer thread. The committer takes whatever has arrived together (up to ``max_batch``), and saves it in one
transaction: with ``synchronous=FULL`` that is one fsync for the whole group instead of one per command.
If the group's save fails, each command is saved alone so that a conflict or error in one never fails or loses
the others; a command whose account changed under it (a concurrency conflict) is re-run on fresh state.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import structlog
from eventsourcing.persistence import RecordConflictError

from ledger.aggregates import Account
from ledger.commands.handlers import HANDLERS
from ledger.commands.messages import Outcome
from ledger.commands.unit import Ports, Unit
from ledger.errors import ConcurrencyExhausted, LedgerError, ValidationError
from ledger.store.application import LedgerStore

log = structlog.get_logger("ledger.commands")


@dataclass
class _Ticket:
    events: list[Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: str = ""
    error: BaseException | None = None


class BatchingService:
    """Same interface as :class:`ledger.commands.service.LedgerService`, with group commit."""

    def __init__(self, store: LedgerStore, ports: Ports, *, max_batch: int = 256, max_attempts: int = 50) -> None:
        self.store = store
        self.ports = ports
        self.max_batch = max_batch
        self.max_attempts = max_attempts
        self._queue: queue.Queue[_Ticket | None] = queue.Queue()
        self._committer = threading.Thread(target=self._commit_loop, name="group-commit", daemon=True)
        self._committer.start()

    def handle(self, command: Any) -> Outcome:
        """Run one command; refusals raise a LedgerError and write nothing."""
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise ValidationError(f"unknown command {type(command).__name__}", field="command",
                                  code="unknown_command")
        for attempt in range(self.max_attempts):
            unit = Unit(self.store, self.ports, getattr(command, "actor", None))
            outcome: Outcome = handler(unit, command)
            events = [e for aggregate in unit.touched for e in aggregate.collect_events()]
            if not events:
                return outcome
            ticket = _Ticket(events)
            self._queue.put(ticket)
            ticket.done.wait()
            if ticket.result == "ok":
                return outcome
            if ticket.result == "error" and ticket.error is not None:
                raise ticket.error
            time.sleep(random.uniform(0, 0.001 * (attempt + 1)))
        raise ConcurrencyExhausted(f"gave up after {self.max_attempts} concurrent conflicts", field="account")

    def close(self) -> None:
        """Stop the committer after what is queued."""
        self._queue.put(None)
        self._committer.join(timeout=10)

    def _commit_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                group.append(item)
            self._commit(group)

    def _commit(self, group: list[_Ticket]) -> None:
        seen: set[Any] = set()
        together: list[_Ticket] = []
        for ticket in group:  # two commands on one account in the same group: the later one runs again
            ids = {e.originator_id for e in ticket.events}
            if ids & seen:
                self._finish(ticket, "conflict")
            else:
                seen |= ids
                together.append(ticket)
        group = together
        try:
            self.store.save(*[e for ticket in group for e in ticket.events])
        except Exception:
            for ticket in group:
                self._commit_one(ticket)
        else:
            for ticket in group:
                self._finish(ticket, "ok")
            log.debug("group_committed", commands=len(group))

    def _commit_one(self, ticket: _Ticket) -> None:
        try:
            self.store.save(*ticket.events)
        except RecordConflictError:
            self._finish(ticket, "conflict")
        except LedgerError as error:
            ticket.error = error
            self._finish(ticket, "error")
        except Exception as error:
            ticket.error = error
            self._finish(ticket, "error")
        else:
            self._finish(ticket, "ok")

    def _finish(self, ticket: _Ticket, result: str) -> None:
        if result == "ok":
            self._snapshot(ticket.events)
        ticket.result = result
        ticket.done.set()

    def _snapshot(self, events: list[Any]) -> None:
        interval = self.store.settings.snapshot_interval
        for event in events:
            if event.originator_version % interval == 0 and event.area != "research":
                try:
                    self.store.take_snapshot(event.originator_id, version=event.originator_version,
                                             projector_func=Account.projector)
                except Exception as error:
                    log.warning("snapshot_failed", event_id=event.event_id, error=repr(error))
