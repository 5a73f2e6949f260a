"""Clock port and adapters: instants in UTC, dates and day boundaries in the business zone (seed 002: US Eastern)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ledger.adapters.clock import ManualClock, SystemClock
from ledger.errors import ValidationError
from ledger.ports.clock import Clock, business_date, parse_instant, start_of_business_day, zone_of

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 9, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(("instant", "expected"), [
    (datetime(2026, 9, 2, 2, 30, tzinfo=UTC), date(2026, 9, 1)),   # 22:30 EDT on the 1st
    (datetime(2026, 9, 2, 4, 0, tzinfo=UTC), date(2026, 9, 2)),    # midnight EDT
    (datetime(2026, 12, 2, 4, 59, tzinfo=UTC), date(2026, 12, 1)),  # 23:59 EST (UTC-5 in winter)
    (datetime(2026, 12, 2, 5, 0, tzinfo=UTC), date(2026, 12, 2)),
    (datetime(2026, 9, 1, 20, tzinfo=timezone(timedelta(hours=-4))), date(2026, 9, 1)),
])
def test_business_date_is_the_date_in_eastern_time(instant: datetime, expected: date) -> None:
    assert business_date(instant, NY) == expected


def test_business_date_follows_the_configured_zone_and_refuses_naive_instants() -> None:
    instant = datetime(2026, 9, 1, 23, 30, tzinfo=UTC)
    assert business_date(instant, ZoneInfo("Europe/Paris")) == date(2026, 9, 2)
    assert business_date(instant, NY) == date(2026, 9, 1)
    with pytest.raises(ValueError):
        business_date(datetime(2026, 9, 1, 23, 30), NY)


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 9, 1), datetime(2026, 9, 1, 4, tzinfo=UTC)),
    (date(2026, 12, 1), datetime(2026, 12, 1, 5, tzinfo=UTC)),
    (date(2026, 3, 8), datetime(2026, 3, 8, 5, tzinfo=UTC)),   # DST starts at 2:00 that day, after midnight
    (date(2026, 3, 9), datetime(2026, 3, 9, 4, tzinfo=UTC)),
])
def test_start_of_business_day_in_utc(day: date, expected: datetime) -> None:
    start = start_of_business_day(day, NY)
    assert start == expected and start.utcoffset() == timedelta(0)


@pytest.mark.parametrize(("zone", "day"), [
    ("America/New_York", date(2026, 11, 1)), ("America/Havana", date(2026, 3, 8)),
    ("America/Santiago", date(2026, 9, 6)), ("Asia/Beirut", date(2026, 3, 29)),
    ("Pacific/Kiritimati", date(2026, 1, 1)),
])
def test_a_business_day_starts_at_its_first_instant_even_when_midnight_is_skipped(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    start = start_of_business_day(day, tz)
    assert business_date(start, tz) == day
    assert business_date(start - timedelta(microseconds=1), tz) == day - timedelta(days=1)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-09-01", datetime(2026, 9, 1, 4, tzinfo=UTC)),
    ("  2026-12-01 ", datetime(2026, 12, 1, 5, tzinfo=UTC)),
    ("2026-09-01T10:42", datetime(2026, 9, 1, 14, 42, tzinfo=UTC)),
    ("2026-12-01T10:42:30.250000", datetime(2026, 12, 1, 15, 42, 30, 250000, tzinfo=UTC)),
    ("2026-09-01 10:42", datetime(2026, 9, 1, 14, 42, tzinfo=UTC)),
    ("2026-09-01T10:42:00Z", datetime(2026, 9, 1, 10, 42, tzinfo=UTC)),
    ("2026-09-01T10:42:00z", datetime(2026, 9, 1, 10, 42, tzinfo=UTC)),
    ("2026-09-01T10:42:00+02:00", datetime(2026, 9, 1, 8, 42, tzinfo=UTC)),
    ("2026-11-01T01:30", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),  # happens twice: the first (EDT) one
])
def test_parse_instant_reads_dates_local_times_and_exact_instants(text: str, expected: datetime) -> None:
    parsed = parse_instant(text, NY)
    assert parsed == expected and parsed.utcoffset() == timedelta(0)
    assert parse_instant(text, "America/New_York") == expected


def test_parse_instant_reads_dates_in_the_zone_it_is_given() -> None:
    assert parse_instant("2026-09-01", "Europe/Paris") == datetime(2026, 8, 31, 22, tzinfo=UTC)
    assert parse_instant("2026-09-01T00:00Z", "Europe/Paris") == datetime(2026, 9, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["", "   ", "yesterday", "2026-13-01", "2026-02-30", "12:00", "1756700000",
                                 "2026-09-01T25:00", "2026-09-01" + "0" * 80, 1756700000.5, 1756700000, None,
                                 date(2026, 9, 1), b"2026-09-01"])
def test_parse_instant_refuses_anything_else_naming_the_callers_field(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_instant(bad, NY, "as_of")
    assert caught.value.field == "as_of" and caught.value.code == "invalid_time"


def test_a_local_time_skipped_by_daylight_saving_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_instant("2026-03-08T02:30", NY, "at")
    assert (caught.value.field, caught.value.code) == ("at", "nonexistent_local_time")
    assert parse_instant("2026-03-08T02:30-05:00", NY) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_unknown_time_zones_are_refused() -> None:
    for name in ("Mars/Olympus", "", "../../etc/passwd"):
        with pytest.raises(ValidationError) as caught:
            zone_of(name)
        assert (caught.value.field, caught.value.code) == ("LEDGER_TIMEZONE", "unknown_time_zone")
    with pytest.raises(ValidationError):
        SystemClock("Mars/Olympus")
    with pytest.raises(ValidationError):
        parse_instant("2026-09-01", "Mars/Olympus")


def test_system_clock_tells_the_real_time_in_utc() -> None:
    clock: Clock = SystemClock()
    before = datetime.now(UTC)
    now = clock.now()
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(UTC)
    assert clock.zone == NY
    assert SystemClock("Europe/Paris").zone == ZoneInfo("Europe/Paris")


def test_manual_clock_stands_still_until_moved() -> None:
    clock: Clock = ManualClock(datetime(2026, 9, 1, 8, tzinfo=NY))
    assert clock.now() == datetime(2026, 9, 1, 12, tzinfo=UTC) and clock.now().utcoffset() == timedelta(0)
    assert clock.now() == clock.now() and clock.zone == NY


def test_manual_clock_advances_and_jumps() -> None:
    clock = ManualClock(T0, zone="America/Chicago")
    assert clock.zone == ZoneInfo("America/Chicago")
    assert clock.advance(hours=72) == T0 + timedelta(hours=72) == clock.now()
    clock.advance(days=29, minutes=1)
    assert clock.now() == T0 + timedelta(days=32, minutes=1)
    with pytest.raises(ValueError):
        clock.advance(seconds=-1)
    assert clock.now() == T0 + timedelta(days=32, minutes=1)
    clock.set(datetime(2026, 1, 1, tzinfo=NY))
    assert clock.now() == datetime(2026, 1, 1, 5, tzinfo=UTC)


def test_manual_clock_refuses_naive_instants() -> None:
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 9, 1))
    clock = ManualClock(T0)
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 9, 2))
    assert clock.now() == T0
