"""Clock adapters: the system clock, and a manual clock that tests, replays and ``ledger --at`` move by hand.

Both carry the business time zone (seed 002: "All related calculations and dates ... are based on US Eastern
Time Zone"), America/New_York unless configured otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ledger.ports.clock import DEFAULT_ZONE, zone_of


class SystemClock:
    """The real clock: the machine's time in UTC, with the configured business time zone."""

    def __init__(self, zone: str | ZoneInfo = DEFAULT_ZONE) -> None:
        self._zone = zone_of(zone)

    @property
    def zone(self) -> ZoneInfo:
        """The business time zone."""
        return self._zone

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)

    @property
    def fixed(self) -> bool:
        """A running clock."""
        return False


class ManualClock:
    """A clock that stands still until told to move (tests, replays, ``ledger --at``).

    Moving it by hand is how tests cross the 72-hour invitation window (seed 002) and the 29-day authorization
    window (seed 004) without waiting.
    """

    def __init__(self, start: datetime, zone: str | ZoneInfo = DEFAULT_ZONE) -> None:
        self._now = _aware(start, "start")
        self._zone = zone_of(zone)

    @property
    def zone(self) -> ZoneInfo:
        """The business time zone."""
        return self._zone

    def now(self) -> datetime:
        """The clock's current instant, in UTC."""
        return self._now

    @property
    def fixed(self) -> bool:
        """Its time is chosen, never moved to fit."""
        return True

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta given as keywords (``days=29``, ``hours=72``); returns the new now.

        A clock never runs backwards, so a negative step raises ValueError; use :meth:`set` to jump.
        """
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards; use set() to jump")
        self._now += step
        return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (timezone-aware; any direction)."""
        self._now = _aware(instant, "instant")


def _aware(instant: datetime, name: str) -> datetime:
    if not isinstance(instant, datetime) or instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return instant.astimezone(UTC)
