"""The admission rules on their own: a request's deadline from its headers, the capacity, the retry-after hint."""

from __future__ import annotations

import pytest

from ledger.commands.deadlines import check_deadline, deadline
from ledger.errors import DeadlineExceeded, Overloaded, ValidationError
from ledger.nats_api.admission import DEADLINE_HEADER, TIMEOUT_HEADER, Admission


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_deadline_comes_from_the_headers_or_the_default() -> None:
    admission = Admission(2, default_timeout=5.0, now=Clock(1000.0))
    assert admission.deadline_of(None) == 1005.0
    assert admission.deadline_of({DEADLINE_HEADER: "1001.25"}) == 1001.25
    assert admission.deadline_of({TIMEOUT_HEADER: "0.5"}) == 1000.5
    assert admission.deadline_of({DEADLINE_HEADER: "1002", TIMEOUT_HEADER: "9"}) == 1002.0  # the absolute wins


@pytest.mark.parametrize("headers", [{DEADLINE_HEADER: "soon"}, {DEADLINE_HEADER: "nan"},
                                     {DEADLINE_HEADER: "inf"}, {TIMEOUT_HEADER: "-1"}])
def test_a_deadline_header_that_is_not_seconds_is_refused_naming_it(headers: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as refused:
        Admission(2, now=Clock(1000.0)).deadline_of(headers)
    assert refused.value.field == next(iter(headers))


def test_beyond_the_capacity_requests_are_overloaded_with_a_hint_and_a_late_one_is_refused() -> None:
    clock = Clock(1000.0)
    admission = Admission(2, now=clock)
    first, second = admission.enter(1010.0), admission.enter(1010.0)
    with pytest.raises(Overloaded) as shed:
        admission.enter(1010.0)
    assert shed.value.to_dict()["code"] == "overloaded" and float(shed.value.to_dict()["retry_after"] or 0) > 0
    clock.now = 1004.0
    admission.leave(first)
    admission.leave(second)
    assert admission.in_flight == 0 and admission.most == 2
    assert admission.retry_after() > 0.005  # commands now stay longer: the hint grows with them
    with pytest.raises(DeadlineExceeded):
        admission.enter(1003.0)
    assert admission.in_flight == 0


def test_a_command_is_refused_once_its_deadline_has_passed_and_never_without_one() -> None:
    clock = Clock(1000.0)
    check_deadline()  # no deadline: nothing to refuse
    with deadline(1000.0, clock):
        check_deadline()  # at the deadline: still in time
        clock.now = 1000.001
        with pytest.raises(DeadlineExceeded) as late:
            check_deadline()
    assert late.value.code == "deadline_exceeded"
    check_deadline()  # the deadline ended with its scope


def test_a_command_must_start_early_enough_to_be_answered_in_time() -> None:
    clock = Clock(1000.0)
    admission = Admission(2, now=clock)
    assert admission.latest_start(1010.0) == 1010.0  # nothing decided yet: no margin
    entered = admission.enter(1010.0)
    clock.now = 1004.0
    admission.leave(entered, deciding=4.0)
    assert 1009.0 < admission.latest_start(1010.0) < 1010.0  # commands take time to decide now
