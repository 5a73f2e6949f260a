"""A rebuild that dies at any point (a crash while reading the log, or a stop) leaves the serving projections
exactly as they were; the next rebuild replaces its leftovers and swaps in what a full rebuild gives."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.projections import fresh
from ledger.projections.rebuild import ProjectionFiles, RebuildInterrupted
from ledger.projections.runner import ListLog, catch_up, connect, dump
from tests.property.histories import History
from tests.property.test_projection_replay import play, step


class Crash(Exception):
    """The process died here."""


class CrashingLog(ListLog):
    """Fails on its ``reads``-th read."""

    def __init__(self, events: list[Any], reads: int) -> None:
        super().__init__(events)
        self.reads = reads

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        self.reads -= 1
        if self.reads < 0:
            raise Crash(f"after {after}")
        return super().read(after, limit)


@settings(max_examples=max(10, settings().max_examples // 5))  # files on disk: a fifth of the profile
@given(st.lists(step, min_size=1, max_size=15), st.integers(0, 40), st.integers(1, 9), st.booleans())
def test_an_interrupted_rebuild_leaves_the_serving_projection_intact(steps: list[tuple[object, ...]], when: int,
                                                                    batch: int, crash: bool) -> None:
    h = History()
    play(h, steps)
    served, later = h.events[: len(h.events) // 2], h.events
    with tempfile.TemporaryDirectory() as folder:
        files = ProjectionFiles(Path(folder))
        serving = [(p, files.open(p)) for p in fresh()]
        catch_up(serving, ListLog(served))
        before = {p.name: dump(db, p) for p, db in serving}
        if crash:
            with pytest.raises(Crash):
                files.rebuild(fresh(), CrashingLog(later, when % (len(later) // batch + 1)), batch=batch)
        else:
            with pytest.raises(RebuildInterrupted):
                files.rebuild(fresh(), ListLog(later), batch=batch, interrupt_at=when % len(later))
        assert {p.name: dump(db, p) for p, db in serving} == before  # readers holding the files see no change
        assert {p.name: dump(files.open(p), p) for p in fresh()} == before  # nor do new readers
        files.rebuild(fresh(), ListLog(later), batch=batch)
        swapped = [(p, files.open(p)) for p in fresh()]
        reference = [(p, connect(":memory:")) for p in fresh()]
        catch_up(reference, ListLog(later))
        assert {p.name: dump(db, p) for p, db in swapped} == {p.name: dump(db, p) for p, db in reference}
        assert not list(Path(folder).glob("*.db.rebuild*"))
        for _, db in (*serving, *swapped, *reference):
            db.close()
