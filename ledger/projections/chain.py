"""A hash chain over the stored events, kept in its own file, so an edited event row is detected and named.

``hash(n) = HMAC-SHA256(secret, hash(n-1) | position | originator_id | originator_version | topic | state)`` over
the bytes the store holds, keyed with the ledger's secret, so rewriting both the log and the chain needs the
secret. The chain is appended as the log grows (by every projection keeper), a row only when it matches the
seal the database wrote with it (``ledger.store.seals``); ``verify`` recomputes it from the events table and
names every row that no longer matches, any missing or extra rows, and rows past the chain's head that do not
match their seals (edited before anything chained them).

A chain begun before it was keyed keeps its links: ``chain_meta.keyed_from`` is the first position linked with
the key (``sha256`` before it), set when a keyed keeper first opens the file, so an existing chain keeps
verifying; its anchors still vouch for its unkeyed part. ``chain_keying`` holds the MAC of ``keyed_from`` and
of the head before it, written once: a chain rebuilt without the key (no keying, or a ``keyed_from`` moved) is
adopted only when its unkeyed links all predate the store's seals (``SealBook.first``: the ledger had no key
then); otherwise it is refused: ``verify`` reports it and no link is added.

The chain lives in its own file beside the event store (``$LEDGER_HOME/chain.db``, not with the disposable
read models), and its head is printed by ``audit verify`` and written into every ``audit export``: an
anchor kept elsewhere (``audit verify --anchor POSITION:HASH``) also detects a rewrite of the chain file.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from uuid import UUID

import msgspec
import structlog

from ledger.projections.runner import connect
from ledger.store.seals import SealBook

log = structlog.get_logger("ledger.projections")

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore

GENESIS = "0" * 64
TABLE = "create table if not exists chain (position integer primary key, originator text not null, " \
        "version integer not null, hash text not null)"
META = "create table if not exists chain_meta (name text primary key, value integer not null)"
KEYING = "create table if not exists chain_keying (keyed_from integer not null, head text not null, " \
         "mac text not null)"


class Mismatch(msgspec.Struct, frozen=True):
    """One place where the events table and the chain disagree."""

    position: int
    originator: str
    version: int
    problem: str


def state_bytes(state: bytes | bytearray | memoryview | str) -> bytes:
    """The bytes a stored state holds: a state that became TEXT (an edit through SQL that changed its storage
    class) is the UTF-8 bytes of its text, so the chain still names the row as edited instead of failing."""
    return state.encode() if isinstance(state, str) else bytes(state)


def link(previous: str, note: StoredNote, key: bytes | None = None) -> str:
    """The chain hash of one stored notification, given the previous hash (HMAC-SHA256 with ``key``)."""
    digest = hmac.new(key, digestmod=hashlib.sha256) if key is not None else hashlib.sha256()
    digest.update(previous.encode())
    digest.update(f"|{note.id}|{note.originator_id}|{note.originator_version}|{note.topic}|".encode())
    digest.update(state_bytes(note.state))
    return digest.hexdigest()


def content_chain(notes: Iterable[StoredNote]) -> tuple[int, str]:
    """(count, head) of a chain over the events' content in log order, independent of positions: equal for a
    store and its copy in another database, whatever notification ids the copy assigned."""
    head, count = GENESIS, 0
    for note in notes:
        digest = hashlib.sha256(head.encode())
        digest.update(f"|{note.originator_id}|{note.originator_version}|{note.topic}|".encode())
        digest.update(state_bytes(note.state))
        head, count = digest.hexdigest(), count + 1
    return count, head


class StoredNote(Protocol):
    """One stored notification as the chain reads it: a log's raw note, or the library's Notification."""

    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


@runtime_checkable
class NoteSource(Protocol):
    """A log that reads stored notifications as they are (``StoreLog``, ``FileLog``, ``CommittedLog``)."""

    def read_raw(self, after: int, limit: int) -> Sequence[StoredNote]:
        """Up to ``limit`` notifications after position ``after``, in order."""
        ...


def raw_notes(source: NoteSource | LedgerStore, after: int = 0, batch: int = 10_000) -> Iterator[StoredNote]:
    """Every stored notification after ``after``, as the store holds it (no decoding).

    ``source`` is a log with ``read_raw`` (direct reads of an SQLite file) or a store (through its recorder).
    """
    while True:
        notes: Sequence[StoredNote]
        if isinstance(source, NoteSource):
            notes = source.read_raw(after, batch)
        else:
            notes = source.recorder.select_notifications(start=after, limit=batch, inclusive_of_start=False)
        if not notes:
            return
        yield from notes
        after = notes[-1].id


def keying(key: bytes, keyed_from: int, head: str) -> str:
    """The MAC of where a chain's keyed links begin and of the (unkeyed) head before them."""
    return hmac.new(key, f"keyed_from|{keyed_from}|{head}".encode(), hashlib.sha256).hexdigest()


class HashChain:
    """The chain file: append new links, verify the events table against it."""

    def __init__(self, path: Path | str, key: bytes | None = None, seals: SealBook | None = None) -> None:
        self.db: sqlite3.Connection = connect(path)
        self.db.execute(TABLE)
        self.key = key
        self.seals = seals
        self.keyed_from = 1 << 62  # never, without a key
        self.refused: str | None = None  # why this chain file is not trusted (rebuilt without the key)
        if key is not None:
            self.db.execute(META)
            self.db.execute(KEYING)
            self.db.execute("begin immediate")
            try:
                self._keyed(key)
                self.db.execute("commit")
            except BaseException:
                self.db.execute("rollback")
                raise

    def _keyed(self, key: bytes) -> None:
        """Read (or, for a new or older chain, write) where the key begins, checked against its MAC."""
        row = self.db.execute("select value from chain_meta where name = 'keyed_from'").fetchone()
        keyed_from = int(row[0]) if row else self.head()[0] + 1
        kept = self.db.execute("select keyed_from, head, mac from chain_keying").fetchone()
        if kept is None and self._adoptable(keyed_from):
            head = self.at(keyed_from - 1) or GENESIS
            kept = (keyed_from, head, keying(key, keyed_from, head))
            self.db.execute("insert or ignore into chain_meta values ('keyed_from', ?)", (keyed_from,))
            self.db.execute("insert into chain_keying values (?, ?, ?)", kept)
        self.keyed_from = keyed_from
        if kept is None or int(kept[0]) != keyed_from or str(kept[1]) != (self.at(keyed_from - 1) or GENESIS) \
                or not hmac.compare_digest(keying(key, keyed_from, str(kept[1])), str(kept[2])):
            self.refused = ("chain file not keyed as recorded: rebuilt or altered without the ledger's secret "
                            "(keep the findings, then delete chain.db: the next keeper rebuilds it keyed)")
            log.error("chain_refused", problem=self.refused)

    def _adoptable(self, keyed_from: int) -> bool:
        """Whether a chain without its keying may be keyed from ``keyed_from``: it is new, or its unkeyed links
        all predate the store's seals (the ledger had no key then; a store without seals cannot tell)."""
        first = self.seals.first if self.seals is not None else None
        return self.head()[0] == 0 or first is None or keyed_from <= first

    def _link(self, previous: str, note: StoredNote) -> str:
        return link(previous, note, self.key if note.id >= self.keyed_from else None)

    def at(self, position: int) -> str | None:
        """The hash of the link at ``position`` (None when the chain has none there)."""
        row = self.db.execute("select hash from chain where position = ?", (position,)).fetchone()
        return str(row[0]) if row else None

    def head(self) -> tuple[int, str]:
        """(position, hash) of the last link, or (0, GENESIS)."""
        row = self.db.execute("select position, hash from chain order by position desc limit 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def extend(self, notes: Iterable[StoredNote]) -> int:
        """Append links for ``notes`` past the head (earlier ones are skipped); returns how many were added.

        The head is read under the write lock, so keepers in several processes can extend the chain at once.
        """
        if self.refused is not None:
            return 0  # never vouch for more on a chain that cannot be trusted: verify reports it
        self.db.execute("begin immediate")
        try:
            position, previous = self.head()
            rows = []
            for note in notes:
                if note.id <= position:
                    continue
                problem = self.seals.problem(note) if self.seals is not None else None
                if problem is not None:  # never vouch for it: audit verify names it
                    log.error("event_not_chained", log_position=note.id, problem=problem)
                    break
                previous = self._link(previous, note)
                rows.append((note.id, str(note.originator_id), note.originator_version, previous))
            self.db.executemany("insert into chain values (?, ?, ?, ?)", rows)
            self.db.execute("commit")
        except BaseException:
            self.db.execute("rollback")
            raise
        return len(rows)

    def catch_up(self, source: NoteSource | LedgerStore) -> int:
        """Append links for every stored event past the head (``source``: a store or a log, see ``raw_notes``)."""
        added = 0
        position, _ = self.head()
        batch: list[StoredNote] = []
        for note in raw_notes(source, position):
            batch.append(note)
            if len(batch) >= 10_000:
                added += self.extend(batch)
                if self.head()[0] < batch[-1].id:  # stopped at a row that does not match its seal
                    return added
                batch = []
        return added + (self.extend(batch) if batch else 0)

    def verify(self, source: NoteSource | LedgerStore) -> list[Mismatch]:
        """Recompute the chain from the events table up to the chain's head; every disagreement, earliest first.

        Events recorded after the head are checked against their seals (an unsealed store's are not judged:
        they are chained by the next catch-up).
        """
        problems = [Mismatch(0, "", 0, self.refused)] if self.refused is not None else []
        head, _ = self.head()
        links = self.db.execute("select position, originator, version, hash from chain order by position")
        expected: Iterator[tuple[int, str, int, str]] = iter(links)
        previous = GENESIS
        for note in raw_notes(source):
            if note.id > head:
                problem = self.seals.problem(note) if self.seals is not None else None
                if problem is not None:
                    problems.append(Mismatch(note.id, str(note.originator_id), note.originator_version, problem))
                continue
            row = next(expected, None)
            while row is not None and row[0] < note.id:
                problems.append(Mismatch(row[0], row[1], row[2], "event row deleted"))
                previous = row[3]
                row = next(expected, None)
            if row is None or row[0] > note.id:
                problems.append(Mismatch(note.id, str(note.originator_id), note.originator_version,
                                         "event row inserted"))
                if row is not None:
                    expected = itertools.chain([row], expected)
                continue
            if self._link(previous, note) != row[3]:
                problems.append(Mismatch(note.id, str(note.originator_id), note.originator_version,
                                         "event row edited"))
            previous = row[3]
        for row in expected:
            problems.append(Mismatch(row[0], row[1], row[2], "event row deleted"))
        return problems

    def close(self) -> None:
        """Close the file."""
        self.db.close()
        if self.seals is not None:
            self.seals.close()
