"""The projections' fast timestamp text is exactly ``datetime.isoformat`` (stored rows keep that spelling)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from ledger.projections.base import MetaMaker, iso_text

offsets = st.one_of(st.just(UTC), st.integers(-23 * 60 + 1, 23 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))))


@given(st.datetimes(timezones=offsets))
def test_iso_text_equals_isoformat(moment: datetime) -> None:
    assert iso_text(moment) == moment.isoformat()


@given(st.datetimes(timezones=st.just(UTC)), st.lists(st.integers(0, 2), min_size=1, max_size=20))
def test_a_batch_gives_each_event_its_own_time(start: datetime, steps: list[int]) -> None:
    """Consecutive events share a remembered text only when their timestamps are equal."""
    class Stub:
        def __init__(self, moment: datetime) -> None:
            self.originator_id = uuid4()
            self.timestamp = moment

    moments = [start]
    for step in steps:
        try:
            moments.append(moments[-1] + timedelta(seconds=step))
        except OverflowError:
            break
    events = [Stub(m) for m in moments]
    metas = MetaMaker().batch(list(enumerate(events, start=1)))
    assert [m.at for m, _ in metas] == [m.isoformat() for m in moments]
    assert [m.account for m, _ in metas] == [str(e.originator_id) for e in events]
    assert [m.position for m, _ in metas] == list(range(1, len(events) + 1))
