"""The eventsourcing Application that stores Accounts and unidentified payments.

Besides the library's aggregate cache (which checks the database for newer events on every load), the store
keeps a *write-through* cache of the Accounts it has just committed through group commit
(:mod:`ledger.store.group_commit`). A command that opts in with :meth:`LedgerStore.recent_reads` loads from it
without a database round trip. That copy can be stale only if another process wrote the account since; the
caller detects it (the save fails with a version conflict, which evicts the entry, or a refusal is decided
again on fresh state), so no decision is ever recorded on stale state.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    InternalError,
    Mapper,
    Notification,
    OperationalError,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import Environment, EnvType

from ledger.aggregates import Account, UnidentifiedPayment
from ledger.aggregates.events.base import Event
from ledger.aggregates.logins import PortalLogin
from ledger.config import Settings
from ledger.errors import NotFound
from ledger.personal.vault import Vault, open_vault
from ledger.ports.tokens import load_or_create_secret
from ledger.store import seals
from ledger.store.intents import GatewayBook
from ledger.store.mapper import MsgspecMapper, StaleSnapshot
from ledger.store.recent import RecentAccounts, RecentReads
from ledger.store.snapshots import prune_older
from ledger.store.sqlite_durable import SEAL_KEY

log = structlog.get_logger("ledger.store")


class Aggregate(Protocol):
    """What the store saves: an Account or an unidentified payment, with the events it has not saved yet."""

    @property
    def id(self) -> UUID: ...

    def collect_events(self) -> list[Event]:
        """Hand over (and forget) the pending events."""
        ...


class LedgerStore(Application[UUID]):
    """Event store of the ledger; its notification log is the one ordered history."""

    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Account: 100}
    snapshotting_projectors: ClassVar[dict[type[Any], Any]] = {Account: Account.projector}

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.recent = RecentAccounts(settings.aggregate_cache)
        self._local = threading.local()
        recorder = {"APPLICATION_RECORDER_TOPIC": "ledger.store.group_commit:SQLiteGroupRecorder"} \
            if settings.store == "sqlite" else {}
        recorder[SEAL_KEY] = self.seal_key().hex()  # every event is sealed as it is written (store.seals)
        merged = {**settings.eventsourcing_env(), **recorder, **(env or {})}
        type(self).snapshotting_intervals = {Account: settings.snapshot_interval}
        for attempt in range(8):
            try:
                super().__init__(env=merged)
                if settings.store == "sqlite":
                    sqlite: Any = self.recorder  # the SQLite group recorder (its datastore and table)
                    with sqlite.datastore.transaction(commit=True) as cursor:
                        seals.create(cursor, sqlite.events_table_name, self.seal_key())
                return
            except InternalError as error:  # two instances creating the PostgreSQL tables at the same moment
                if "concurrently" not in str(error) or attempt == 7:
                    raise
                time.sleep(0.05 * (attempt + 1))
            except OperationalError:  # the pool got no connection: ask libpq once more, for the reason
                if settings.store != "postgres":
                    raise
                from ledger.store.postgres_factory import connect_directly

                connect_directly(settings.postgres_dsn).close()  # raises "unreachable" with libpq's reason
                raise

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """The library's configuration from the settings alone, never from ``os.environ`` (the library's own
        ``construct_env`` merges it in): it looks a name up as ``<APP NAME>_<NAME>`` first, so with the app named
        ``Ledger`` it would read the ledger's own variables as its settings (``LEDGER_CIPHER_KEY`` as its
        ``CIPHER_KEY``, turning on its AESCipher and failing every process). Settings read every variable once."""
        values = dict(type(self).env)
        if type(self).is_snapshotting_enabled or type(self).snapshotting_intervals:
            values["IS_SNAPSHOTTING_ENABLED"] = "y"
        return Environment(name, {**values, **(env or {})})

    @functools.cached_property
    def personal(self) -> Vault:
        """The per-account keys that seal personal data (opened on first use: :mod:`ledger.personal.vault`)."""
        return open_vault(self.settings)

    def close(self) -> None:
        """Close the event store and the key table (if it was opened)."""
        vault = self.__dict__.pop("personal", None)
        if vault is not None:
            vault.close()
        super().close()
    def seal_key(self) -> bytes:
        """The ledger's secret, which keys the seals of the events and the hash chain."""
        given = self.settings.secret.value.encode() if self.settings.secret is not None else None
        return load_or_create_secret(self.settings.home / "secret", given)

    @functools.cached_property
    def gateway_book(self) -> GatewayBook:
        """The gateway intents and the reconciliation list, in this store (:mod:`ledger.store.intents`)."""
        return GatewayBook(self.recorder)

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.factory.transcoder(), mapper_class=MsgspecMapper)

    def account(self, aggregate_id: UUID, version: int | None = None) -> Account:
        """Load an Account (from its latest snapshot plus later events), or raise NotFound.

        Inside :meth:`recent_reads` on this thread, an Account committed through group commit is taken out of
        the write-through cache without asking the database (the command owns it until it is committed).
        """
        reads: RecentReads | None = getattr(self._local, "reads", None)
        if version is None and reads is not None:
            cached = self.recent.checkout(aggregate_id, reads)
            if cached is not None:
                reads.taken.append(cached)
                reads.versions.append(cached.version)
                return cached
        try:
            found: Account | None = self.repository.get(aggregate_id, version=version,
                                                         projector_func=Account.projector)
        except AggregateNotFoundError:
            raise NotFound("no such account", field="account") from None
        except StaleSnapshot:
            found = Account.projector(None, self.events.get(aggregate_id, lte=version))
            if found is None:
                raise NotFound("no such account", field="account") from None
        assert found is not None
        return found

    def known(self, aggregate_id: UUID) -> bool:
        """Whether any event of ``aggregate_id`` is stored: one indexed read, where loading an aggregate that does
        not exist asks for its snapshot and then for its events (each opening of an account: 112 against 62 us)."""
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def unidentified(self, aggregate_id: UUID) -> UnidentifiedPayment:
        """Load an unidentified payment, or raise NotFound."""
        try:
            found: UnidentifiedPayment = self.repository.get(aggregate_id,
                                                             projector_func=UnidentifiedPayment.projector)
        except AggregateNotFoundError:
            raise NotFound("no such unidentified payment", field="payment_id") from None
        return found

    def login(self, aggregate_id: UUID) -> PortalLogin | None:
        """The portal login of an email, or None when no account claimed it yet."""
        try:
            found: PortalLogin = self.repository.get(aggregate_id, projector_func=PortalLogin.projector)
        except AggregateNotFoundError:
            return None
        return found

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's ``save`` (collect pending events of aggregates, record them in one transaction, snapshot,
        notify) without its runtime protocol checks, which cost ~25 us an object: anything with
        ``collect_events`` is an aggregate, anything else an event."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if obj is None:
                continue
            collect = getattr(obj, "collect_events", None)
            if collect is None:
                processing_event.events.append(obj)
            else:
                processing_event.events.extend(collect())
                processing_event.aggregates[obj.id] = obj
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)
        return recordings

    def record(self, events: Sequence[Event]) -> list[Recording[UUID]]:
        """Write ``events`` in one transaction; the same as ``save(*events)`` without the library's per-object
        runtime protocol checks (~25 us an event) and snapshot hooks: :meth:`prepare`, :meth:`insert` and
        :meth:`recordings`, which the group committer runs on separate threads."""
        stored = self.prepare(events)
        return self.recordings(events, stored, self.insert(stored))

    def prepare(self, events: Sequence[Event]) -> list[StoredEvent]:
        """``events`` encoded as the store keeps them (the group committer's callers do this themselves)."""
        return [self.mapper.to_stored_event(event) for event in events]

    def insert(self, stored: Sequence[StoredEvent], resolving: Sequence[str] = ()) -> Sequence[int]:
        """Write encoded events in one transaction; their notification ids (log positions), in order. The gateway
        intents ``resolving`` (whose outcome these events record) are removed in the same transaction on SQLite
        (:class:`ledger.store.group_commit.SQLiteGroupRecorder`), in one more after it elsewhere (one that fails
        is logged and left for reconciliation, as :meth:`ledger.commands.unit.Unit.committed` does)."""
        if not resolving or not getattr(self.recorder, "resolves_intents", False):
            ids = self.recorder.insert_events(stored)
        else:
            ids = self.recorder.insert_events(stored, resolving=resolving)
            resolving = ()
        assert ids is not None and len(ids) == len(stored)
        if resolving:
            try:
                self.gateway_book.resolve(list(resolving))
            except Exception as error:  # the events are recorded: reconciliation resolves these intents
                log.error("after_commit_failed", error=repr(error), exc_info=error)
        return ids

    @staticmethod
    def recordings(events: Sequence[Event], stored: Sequence[StoredEvent], ids: Sequence[int]) -> list[Recording[UUID]]:
        """What :meth:`record` returns, for events written by :meth:`insert`."""
        return [Recording(event, Notification(originator_id=s.originator_id, originator_version=s.originator_version,
                                              topic=s.topic, state=s.state, id=n))
                for event, s, n in zip(events, stored, ids, strict=True)]

    @contextmanager
    def recent_reads(self, *, enabled: bool = True) -> Iterator[RecentReads]:
        """Let this thread's :meth:`account` loads come from the write-through cache; the caller learns what it
        took, to give back what it did not change (:meth:`give_back`) and to decide a refusal again on fresh
        state when it may have read a stale copy."""
        reads = RecentReads()
        previous = getattr(self._local, "reads", None)
        self._local.reads = reads if enabled else None
        try:
            yield reads
        finally:
            self._local.reads = previous

    def remember(self, aggregate: Aggregate) -> None:
        """Keep a just-committed Account in the write-through cache (it must not be mutated afterwards)."""
        if isinstance(aggregate, Account) and not aggregate.pending_events:
            self.recent.put(aggregate)

    def give_back(self, reads: RecentReads) -> None:
        """Put back the Accounts a command took and left unchanged (a refusal records nothing); release the
        others (changed: the committer has put the new version back, or the change failed)."""
        for account, version in zip(reads.taken, reads.versions, strict=True):
            if account.version == version and not account.pending_events:
                self.recent.put(account)
            else:
                self.recent.release(account.id, reads)

    def forget(self, aggregates: Iterable[Aggregate]) -> None:
        """Drop aggregates from the write-through cache (after a version conflict: someone else wrote)."""
        for aggregate in aggregates:
            self.recent.discard(aggregate.id)

    def snapshots_due(self, aggregates: Iterable[object], events: Iterable[DomainEventProtocol[UUID]]) -> list[Account]:
        """The Accounts among ``aggregates`` whose new ``events`` crossed a multiple of the snapshot interval."""
        interval = self.settings.snapshot_interval
        first: dict[UUID, int] = {}
        for event in events:  # an aggregate's new events are in version order: the first is the lowest
            first.setdefault(event.originator_id, event.originator_version)
        return [a for a in aggregates if isinstance(a, Account) and a.id in first
                and a.version // interval > (first[a.id] - 1) // interval]

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot saved Accounts from the objects in hand (the library reloads each one from the database)."""
        due = self.snapshots_due(processing_event.aggregates.values(), processing_event.events)
        if due:
            self.write_snapshots(self.encode_snapshots(due))

    def encode_snapshots(self, accounts: Iterable[Account]) -> list[StoredEvent]:
        """Snapshots of ``accounts`` as they are now, encoded at once (before anyone changes them again)."""
        if self.snapshots is None:
            return []
        return [self.snapshots.mapper.to_stored_event(Account.Snapshot.take(account)) for account in accounts]

    def write_snapshots(self, records: list[StoredEvent]) -> None:
        """Write encoded snapshots in one transaction, then remove the ones they supersede."""
        if self.snapshots is not None and records:
            self.snapshots.recorder.insert_events(records)
            prune_older(self.snapshots.recorder, records)
