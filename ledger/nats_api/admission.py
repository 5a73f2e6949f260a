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
import collections
import contextlib
import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any, NamedTuple

import structlog

from ledger.commands.deadlines import deadline
from ledger.errors import DeadlineExceeded, Forbidden, LedgerError, Overloaded, ValidationError

log = structlog.get_logger("ledger.service")
#: How the reply to a request refused ``actor_not_allowed`` starts: the binder's refusals are in the security log
#: only (:mod:`ledger.identity.binding`), the command's own checks in its ``command_refused`` line.
SECURITY_REFUSAL = b'{"error":{"code":"%s"' % Forbidden.code.encode()
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
        self._refused: dict[str, int] = {}
        self._reported = -REPORT_EVERY
        self._tasks: set[asyncio.Future[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._decided: collections.deque[_Decided] = collections.deque()
        self._woken = False  # a drain of _decided is scheduled on the loop
        self._admitted = 0  # admitted and not yet answered
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self, nc: Any) -> None:
        """Subscribe on the connection ``nc``."""
        self._loop = asyncio.get_running_loop()
        for subject in (f"{self.prefix}>", *self.more):
            self._subscriptions.append(await nc.subscribe(subject, queue=self.queue, cb=self._received))
        await nc.flush()  # the server has the subscription: a request sent now finds it

    async def stop(self) -> None:
        """Stop taking requests; answer those admitted."""
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        self._subscriptions = []
        await self._idle.wait()

    async def _received(self, msg: Any) -> None:
        try:
            at = self.admission.deadline_of(msg.headers)
            entered = self.admission.enter(at)
        except LedgerError as error:
            self._count(error.code)
            await self._answer(msg, self.refuse(error))
            return
        self._admitted += 1
        self._idle.clear()
        try:
            self.pool.submit(self._decide, msg, at, entered)
        except RuntimeError as error:  # the pool is shut down: the service is stopping
            self._decided.append(_Decided(msg, self.refuse(Overloaded(f"the service is stopping ({error})",
                                                                      retry_after=1.0)), entered, 0.0))
            self._drain()

    def _decide(self, msg: Any, at: float, entered: float) -> None:
        """On a deciding thread: decide within the deadline, then hand the reply to the loop. Replies decided
        while the loop has not yet taken the previous ones go with them: one wake-up of the loop for all (a
        task, two chained futures and a wake-up per command cost the loop more than answering it)."""
        reply, deciding = b"", 0.0
        try:
            reply, deciding = _within(self.admission.latest_start(at), self.admission.now,
                                      functools.partial(self.decide, msg.subject, msg.data, msg.headers))
        except Exception as error:  # decide answers its failures itself; this is a bug in the intake
            log.error("command_intake_failed", subject=msg.subject, error=repr(error), exc_info=error)
            reply = self.refuse(LedgerError("internal error, see the service log", code="internal"))
        finally:  # whatever happened, the slot is given back on the loop
            self._decided.append(_Decided(msg, reply, entered, deciding))
            if not self._woken:
                self._woken = True
                assert self._loop is not None
                self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        """On the loop: give back the slots of the decided commands and answer them (one task for all)."""
        self._woken = False
        done: list[_Decided] = []
        while self._decided:
            done.append(self._decided.popleft())
        for item in done:
            self.admission.leave(item.entered, item.deciding)
        task = asyncio.ensure_future(self._answer_all(done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_all(self, done: list[_Decided]) -> None:
        try:
            for item in done:
                if item.reply:
                    await self._answer(item.msg, item.reply)
                # what an ok command did, its event_recorded lines say; a refused actor, the security log alone
                if not item.reply.startswith((b'{"ok"', SECURITY_REFUSAL)):
                    log.info("command_handled", subject=item.msg.subject, ok=False)
        finally:
            self._admitted -= len(done)
            if not self._admitted:
                self._idle.set()

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


class _Decided(NamedTuple):
    """A decided command on its way back to the loop: its request, reply, admission and deciding time."""

    msg: Any
    reply: bytes
    entered: float
    deciding: float


def _within(at: float, now: Callable[[], float], decide: Callable[[], bytes]) -> tuple[bytes, float]:
    """``decide()`` if it starts by ``at``; its reply and the seconds it took from its start."""
    started = now()
    with deadline(at, now):
        return decide(), now() - started
