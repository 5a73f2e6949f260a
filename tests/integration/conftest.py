"""Fixtures shared by the integration tests (a module's own fixture of the same name takes precedence)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.adapters.clock import ManualClock
from ledger.bootstrap import Ledger
from tests.ledger_fixtures import START, make_ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger on ``tmp_path``'s files (or a PostgreSQL schema of its own) with its clock at START."""
    built = make_ledger(tmp_path, clock=ManualClock(START))
    yield built
    built.close()
