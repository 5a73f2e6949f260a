"""The order history's periods (seed 001: "last 30 days / 3 months / 6 months / year"), as business-day
instants in the business time zone."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ledger.errors import ValidationError
from ledger.ports.clock import business_date, start_of_business_day

PERIODS = ("30d", "3m", "6m", "year")
#: Months back of the "3m" and "6m" history periods.
MONTHS = {"3m": 3, "6m": 6}
#: Years ``--year`` accepts: every one whose 1 January and the next both exist as instants in any zone.
MIN_YEAR, MAX_YEAR = 2, 9998
#: The resolution of stored instants: a period ending "at now" ends one tick after it, so now is inside.
TICK = timedelta(microseconds=1)


def months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier, or the last day of that month when it is shorter
    (31 May - 3 months = 28 or 29 February; 31 December - 3 months = 30 September). ValueError before year 1."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    if year < 1:
        raise ValueError(f"{months} months before {day} is before year 1")
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def period_start(period: str, now: datetime, zone: ZoneInfo, year: int | None = None) -> tuple[datetime, datetime]:
    """[start, end) of an order-history filter, as UTC instants (seed 001: the portal's order history filters).

    The start is the first instant of a business day: 30 days before today ("30d"), the same day of the month
    3 or 6 months back ("3m", "6m"; see :func:`months_before`), or 1 January of ``year`` ("year"; this year
    when None). Every period ends at ``now`` inclusive (a year at the next 1 January if that comes first): run
    ``--at`` a past instant, orders placed after it are not shown. Refused with a ValidationError: a period not
    in PERIODS (``period``); a year outside MIN_YEAR..MAX_YEAR or given with another period (``year``); a now
    so near the calendar's ends that the period does not fit in it (``at``, as the CLI's ``--at`` sets now).
    """
    if period not in PERIODS:
        raise ValidationError(f"period must be one of {', '.join(PERIODS)}", field="period")
    if year is not None and period != "year":
        raise ValidationError(f"a year goes with the period 'year', not {period!r}", field="year")
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(f"year must be from {MIN_YEAR} to {MAX_YEAR}, not {year}", field="year")
    try:
        today = business_date(now, zone)
        end = (now + TICK).astimezone(UTC)
        if period == "year":
            chosen = today.year if year is None else year
            first = date(chosen, 1, 1)
            end = min(end, start_of_business_day(date(chosen + 1, 1, 1), zone))
        elif period == "30d":
            first = today - timedelta(days=30)
        else:
            first = months_before(today, MONTHS[period])
        return start_of_business_day(first, zone), end
    except (ValueError, OverflowError):
        if now.utcoffset() is None:
            raise  # a naive now is the caller's bug (business_date refuses it), not the user's input
        raise ValidationError(f"the period {period!r} as of {now.isoformat(timespec='seconds')} does not fit in "
                              f"the calendar (years 1 to 9999)", field="at") from None
