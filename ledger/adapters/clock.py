"""Clock adapters: the system clock, and a manual clock that tests and ``--at`` move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ledger.ports.clock import zone_of


class SystemClock:
    """The real clock."""

    def __init__(self, zone: str | ZoneInfo = "America/New_York") -> None:
        self._zone = zone_of(zone)

    @property
    def zone(self) -> ZoneInfo:
        """The business time zone."""
        return self._zone

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until told to move (tests, replays, ``ledger --at``)."""

    def __init__(self, start: datetime, zone: str | ZoneInfo = "America/New_York") -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._zone = zone_of(zone)

    @property
    def zone(self) -> ZoneInfo:
        """The business time zone."""
        return self._zone

    def now(self) -> datetime:
        """The clock's current instant."""
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta given as keywords (``days=29``); returns the new now."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards")
        self._now += step
        return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (timezone-aware)."""
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        self._now = instant.astimezone(UTC)
