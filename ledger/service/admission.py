"""Admission of commands into the service: each request's deadline, and a bounded queue in front of deciding.

Every command request carries a deadline: the header ``Ledger-Deadline`` (absolute, Unix time in seconds, e.g.
``1796000000.250``) or ``Ledger-Timeout`` (seconds from its arrival), else the service's default
(``LEDGER_REQUEST_TIMEOUT``). A request already past its deadline on arrival is answered ``deadline_exceeded``
at once; one that waits in the queue until its deadline passes is answered so when its turn comes
(:mod:`ledger.commands.deadlines`). Neither is executed.

At most ``capacity`` commands are admitted at once (deciding, or queued for a thread that decides); a request
arriving when that many are in the service is answered ``overloaded`` at once, with a ``retry_after`` hint (how
long the queue takes to drain at the speed of the last commands), instead of waiting unanswered until its caller
times out. So a burst costs a fast refusal per request beyond the queue, and memory for ``capacity`` commands.

Why not a faststream middleware: a middleware sees a message when it arrives; the check that matters is when
deciding starts, after the wait in the queue (and the account's turn), on the thread that decides.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor

from ledger.commands.deadlines import deadline
from ledger.errors import DeadlineExceeded, LedgerError, Overloaded, ValidationError

DEADLINE_HEADER = "Ledger-Deadline"
TIMEOUT_HEADER = "Ledger-Timeout"
#: Weight of the newest command in the moving average of how long a command stays in the service.
_SMOOTHING = 0.05


class Admission:
    """The count of commands in the service (touched only on the event loop's thread) and the deadline rules.

    ``capacity``: commands deciding or queued at once; ``default_timeout``: seconds a request without a
    deadline header is given; ``now``: the clock deadlines are read on (Unix time; tests pass their own).
    """

    def __init__(self, capacity: int, *, default_timeout: float = 5.0, now: Callable[[], float] = time.time) -> None:
        self.capacity = capacity
        self.default_timeout = default_timeout
        self.now = now
        self.in_flight = 0
        self.most = 0
        self._stay = 0.01  # seconds a command spends in the service, moving average

    def deadline_of(self, headers: Mapping[str, str] | None) -> float:
        """The request's deadline (Unix time) from its headers, or ``default_timeout`` from now; a header that
        is not a finite number of seconds is refused (``invalid``, naming it)."""
        arrived = self.now()
        for name, base in ((DEADLINE_HEADER, 0.0), (TIMEOUT_HEADER, arrived)):
            text = (headers or {}).get(name)
            if text is None:
                continue
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or (base and value < 0):
                raise ValidationError(f"the {name} header must be a number of seconds", field=name)
            return base + value
        return arrived + self.default_timeout

    def enter(self, deadline: float) -> float:
        """Admit one command (raise :class:`Overloaded` when the service holds ``capacity`` already, or
        :class:`DeadlineExceeded` when ``deadline`` has passed); returns when it was admitted, for
        :meth:`leave`."""
        now = self.now()
        if now > deadline:
            raise DeadlineExceeded("the request arrived after its deadline; it was not executed",
                                   field=DEADLINE_HEADER)
        if self.in_flight >= self.capacity:
            raise Overloaded(f"the service holds {self.in_flight} commands, its most; try again later",
                             retry_after=self.retry_after())
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        return now

    def leave(self, entered: float) -> None:
        """A command admitted at ``entered`` was answered."""
        self.in_flight -= 1
        stay = max(0.0, self.now() - entered)
        self._stay += _SMOOTHING * (stay - self._stay)

    def retry_after(self) -> float:
        """Seconds until half the queue has drained at the recent pace: half the time a command now stays in the
        service (at least 10 ms, at most 5 s). Not when the first place frees, which would bring every refused
        caller back at once."""
        return min(5.0, max(0.01, self._stay / 2))


async def run_admitted(admission: Admission, pool: Executor, headers: Mapping[str, str] | None,
                       decide: Callable[[], bytes], refuse: Callable[[LedgerError], bytes]) -> bytes:
    """The reply to one command request: ``decide()`` run on ``pool`` within the request's deadline once it is
    admitted, else ``refuse(error)`` at once (overloaded, past its deadline, a bad deadline header)."""
    try:
        at = admission.deadline_of(headers)
        entered = admission.enter(at)
    except LedgerError as error:
        return refuse(error)
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, _within, at, admission.now, decide)
    finally:
        admission.leave(entered)


def _within(at: float, now: Callable[[], float], decide: Callable[[], bytes]) -> bytes:
    with deadline(at, now):
        return decide()
