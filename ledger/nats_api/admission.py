"""Admission of commands into the service: each request's deadline, and a bounded queue in front of deciding.

Every command request carries a deadline: the header ``Ledger-Deadline`` (absolute, Unix time in seconds, e.g.
``1796000000.250``) or ``Ledger-Timeout`` (seconds from its arrival), else the service's default
(``LEDGER_REQUEST_TIMEOUT``). A request already past its deadline on arrival is answered ``deadline_exceeded``
at once; one that waits in the queue until its deadline passes is answered so when its turn comes
(:mod:`ledger.commands.deadlines`), as is one whose deadline would pass before it could be answered at the time
commands now take to decide (:meth:`Admission.latest_start`). None of them is executed.

At most ``capacity`` commands are admitted at once (deciding, or queued for a thread that decides); a request
arriving when that many are in the service is answered ``overloaded`` at once, with a ``retry_after`` hint (how
long the queue takes to drain at the speed of the last commands), instead of waiting unanswered until its caller
times out. So a burst costs a fast refusal per request beyond the queue, and memory for ``capacity`` commands.

Why not faststream (and a middleware for deadlines): a middleware sees a message when it arrives, while the check
that matters is when deciding starts, after the wait in the queue (and the account's turn), on the thread that
decides; and faststream's per-message work costs more CPU than everything else NATS does for a command
(:class:`CommandIntake`). The reads keep faststream.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import structlog

from ledger.commands.deadlines import deadline
from ledger.errors import DeadlineExceeded, LedgerError, Overloaded, ValidationError

log = structlog.get_logger("ledger.service")
DEADLINE_HEADER = "Ledger-Deadline"
TIMEOUT_HEADER = "Ledger-Timeout"
#: Seconds between two log lines counting the requests refused on arrival (overloaded, past their deadline).
REPORT_EVERY = 1.0
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
        self._deciding = 0.0  # seconds from the start of deciding to the answer, moving average

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

    def leave(self, entered: float, deciding: float = 0.0) -> None:
        """A command admitted at ``entered`` was answered, ``deciding`` seconds after it started deciding."""
        self.in_flight -= 1
        stay = max(0.0, self.now() - entered)
        self._stay += _SMOOTHING * (stay - self._stay)
        self._deciding += _SMOOTHING * (max(0.0, deciding) - self._deciding)

    def latest_start(self, deadline: float) -> float:
        """The last instant a command due by ``deadline`` may start deciding and still be answered in time, at
        the time commands now take to decide: one starting later would be answered after its caller gave up."""
        return deadline - self._deciding

    def retry_after(self) -> float:
        """Seconds until half the queue has drained at the recent pace: half the time a command now stays in the
        service (at least 10 ms, at most 5 s). Not when the first place frees, which would bring every refused
        caller back at once."""
        return min(5.0, max(0.01, self._stay / 2))


class CommandIntake:
    """The command subscription (``ledger.cmd.>`` in the queue group), in plain nats-py on the broker's
    connection: each request is admitted or refused on arrival, then decided by ``decide(name, body)`` on
    ``pool`` within its deadline, and answered. faststream's per-message machinery (its middlewares, dependency
    injection, task group) cost 0.3-0.4 ms of CPU per request on this path, measured beside a bare nats-py
    responder: more than all of the NATS work, at the rate the service is meant to take."""

    def __init__(self, admission: Admission, pool: Executor,
                 decide: Callable[[str, bytes, dict[str, str] | None], bytes], refuse: Callable[[LedgerError], bytes],
                 prefix: str, queue: str, more: Sequence[str] = ()) -> None:
        """``decide(subject, body, headers)``; ``more``: subjects taken beside ``prefix>`` (the portals' and
        staff's, :mod:`ledger.identity.binding`)."""
        self.admission, self.pool, self.decide, self.refuse = admission, pool, decide, refuse
        self.prefix, self.queue, self.more = prefix, queue, tuple(more)
        self._subscriptions: list[Any] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._refused: dict[str, int] = {}
        self._reported = -REPORT_EVERY

    async def start(self, nc: Any) -> None:
        """Subscribe on the connection ``nc``."""
        for subject in (f"{self.prefix}>", *self.more):
            self._subscriptions.append(await nc.subscribe(subject, queue=self.queue, cb=self._received))
        await nc.flush()  # the server has the subscription: a request sent now finds it

    async def stop(self) -> None:
        """Stop taking requests; answer those admitted."""
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        self._subscriptions = []
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _received(self, msg: Any) -> None:
        try:
            at = self.admission.deadline_of(msg.headers)
            entered = self.admission.enter(at)
        except LedgerError as error:
            self._count(error.code)
            await self._answer(msg, self.refuse(error))
            return
        task = asyncio.create_task(self._decided(msg, at, entered))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _decided(self, msg: Any, at: float, entered: float) -> None:
        deciding = 0.0
        try:
            reply, deciding = await asyncio.get_running_loop().run_in_executor(
                self.pool, _within, self.admission.latest_start(at), self.admission.now,
                functools.partial(self.decide, msg.subject, msg.data, msg.headers))
        finally:
            self.admission.leave(entered, deciding)
        await self._answer(msg, reply)
        if not reply.startswith(b'{"ok"'):  # what an ok command did, its event_recorded lines say
            log.info("command_handled", subject=msg.subject, ok=False)

    def _count(self, code: str) -> None:
        """Count a request refused on arrival; log the counts at most every ``REPORT_EVERY`` seconds (a line per
        refusal would cost a burst more CPU than refusing it)."""
        self._refused[code] = self._refused.get(code, 0) + 1
        now = time.monotonic()
        if now - self._reported >= REPORT_EVERY:
            log.warning("commands_refused_on_arrival", in_flight=self.admission.in_flight, **self._refused)
            self._refused, self._reported = {}, now

    async def _answer(self, msg: Any, reply: bytes) -> None:
        if msg.reply:
            try:
                await msg.respond(reply)
            except Exception as error:  # the connection is gone: the requester times out, as it would anyway
                log.warning("reply_failed", subject=msg.subject, error=repr(error))


def _within(at: float, now: Callable[[], float], decide: Callable[[], bytes]) -> tuple[bytes, float]:
    """``decide()`` if it starts by ``at``; its reply and the seconds it took from its start."""
    started = now()
    with deadline(at, now):
        return decide(), now() - started
