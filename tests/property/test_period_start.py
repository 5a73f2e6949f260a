"""Order-history periods for any instant and business zone (seeds 001 and 002): a rolling period starts at the
first instant of a business day no later than now, N months back keeps the day of the month (or the target
month's last day), and every period ends just after now; the calendar's ends give a ValidationError."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import ValidationError
from ledger.projections.queries import MONTHS, period_start

#: Zones with DST (some changing at midnight), the extreme offsets and UTC.
zones = st.sampled_from([ZoneInfo(name) for name in (
    "America/New_York", "UTC", "Europe/Paris", "Asia/Tokyo", "Pacific/Kiritimati", "Pacific/Pago_Pago",
    "America/Santiago", "America/Havana", "Asia/Beirut", "Australia/Lord_Howe", "Asia/Kolkata")])
ordinary = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9990, 12, 31), timezones=st.just(UTC))
TICK = timedelta(microseconds=1)


def expected_first_day(period: str, today: date) -> date:
    """The first business day of a rolling period, by counting months one at a time."""
    if period == "30d":
        return today - timedelta(days=30)
    year, month = today.year, today.month
    for _ in range(MONTHS[period]):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def is_first_instant_of(start: datetime, day: date, zone: ZoneInfo) -> bool:
    """``start`` falls on ``day`` in ``zone`` and the instant before it does not (midnight, or the first local
    time of a day whose midnight a DST change skips)."""
    return start.astimezone(zone).date() == day and (start - TICK).astimezone(zone).date() < day


@given(st.sampled_from(["30d", "3m", "6m"]), ordinary, zones)
def test_a_rolling_period_starts_at_business_midnight_and_ends_at_now(period: str, now: datetime,
                                                                      zone: ZoneInfo) -> None:
    start, end = period_start(period, now, zone)
    today = now.astimezone(zone).date()
    assert start <= now < end == now + TICK
    assert is_first_instant_of(start, expected_first_day(period, today), zone)


@given(ordinary, zones, st.one_of(st.none(), st.integers(1900, 9998)))
def test_a_year_is_its_business_days_up_to_now(now: datetime, zone: ZoneInfo, year: int | None) -> None:
    start, end = period_start("year", now, zone, year)
    chosen = now.astimezone(zone).year if year is None else year
    assert is_first_instant_of(start, date(chosen, 1, 1), zone)
    assert end <= now + TICK
    if chosen < now.astimezone(zone).year:
        assert is_first_instant_of(end, date(chosen + 1, 1, 1), zone)
    if year is None:
        assert start <= now < end


@given(st.sampled_from(["30d", "3m", "6m", "year"]), st.datetimes(timezones=st.just(UTC)), zones,
       st.one_of(st.none(), st.integers()))
def test_any_instant_and_year_give_a_period_or_a_validation_error(period: str, now: datetime, zone: ZoneInfo,
                                                                  year: int | None) -> None:
    try:
        start, end = period_start(period, now, zone, year)
    except ValidationError as refused:
        assert refused.field in ("at", "year") and refused.exit_code == 2
    else:
        assert start.tzinfo is not None and end <= now + TICK
