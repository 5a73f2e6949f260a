"""The Clock port and business-time helpers.

Seed 002: "All related calculations and dates listed are based on US Eastern Time Zone." Instants are stored
in UTC; dates and "last 30 days" boundaries are computed in the business time zone (America/New_York by
default, LEDGER_TIMEZONE to change). The adapters (SystemClock, ManualClock) live in ``ledger.adapters.clock``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.errors import ValidationError

DEFAULT_ZONE = "America/New_York"
_MAX_INSTANT_TEXT = 64


class Clock(Protocol):
    """Where the domain's "now" comes from, so replays and tests are deterministic (aggregates never read time)."""

    @property
    def zone(self) -> ZoneInfo:
        """The business time zone, in which dates and day boundaries are computed (seed 002)."""
        ...

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    @property
    def fixed(self) -> bool:
        """True when "now" was chosen (``ledger --at``, tests): a command before an account's newest event is
        then refused. A running clock's command that finds a newer event (another process wrote it between this
        command reading the clock and loading the account) is recorded at that event's time instead."""
        ...


def zone_of(name: str | ZoneInfo, field: str = "LEDGER_TIMEZONE") -> ZoneInfo:
    """A ZoneInfo from its IANA name ("America/New_York"); an unknown name is a ValidationError naming ``field``."""
    if isinstance(name, ZoneInfo):
        return name
    if not isinstance(name, str) or not name:
        raise ValidationError("a time zone name is required", field=field, code="unknown_time_zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(f"unknown time zone {name!r}", field=field, code="unknown_time_zone") from None


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a naive datetime is ambiguous; pass a timezone-aware instant")


def business_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date of ``instant`` in the business time zone (seed 002: dates are US Eastern).

    22:30 on 1 September in New York is 02:30 UTC on the 2nd, and its business date is the 1st.
    A naive datetime is refused with ValueError rather than read in the server's local zone.
    """
    _require_aware(instant)
    return instant.astimezone(zone).date()


def start_of_business_day(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in the business time zone, as a UTC datetime (seed 002).

    Where midnight is skipped by a DST change the day starts at the first local time that exists.
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_text(instant: datetime | str, zone: ZoneInfo, *, exact: bool = False) -> str:
    """An instant (aware, or as stored: ``2026-09-02T03:30:00+00:00``) as every reader of the ledger sees it:
    ISO-8601 in the business time zone with its offset, to the second (``2026-09-01T23:30:00-04:00``: an evening
    payment keeps its business date, seed 002); ``exact`` keeps its microseconds (an export for an auditor, which
    must name the very instant the log holds). Still parseable, and the same instant."""
    moment = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    _require_aware(moment)
    return moment.astimezone(zone).isoformat(timespec="auto" if exact else "seconds")


#: A UTC instant written into a text after ``=`` (an audit row's details: ``expires_at=2027-01-05
#: 12:02:02.499576+00:00``), as the projections store it: the zone may be configured otherwise later.
_UTC_INSTANT = re.compile(r"=(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?\+00:00)")


def local_texts_in(text: str, zone: ZoneInfo, *, exact: bool = False) -> str:
    """``text`` with each UTC instant written after ``=`` (``expires_at=...``) shown by :func:`local_text`."""
    return _UTC_INSTANT.sub(lambda found: "=" + local_text(found.group(1), zone, exact=exact), text)


def local_words(value: str | datetime | None, zone: ZoneInfo, with_time: bool = True) -> str:
    """An instant or a date (``YYYY-MM-DD``) as a customer reads it on a page or in an email, in the business time
    zone and naming it (``Sep 01, 2026 11:30 PM EDT``); a date is a business date already, and stays as it is."""
    if not value:
        return ""
    if isinstance(value, str) and len(value) == 10:
        return date.fromisoformat(value).strftime("%b %d, %Y")
    moment = (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(zone)
    return moment.strftime("%b %d, %Y %I:%M %p %Z") if with_time else moment.strftime("%b %d, %Y")


def _invalid(text: object, field: str) -> ValidationError:
    shown = text if isinstance(text, str) and len(text) <= _MAX_INSTANT_TEXT else type(text).__name__
    return ValidationError(f"{shown!r} is not an ISO-8601 date or time such as 2026-09-01 or 2026-09-01T10:42",
                           field=field, code="invalid_time")


def parse_instant(text: object, zone: str | ZoneInfo, field: str = "at") -> datetime:
    """Parse a date or time given by a person or a caller into a UTC instant (seed 002: business time is US Eastern).

    "2026-09-01" is the start of that business day, "2026-09-01T10:42" a business-local time, and
    "2026-09-01T10:42:00Z" or "...+02:00" an exact instant. Floats, numbers, bare times ("12:00"), local times
    that a DST change skips, and anything else are refused with a ValidationError naming ``field``; a local
    time that occurs twice (autumn) is read as the first of the two.
    """
    tz = zone_of(zone)
    if not isinstance(text, str):
        raise _invalid(text, field)
    cleaned = text.strip()
    if not cleaned or len(cleaned) > _MAX_INSTANT_TEXT:
        raise _invalid(text, field)
    if cleaned[-1] in "zZ":
        cleaned = cleaned[:-1] + "+00:00"
    try:
        if len(cleaned) == 10:
            return start_of_business_day(date.fromisoformat(cleaned), tz)
        parsed = datetime.fromisoformat(cleaned)
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
        local = parsed.replace(tzinfo=tz)
        instant = local.astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) != parsed:
            raise ValidationError(f"{text!r} does not exist in {tz.key}: the clocks skip it; give an offset",
                                  field=field, code="nonexistent_local_time")
        return instant
    except (ValueError, OverflowError):
        raise _invalid(text, field) from None
