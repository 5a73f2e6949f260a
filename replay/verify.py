"""``ledger audit verify``: is everything derived from the log still true to it?

1. The hash chain over the stored events: an edited, inserted or deleted event row is detected and named.
2. Every projection is rebuilt in memory from the log and diffed against the stored one.
3. The invariants (conservation, no over-application, oldest first, double entry) over the whole history.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.invariants import InvariantChecker
from ledger.projections import fresh
from ledger.projections.chain import HashChain
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.runner import catch_up, connect, dump, position_of
from replay.history import events


class Finding(msgspec.Struct, frozen=True):
    check: str
    detail: str


class Verification(msgspec.Struct, frozen=True):
    ok: bool
    events: int
    findings: list[Finding]


def verify(store: Any, keeper: ProjectionKeeper) -> Verification:
    """Run every check; ``ok`` only when none finds anything."""
    findings: list[Finding] = []
    chain = HashChain(keeper.chain_path)
    try:
        for problem in chain.verify(store):
            findings.append(Finding("hash_chain", f"position {problem.position} (account aggregate "
                                                  f"{problem.originator} version {problem.version}): "
                                                  f"{problem.problem}"))
    finally:
        chain.close()
    head = keeper.events.head()
    for projection in fresh():
        stored = keeper.connection(projection.name)
        at = position_of(stored, projection)
        if at != head:
            findings.append(Finding("projection_lag", f"{projection.name} is at {at} of {head}"))
            continue
        memory = connect(":memory:")
        try:
            catch_up([(type(projection)(), memory)], keeper.events, batch=20_000)
        except Exception as error:
            findings.append(Finding("projection_rebuild", f"{projection.name} cannot be rebuilt: {error!r}"))
            continue
        fresh_rows, stored_rows = dump(memory, projection), dump(stored, projection)
        for table in sorted(set(fresh_rows) | set(stored_rows)):
            if fresh_rows.get(table) != stored_rows.get(table):
                findings.append(Finding("projection_diff", f"{projection.name}.{table} differs from a rebuild"))
        memory.close()
    checker = InvariantChecker()
    count = 0
    for _, event in events(store):
        checker.feed([event])
        count += 1
    findings += [Finding("invariant", v) for v in checker.check()]
    return Verification(not findings, count, findings)
