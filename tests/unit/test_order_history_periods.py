"""Order-history periods (seed 001) at their boundary days, in the business time zone (seed 002), and the
read side's small parsers: the audit log's ``--actor`` and instants shown in the business zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ledger.errors import ValidationError
from ledger.projections.audit_queries import actor_filter
from ledger.projections.queries import local_text, months_before, period_start

NY = ZoneInfo("America/New_York")
TICK = timedelta(microseconds=1)


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A New York wall-clock time as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 12, 31), 3, date(2026, 9, 30)),   # September has no 31st: its last day, not the 28th
    (date(2026, 12, 30), 3, date(2026, 9, 30)),   # the same day of the month, not clamped to the 28th
    (date(2026, 12, 29), 3, date(2026, 9, 29)),
    (date(2026, 5, 31), 3, date(2026, 2, 28)),
    (date(2028, 5, 31), 3, date(2028, 2, 29)),    # leap year
    (date(2028, 5, 29), 3, date(2028, 2, 29)),
    (date(2026, 8, 31), 6, date(2026, 2, 28)),
    (date(2026, 3, 31), 6, date(2025, 9, 30)),    # across the year
    (date(2026, 1, 15), 3, date(2025, 10, 15)),
    (date(2026, 3, 1), 3, date(2025, 12, 1)),
    (date(2026, 7, 31), 3, date(2026, 4, 30)),
])
def test_months_before_keeps_the_day_unless_the_month_is_shorter(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected


def test_months_before_year_1_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        months_before(date(1, 2, 10), 3)


def test_3m_on_new_years_eve_evening_starts_on_30_september_and_ends_now() -> None:
    now = ny(2026, 12, 31, 23, 40)  # 04:40 UTC on 1 January: the business date is still the 31st
    start, end = period_start("3m", now, NY)
    assert start == ny(2026, 9, 30) and end == now + TICK


@pytest.mark.parametrize(("period", "now", "first"), [
    ("30d", ny(2026, 9, 1, 23, 30), date(2026, 8, 2)),
    ("30d", ny(2026, 3, 8, 12), date(2026, 2, 6)),       # DST starts on the 8th: start is EST midnight
    ("6m", ny(2026, 8, 31, 9), date(2026, 2, 28)),
    ("3m", ny(2026, 11, 30, 0, 0), date(2026, 8, 30)),
    ("year", ny(2026, 6, 15, 12), date(2026, 1, 1)),
    ("year", ny(2026, 12, 31, 23, 59), date(2026, 1, 1)),  # still 2026 in New York, 2027 in UTC
])
def test_periods_start_at_business_midnight_and_end_at_now(period: str, now: datetime, first: date) -> None:
    start, end = period_start(period, now, NY)
    assert start == ny(first.year, first.month, first.day)
    assert start.astimezone(NY).time().isoformat() == "00:00:00"
    assert end == now + TICK


def test_a_chosen_past_year_ends_at_the_next_first_of_january() -> None:
    start, end = period_start("year", ny(2026, 9, 10, 12), NY, 2025)
    assert (start, end) == (ny(2025, 1, 1), ny(2026, 1, 1))


def test_a_future_year_is_empty_rather_than_an_error() -> None:
    start, end = period_start("year", ny(2026, 9, 10, 12), NY, 2030)
    assert end < start


@pytest.mark.parametrize("year", [0, -5, 1, 9999, 10_000])
def test_a_year_out_of_range_names_the_year(year: int) -> None:
    with pytest.raises(ValidationError) as refused:
        period_start("year", ny(2026, 9, 10, 12), NY, year)
    assert refused.value.field == "year" and refused.value.exit_code == 2


def test_a_year_with_another_period_names_the_year() -> None:
    with pytest.raises(ValidationError) as refused:
        period_start("30d", ny(2026, 9, 10, 12), NY, 2026)
    assert refused.value.field == "year"


def test_an_unknown_period_names_the_period() -> None:
    with pytest.raises(ValidationError) as refused:
        period_start("2w", ny(2026, 9, 10, 12), NY)
    assert refused.value.field == "period"


@pytest.mark.parametrize(("period", "now"), [
    ("3m", datetime(1, 1, 15, 12, tzinfo=UTC)),
    ("30d", datetime(1, 1, 15, 12, tzinfo=UTC)),
    ("year", datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
])
def test_a_now_at_the_ends_of_the_calendar_names_at(period: str, now: datetime) -> None:
    with pytest.raises(ValidationError) as refused:
        period_start(period, now, NY)
    assert refused.value.field == "at"


def test_a_naive_now_is_a_programming_error_not_bad_input() -> None:
    with pytest.raises(ValueError) as failed:
        period_start("30d", datetime(2026, 9, 10, 12), NY)
    assert not isinstance(failed.value, ValidationError)


def test_stored_utc_text_is_shown_in_the_business_zone_to_the_second() -> None:
    assert local_text("2026-09-02T03:30:00.123456+00:00", NY) == "2026-09-01T23:30:00-04:00"
    assert local_text("2026-12-02T03:30:00+00:00", NY) == "2026-12-01T22:30:00-05:00"
    assert local_text("2026-09-02T03:30:00+00:00", ZoneInfo("Asia/Tokyo")) == "2026-09-02T12:30:00+09:00"


@pytest.mark.parametrize(("actor", "clause", "values"), [
    ("csr:jdoe", "actor_kind = ? and actor_name = ?", ("csr", "jdoe")),
    ("jdoe", "actor_name = ?", ("jdoe",)),
    ("guest", "actor_name = ?", ("guest",)),
])
def test_actor_filter_takes_kind_name_or_a_bare_name(actor: str, clause: str, values: tuple[str, ...]) -> None:
    assert actor_filter(actor) == (clause, values)


@pytest.mark.parametrize("actor", ["", "csr:", ":jdoe"])
def test_an_incomplete_actor_names_actor(actor: str) -> None:
    with pytest.raises(ValidationError) as refused:
        actor_filter(actor)
    assert refused.value.field == "actor"
