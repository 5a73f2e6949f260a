"""The application service with group commit: ``BatchingService.handle(command)``, same interface as
:class:`ledger.commands.dispatch.LedgerService`, switched on by ``LEDGER_GROUP_COMMIT=1``.

Each caller decides its command on its own thread (load, check the rules, record events) and hands the changed
aggregates to the store's :class:`ledger.store.group_commit.GroupCommitter`, which writes the commands that
arrive together in one transaction. Accounts are loaded from the store's write-through cache of recently
committed Accounts, so a command on a busy account costs no database read. The rules stay exact (the command
loop is :class:`LedgerService`'s, with this committer):

* commands on one account take turns in this process (they could not share a group anyway), and a version
  conflict (another process saved the account first) decides the command again on fresh state, as the plain
  service does;
* a refusal decided on a cached copy is decided once more on fresh state before it is reported, so a copy that
  another process made stale can never refuse a valid command;
* an error that fails one command's write is that command's alone: the others of its group are written.
"""

from __future__ import annotations

from typing import cast

from ledger.aggregates import events as ev
from ledger.commands.dispatch import LedgerService
from ledger.commands.unit import Unit
from ledger.ports import Ports
from ledger.store.application import LedgerStore
from ledger.store.group_commit import GroupCommitter


class BatchingService(LedgerService):
    """Runs commands against the event store with the given ports, writing concurrent ones together."""

    reads_recent = True

    def __init__(self, store: LedgerStore, ports: Ports, *, max_batch: int = 256, max_attempts: int = 50) -> None:
        super().__init__(store, ports, max_attempts=max_attempts)
        self.max_batch = max_batch
        self.committer = GroupCommitter(store, max_batch=max_batch)

    def commit(self, unit: Unit) -> list[tuple[ev.Event, int | None]]:
        """Hand the attempt's aggregates and gateway intents to the group committer; returns once their
        transaction is durable and the intents are resolved (with the group's, one transaction for all)."""
        recordings = self.committer.commit(unit.touched, unit.intents)
        if recordings:
            unit.intents = []  # resolved by the committer: nothing left for Unit.committed
        return [(cast(ev.Event, r.domain_event), r.notification.id) for r in recordings]

    def close(self) -> None:
        """Write what is queued and stop the committer."""
        self.committer.close()
