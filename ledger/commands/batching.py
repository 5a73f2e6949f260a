"""The application service with group commit: ``BatchingService.handle(command)``, same interface as
:class:`ledger.commands.dispatch.LedgerService`, switched on by ``LEDGER_GROUP_COMMIT=1``.

Each caller decides its command on its own thread (load, check the rules, record events) and hands the changed
aggregates to the store's :class:`ledger.store.group_commit.GroupCommitter`, which writes the commands that
arrive together in one transaction. Accounts are loaded from the store's write-through cache of recently
committed Accounts, so a command on a busy account costs no database read. The rules stay exact:

* commands on one account take turns in this process (they could not share a group anyway), and a version
  conflict (another process saved the account first) decides the command again on fresh state, as the plain
  service does;
* a refusal decided on a cached copy is decided once more on fresh state before it is reported, so a copy that
  another process made stale can never refuse a valid command;
* an error that fails one command's write is that command's alone: the others of its group are written.
"""

from __future__ import annotations

from typing import Any

import structlog
from eventsourcing.persistence import RecordConflictError

from ledger.commands.dispatch import (
    AccountLocks,
    handler_for,
    log_recorded,
    raise_unrecorded,
    refusal,
    retry_pause,
)
from ledger.commands.messages import Outcome
from ledger.commands.unit import Ports, Unit
from ledger.errors import ConcurrencyExhausted, LedgerError
from ledger.store.application import LedgerStore
from ledger.store.group_commit import GroupCommitter

log = structlog.get_logger("ledger.commands")


class BatchingService:
    """Runs commands against the event store with the given ports, writing concurrent ones together."""

    def __init__(self, store: LedgerStore, ports: Ports, *, max_batch: int = 256, max_attempts: int = 50) -> None:
        self.store = store
        self.ports = ports
        self.max_batch = max_batch
        self.max_attempts = max_attempts
        self.committer = GroupCommitter(store, max_batch=max_batch)
        self.locks = AccountLocks()

    def handle(self, command: Any) -> Outcome:
        """Run one command; raises a :class:`LedgerError` subclass on refusal (nothing written)."""
        with self.locks(getattr(command, "account", None)):
            return self._handle(command)

    def _handle(self, command: Any) -> Outcome:
        handler = handler_for(command)
        name = type(command).__name__
        account = getattr(command, "account", None)
        trust_cache = True
        conflicted = False
        memo: dict[str, Any] = {}  # what an attempt asked the gateway for, for a retry to ask again
        for attempt in range(1, self.max_attempts + 1):
            unit = Unit(self.store, self.ports, getattr(command, "actor", None), after_conflict=conflicted,
                        memo=memo)
            try:
                with self.store.recent_reads(enabled=trust_cache) as reads:
                    try:
                        outcome: Outcome = handler(unit, command)
                        recordings = self.committer.commit(unit.touched)
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
            log_recorded(account, ((r.domain_event, r.notification.id) for r in recordings))
            return outcome
        raise ConcurrencyExhausted(f"gave up after {self.max_attempts} concurrent conflicts", field="account")

    def close(self) -> None:
        """Write what is queued and stop the committer."""
        self.committer.close()
