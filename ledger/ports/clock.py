"""The Clock port and business-time helpers.

Seed 002: "All related calculations and dates listed are based on US Eastern Time Zone." Instants are stored
in UTC; dates and "last 30 days" boundaries are computed in the business time zone (America/New_York by
default, LEDGER_TIMEZONE to change).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.errors import ValidationError


class Clock(Protocol):
    """Where the domain's "now" comes from, so replays and tests are deterministic."""

    @property
    def zone(self) -> ZoneInfo:
        """The business time zone."""
        ...

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


def zone_of(name: str | ZoneInfo) -> ZoneInfo:
    """A ZoneInfo from its IANA name; an unknown zone is a ValidationError naming LEDGER_TIMEZONE."""
    if isinstance(name, ZoneInfo):
        return name
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {name!r}", field="LEDGER_TIMEZONE") from None


def business_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date of ``instant`` in the business time zone."""
    return instant.astimezone(zone).date()


def start_of_business_day(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in the business time zone, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def parse_instant(text: str, zone: str | ZoneInfo, field: str = "at") -> datetime:
    """Parse "2026-09-01" (start of that business day), "2026-09-01T10:42" (business local time) or an
    ISO-8601 instant with an offset or Z; returns a UTC instant."""
    tz = zone_of(zone)
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("expected an ISO-8601 date or time", field=field, code="invalid_time")
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            return start_of_business_day(date.fromisoformat(cleaned), tz)
        parsed = datetime.fromisoformat(cleaned.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{text!r} is not an ISO-8601 date or time", field=field,
                              code="invalid_time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)
