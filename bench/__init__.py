"""Benchmarks against raw baselines measured in the same run; :class:`Row` is one line of their table."""

from __future__ import annotations

import msgspec


class Row(msgspec.Struct, frozen=True):
    """One line of the benchmark table: our figure, the raw baseline of the same run, the goal."""

    measure: str
    ours: float
    baseline: float
    unit: str
    goal: str

    @property
    def ratio(self) -> float:
        """ours / baseline."""
        return self.ours / self.baseline if self.baseline else 0.0
