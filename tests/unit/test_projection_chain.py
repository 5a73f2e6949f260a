"""The hash chain names every edited, deleted and inserted event row, and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.projections.chain import HashChain
from ledger.projections.keeper import chain_file
from ledger.projections.runner import RawNote

AGGREGATE = UUID(int=7)


class FakeRecorder:
    def __init__(self, notes: list[RawNote]) -> None:
        self.notes = notes

    def select_notifications(self, start: int, limit: int, inclusive_of_start: bool = True) -> list[RawNote]:
        return [n for n in self.notes if n.id > start or (inclusive_of_start and n.id == start)][:limit]


class FakeStore:
    def __init__(self, notes: list[RawNote]) -> None:
        self.recorder = FakeRecorder(notes)


def note(position: int, body: bytes = b"") -> RawNote:
    return RawNote(position, AGGREGATE, position, "Ev:1", body or f'{{"n":{position}}}'.encode())


def chained(tmp_path: Path, count: int) -> tuple[HashChain, list[RawNote]]:
    notes = [note(n) for n in range(1, count + 1)]
    chain = HashChain(tmp_path / "chain.db")
    assert chain.catch_up(FakeStore(notes)) == count
    return chain, notes


def problems(chain: HashChain, notes: list[RawNote]) -> list[tuple[int, str]]:
    return [(m.position, m.problem) for m in chain.verify(FakeStore(notes))]


def test_an_untouched_log_verifies(tmp_path: Path) -> None:
    chain, notes = chained(tmp_path, 30)
    assert problems(chain, notes) == []
    assert chain.catch_up(FakeStore(notes)) == 0


def test_edited_deleted_and_inserted_rows_are_named_alone(tmp_path: Path) -> None:
    chain, notes = chained(tmp_path, 30)
    tampered: list[Any] = list(notes)
    tampered[4] = note(5, b'{"n":500}')
    del tampered[9]  # position 10
    del tampered[19]  # position 21 (shifted by the first deletion)
    tampered.append(note(31))  # recorded after the chain's head: chained later, not judged now
    assert problems(chain, tampered) == [(5, "event row edited"), (10, "event row deleted"),
                                         (21, "event row deleted")]
    inserted = [*notes[:12], note(12.5, b"{}"), *notes[12:]]  # type: ignore[arg-type]
    assert problems(chain, inserted) == [(12.5, "event row inserted")]


def test_a_deleted_tail_is_named(tmp_path: Path) -> None:
    chain, notes = chained(tmp_path, 5)
    assert problems(chain, notes[:3]) == [(4, "event row deleted"), (5, "event row deleted")]


def test_a_chain_kept_with_the_projections_moves_beside_the_store(tmp_path: Path) -> None:
    (tmp_path / "projections").mkdir()
    old, notes = chained(tmp_path / "projections", 4)
    head = old.head()
    old.close()
    path = chain_file(tmp_path / "chain.db", tmp_path / "projections")
    assert path == tmp_path / "chain.db" and not (tmp_path / "projections" / "chain.db").exists()
    moved = HashChain(path)
    assert moved.head() == head and problems(moved, notes) == []
