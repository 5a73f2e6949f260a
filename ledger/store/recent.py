"""The store's write-through cache of just-committed Accounts (see
:meth:`ledger.store.application.LedgerStore.recent_reads`).

A command that opts in loads from it without a database round trip; a stale copy is caught by the save's
version conflict, which evicts the entry.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from uuid import UUID

from ledger.aggregates import Account


@dataclass
class RecentReads:
    """The Accounts one command attempt took out of the write-through cache (see
    :meth:`LedgerStore.recent_reads`)."""

    taken: list[Account] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)

    @property
    def hits(self) -> int:
        """How many loads the cache served."""
        return len(self.taken)


class RecentAccounts:
    """A bounded, thread-safe LRU of committed Accounts by id; never goes back to an older version.

    An Account is *checked out* by the command that uses it and put back by the committer once the command's
    events are durable, so a command mutates it in place and nothing is ever copied: at any moment each cached
    object has at most one user. A second command on a checked-out account waits (up to ``wait`` seconds) for
    it to come back at its new version, instead of deciding on an older one and losing a version conflict.
    """

    def __init__(self, maxsize: int, wait: float = 0.2) -> None:
        self.maxsize = maxsize
        self.wait = wait
        self._items: OrderedDict[UUID, Account] = OrderedDict()
        self._out: dict[UUID, object] = {}
        self._changed = threading.Condition()
        self._waiting = 0  # threads inside checkout's wait: only then does a change need a notification

    def checkout(self, aggregate_id: UUID, owner: object) -> Account | None:
        """Take the cached Account out for ``owner``, or None (not cached, or still out after ``wait``)."""
        deadline = time.monotonic() + self.wait
        with self._changed:
            while aggregate_id in self._out and aggregate_id not in self._items:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._waiting += 1
                try:
                    self._changed.wait(remaining)
                finally:
                    self._waiting -= 1
            found = self._items.pop(aggregate_id, None)
            if found is not None:
                self._out[aggregate_id] = owner
            return found

    def put(self, account: Account) -> None:
        """Keep ``account`` (now committed at its version) unless a newer one is cached; it is no longer out."""
        with self._changed:
            self._out.pop(account.id, None)
            known = self._items.get(account.id)
            if self.maxsize > 0 and (known is None or known.version < account.version):
                self._items[account.id] = account
                self._items.move_to_end(account.id)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
            if self._waiting:
                self._changed.notify_all()

    def release(self, aggregate_id: UUID, owner: object) -> None:
        """``owner`` will not bring the account back (it changed it and did not commit)."""
        with self._changed:
            if self._out.get(aggregate_id) is owner:
                del self._out[aggregate_id]
                if self._waiting:
                    self._changed.notify_all()

    def discard(self, aggregate_id: UUID) -> None:
        """Forget one account."""
        with self._changed:
            self._items.pop(aggregate_id, None)
            self._out.pop(aggregate_id, None)
            self._changed.notify_all()

