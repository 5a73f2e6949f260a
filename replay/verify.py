"""``ledger audit verify``: is everything derived from the log still true to it?

1. The hash chain over the stored events: an edited, inserted or deleted event row is detected and named.
2. Every projection is rebuilt from the log into a scratch file, up to the position the serving one is at, and
   compared with it table by table (the first differing row is named). The serving file is read in one
   transaction, so the service may keep writing while it is checked.
3. The invariants over the whole history: conservation per payment, no over-application, oldest first, double
   entry (``ledger.invariants``), ACH returns that leave no money moved, and idempotency keys used once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from ledger.aggregates import events as ev
from ledger.invariants import InvariantChecker
from ledger.projections import fresh
from ledger.projections.base import Projection
from ledger.projections.chain import HashChain
from ledger.projections.compare import differences
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.runner import bulk_gc, catch_up, connect, position_of
from replay.history import events

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
    """The outcome of ``audit verify``: ``ok`` only when there is no finding."""

    ok: bool
    events: int
    findings: list[Finding]
    projections: list[Checked] = []


def chain_findings(store: Any, keeper: ProjectionKeeper) -> list[Finding]:
    """Rows of the events table that no longer match the hash chain (extended first to the newest event)."""
    chain = HashChain(keeper.chain_path)
    try:
        chain.catch_up(store)
        return [Finding("hash_chain", f"position {p.position} (account aggregate {p.originator} version "
                                      f"{p.version}): {p.problem}") for p in chain.verify(store)]
    finally:
        chain.close()


def projection_findings(projection: Projection, keeper: ProjectionKeeper, scratch: Path) -> tuple[Checked,
                                                                                                 list[Finding]]:
    """Rebuild ``projection`` into ``scratch`` up to the serving file's position and compare the two."""
    stored = keeper.files.open(projection)
    stored.execute("begin")  # position and rows of one moment, whatever the service writes meanwhile
    try:
        at = position_of(stored, projection)
        rebuilt = connect(scratch / f"{projection.name}.db", staging=True)
        try:
            with bulk_gc():
                catch_up([(type(projection)(), rebuilt)], keeper.events, batch=20_000, stop=at)
            found = [Finding("projection_diff", d.describe()) for d in differences(rebuilt, stored, projection.name)]
        except Exception as error:  # a handler that cannot follow the log is itself a finding
            found = [Finding("projection_rebuild", f"{projection.name} cannot be rebuilt: {error!r}")]
        finally:
            rebuilt.close()
    finally:
        stored.execute("rollback")
        stored.close()
    return Checked(projection.name, at), found


def invariant_findings(history: Iterable[tuple[int, Any]]) -> tuple[int, list[Finding]]:
    """(events read, violations) of the design's invariants over ``history``."""
    checker = InvariantChecker()
    keys: dict[tuple[Any, str, str], int] = {}
    found: list[Finding] = []
    count = 0
    for position, event in history:
        checker.feed([event])
        count += 1
        if isinstance(event, KEYED):
            key = (event.originator_id, type(event).__name__, event.idempotency_key)
            if key in keys:
                found.append(Finding("invariant", f"idempotency key {key[2]!r} of {key[1]} recorded twice "
                                                  f"(positions {keys[key]} and {position})"))
            keys[key] = position
    return count, found + [Finding("invariant", v) for v in checker.check()]


def verify(store: Any, keeper: ProjectionKeeper) -> Verification:
    """Run every check; ``ok`` only when none finds anything."""
    findings = chain_findings(store, keeper)
    checked: list[Checked] = []
    with tempfile.TemporaryDirectory(prefix=".verify-", dir=keeper.files.folder) as scratch:
        for projection in fresh():
            done, found = projection_findings(projection, keeper, Path(scratch))
            checked.append(done)
            findings += found
    count, found = invariant_findings(events(store))
    findings += found
    return Verification(not findings, count, findings, checked)
