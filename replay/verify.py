"""``ledger audit verify``: is everything derived from the log still true to it?

1. The hash chain over the stored events: an edited, inserted or deleted event row is detected and named; an
   anchor kept elsewhere (a ``POSITION:HASH`` printed by an earlier verification or export) detects a
   rewritten chain file.
2. Every projection is rebuilt from the log into a scratch file, up to the position the serving one is at, and
   compared with it table by table (the first differing row is named). The serving file is read in one
   transaction, so the service may keep writing while it is checked.
3. The invariants over the whole history: conservation per payment, no over-application, oldest first, double
   entry (``ledger.invariants``), ACH returns that leave no money moved, and idempotency keys used once.

A stored event that cannot be decoded (a row edited into garbage) is itself a finding naming its position and
topic; the hash chain is still checked, and the projections and invariants, which need every event, are
reported as not checked rather than judged on a history with holes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from eventsourcing.persistence import Mapper

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import Event
from ledger.cards import card_number_field, printed_card_number_in_text
from ledger.errors import ValidationError
from ledger.invariants import InvariantChecker
from ledger.ports.clock import DEFAULT_ZONE, local_text
from ledger.projections import audit_queries, fresh
from ledger.projections.chain import StoredNote
from ledger.projections.compare import differences
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.rebuild import build_all
from ledger.projections.runner import StoreLog, connect, position_of
from ledger.store.mapper import decode_event, plain_state

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore

#: Events that carry the idempotency key of the request that recorded them (DESIGN invariant 6).
KEYED = (ev.PaymentSubmitted, ev.PaymentRefunded, ev.CreditRefunded, ev.PaymentReceivedUnidentified)


class Finding(msgspec.Struct, frozen=True):
    """One discrepancy: which check found it and where."""

    check: str
    detail: str


class Checked(msgspec.Struct, frozen=True):
    """A projection compared with a rebuild, at the position it was serving."""

    projection: str
    position: int


class Verification(msgspec.Struct, frozen=True):
    """The outcome of ``audit verify``: ``ok`` only when there is no finding. ``notices`` are what a person
    must look at but the books do not depend on: an event whose text only the wider reading of card numbers
    takes for one (``card_number_possible``), which no command can remove and which a later release's wider
    reading may find in a store it once passed, so it cannot fail every verification from then on; a card number
    as the networks print it stays a finding (``card_number``)."""

    ok: bool
    events: int
    findings: list[Finding]
    projections: list[Checked] = []
    #: ``POSITION:HASH`` of the chain's last link: keep it elsewhere, pass it back with ``--anchor``.
    chain_head: str = ""
    notices: list[Finding] = []


def parse_anchor(text: str) -> tuple[int, str]:
    """``1234:9f86d0...`` -> (1234, "9f86d0...")."""
    position, _, digest = text.partition(":")
    if not position.isdigit() or len(digest) != 64:
        raise ValidationError("an anchor is POSITION:SHA256-HEX, as printed by audit verify", field="anchor")
    return int(position), digest.lower()


def chain_findings(keeper: ProjectionKeeper, anchors: Sequence[tuple[int, str]] = ()) -> tuple[str, list[Finding]]:
    """(head, findings): rows of the events table that no longer match the hash chain (extended first to the
    newest event), and anchors kept elsewhere that the chain file no longer holds."""
    chain = keeper.chain
    chain.catch_up(keeper.events)
    mismatches = chain.verify(keeper.events)
    names = account_names(keeper) if mismatches else {}
    found = [Finding("hash_chain", f"position {p.position} ({_whose(names, str(p.originator))} version "
                                   f"{p.version}): {p.problem}") for p in mismatches]
    for position, digest in anchors:
        held = chain.at(position)
        if held is None:  # the chain never shrinks: cut short, or an anchor of another ledger
            found.append(Finding("chain_anchor", f"position {position}: the chain ends at {chain.head()[0]}, the "
                                                 f"anchor says {digest} (the chain file was cut short, or the "
                                                 f"anchor is from another ledger)"))
        elif held != digest:
            found.append(Finding("chain_anchor", f"position {position}: the chain holds {held}, the "
                                                 f"anchor says {digest} (the chain file was rewritten)"))
    position, digest = chain.head()
    return f"{position}:{digest}", found


def account_names(keeper: ProjectionKeeper) -> dict[str, str]:
    """Account ids by aggregate id, from the audit read model (empty when it cannot be read): findings name
    the account a finance user knows, not only its UUID."""
    try:
        return audit_queries.account_ids(keeper.connection("audit"))
    except Exception:  # the read model may be the casualty being investigated: the UUID alone will do
        return {}


def _whose(names: dict[str, str], aggregate: str) -> str:
    name = names.get(aggregate)
    return f"account {name}, aggregate {aggregate}," if name else f"account aggregate {aggregate}"


def projection_findings(keeper: ProjectionKeeper, scratch: Path,
                        progress: Callable[[int], None] | None = None) -> tuple[list[Checked], list[Finding]]:
    """Rebuild every projection into ``scratch`` up to the position its serving file is at, and compare.

    The serving files are read in one transaction each (position and rows of one moment), so the service
    may keep writing meanwhile; big logs are rebuilt one process per projection.
    """
    projections = fresh()
    stored = [keeper.files.open(projection) for projection in projections]
    try:
        for db in stored:
            db.execute("begin")
        ats = [position_of(db, projection) for projection, db in zip(projections, stored, strict=True)]
        paths = [scratch / f"{projection.name}.db" for projection in projections]
        try:
            build_all(projections, paths, keeper.events, stops=ats, progress=progress)
        except Exception as error:  # a handler that cannot follow the log is itself a finding
            return [], [Finding("projection_rebuild", f"the projections cannot be rebuilt: {error!r}")]
        found = []
        for projection, db, path in zip(projections, stored, paths, strict=True):
            rebuilt = connect(path)
            found += [Finding("projection_diff", d.describe()) for d in differences(rebuilt, db, projection.name)]
            rebuilt.close()
        return [Checked(p.name, at) for p, at in zip(projections, ats, strict=True)], found
    finally:
        for db in stored:
            db.close()


def _where(position: int, event: Event) -> str:
    """``position 7 (PaymentSettled, aggregate UUID version 4)``: where a finding about one event is."""
    return (f"position {position} ({type(event).__name__}, aggregate {event.originator_id} version "
            f"{event.originator_version})")


def invariant_findings(history: Iterable[tuple[int, Event]],
                       zone: ZoneInfo | None = None) -> tuple[int, list[Finding]]:
    """(events read, violations) of the design's invariants over ``history``; the instants they name exactly, in
    ``zone`` (DEFAULT_ZONE if left out)."""
    tz = zone or ZoneInfo(DEFAULT_ZONE)
    checker = InvariantChecker()
    keys: dict[tuple[UUID, str, str], int] = {}
    newest: dict[UUID, datetime] = {}
    found: list[Finding] = []
    count = 0
    for position, event in history:
        checker.feed([event])
        count += 1
        plain = msgspec.to_builtins(event)
        if card_number_field(plain) is not None:  # kept from before ids were checked, or a wider reading since
            printed = card_number_field(plain, reads=printed_card_number_in_text) is not None
            found.append(Finding("card_number" if printed else "card_number_possible",
                                 f"{_where(position, event)} holds "
                                 f"{'a card number' if printed else 'what may be a card number'} (not shown)"))
        before = newest.get(event.originator_id)
        if before is not None and event.timestamp < before:
            found.append(Finding("event_order", f"{_where(position, event)} is dated "
                                                f"{local_text(event.timestamp, tz, exact=True)}, before the "
                                                f"aggregate's earlier event at {local_text(before, tz, exact=True)}: "
                                                f"its statements and as-of "
                                                f"replays disagree"))
        else:
            newest[event.originator_id] = event.timestamp
        if isinstance(event, KEYED):
            key = (event.originator_id, type(event).__name__, event.idempotency_key)
            if key in keys:
                found.append(Finding("invariant", f"idempotency key {key[2]!r} of {key[1]} recorded twice "
                                                  f"(positions {keys[key]} and {position})"))
            keys[key] = position
    return count, found + [Finding("invariant", v) for v in checker.check()]


def decoded_events(log: StoreLog, mapper: Mapper[UUID], unreadable: list[Finding], *, batch: int = 10_000,
                   progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, Event]]:
    """(position, event) for every stored event that can be decoded, in log order; each one that cannot is
    appended to ``unreadable`` as an ``event_decode`` finding naming its position and topic, and reading goes on.

    Batches are decoded whole; only a batch that fails is read again as stored rows and decoded one by one.
    """
    after = 0
    while True:
        try:
            items = log.read(after, batch)
            last = items[-1][0] if items else after
        except Exception:  # any failure to decode (malformed JSON, a wrong shape, an unknown topic) is a finding
            notes = log.read_raw(after, batch)
            items = list(_decode_each(notes, mapper, unreadable))
            last = notes[-1].id if notes else after
        if last == after:
            return
        if progress is not None:
            progress(last - after)
        yield from items
        after = last


def _decode_each(notes: Iterable[StoredNote], mapper: Mapper[UUID],
                 unreadable: list[Finding]) -> Iterator[tuple[int, Event]]:
    """Decode stored rows one by one (through the store's mapper: cipher, compression), naming each that fails."""
    for note in notes:
        try:
            yield note.id, decode_event(note.topic, plain_state(mapper, note.state))
        except Exception as error:  # reported, not raised: the rest of the log is still checked
            unreadable.append(Finding("event_decode", f"position {note.id} (topic {note.topic}, account aggregate "
                                                      f"{note.originator_id} version {note.originator_version}): "
                                                      f"cannot be decoded: {type(error).__name__}: {error}"))


#: Checks whose findings are notices (:class:`Verification`): text only the wider reading takes for a card number
#: (a card number as the networks print it, 4111 1111 1111 1111, stays a discrepancy: ``card_number``).
NOTICES = frozenset({"card_number_possible"})


def not_checked(check: str, what: str, unreadable: Sequence[Finding]) -> Finding:
    """The finding that stands for a check skipped because some stored events cannot be decoded."""
    return Finding(check, f"not checked: {len(unreadable)} stored event(s) cannot be decoded (see the "
                          f"event_decode findings) and {what} need every event")


def verify(store: LedgerStore, keeper: ProjectionKeeper, anchors: Sequence[tuple[int, str]] = (),
           catch_up_failure: str | None = None, progress: Callable[[int], None] | None = None,
           zone: ZoneInfo | None = None) -> Verification:
    """Run every check; ``ok`` only when none finds anything.

    The hash chain is checked first and always; an undecodable event is named, and the projections and
    invariants are then reported as not checked instead of failing the whole verification.
    ``catch_up_failure`` is why the caller could not bring the projections up to the head first: unless an
    undecodable event explains it, it is a finding of its own (``projection_catch_up``), since the projections
    were then compared only as far as they had got. ``progress`` is told of the events read, twice over the
    log: once checked, once rebuilt into the projections compared. Instants in findings are in ``zone``.
    """
    head, chained = chain_findings(keeper, anchors)
    unreadable: list[Finding] = []
    count, invariants = invariant_findings(decoded_events(keeper.events, store.mapper, unreadable,
                                                          progress=progress), zone)
    if unreadable:
        checked: list[Checked] = []
        projections = [not_checked("projection_rebuild", "the projections", unreadable)]
        invariants = [not_checked("invariant", "the invariants", unreadable)]
    else:
        with tempfile.TemporaryDirectory(prefix=".verify-", dir=keeper.files.folder) as scratch:
            checked, projections = projection_findings(keeper, Path(scratch), progress)
        if catch_up_failure:
            projections.insert(0, Finding("projection_catch_up", f"the projections could not be brought up to "
                                                                 f"the head of the log ({catch_up_failure}); they "
                                                                 f"were compared as far as they had got"))
    notices = [finding for finding in invariants if finding.check in NOTICES]
    findings = chained + unreadable + projections + [f for f in invariants if f.check not in NOTICES]
    return Verification(not findings, count, findings, checked, head, notices)
