"""A command's deadline: the instant after which its caller no longer waits for the answer.

The NATS API sets it (:func:`deadline`) around the call that decides a command; the service checks it
(:func:`check_deadline`) when deciding starts, once the command has its account's turn: a command whose deadline
has passed by then is refused ``deadline_exceeded`` and never executed, so the gateway is never asked for it and
a caller that gave up and retries (perhaps under a new key) never pays twice. A command that started deciding in
time finishes and is recorded, whatever the clock says after that (its gateway call may already have charged).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ledger.errors import DeadlineExceeded

_current: ContextVar[tuple[float, Callable[[], float]] | None] = ContextVar("ledger_deadline", default=None)


@contextmanager
def deadline(at: float, now: Callable[[], float]) -> Iterator[None]:
    """Commands decided inside must start before ``at`` (seconds, on the clock ``now``: Unix time in service)."""
    token = _current.set((at, now))
    try:
        yield
    finally:
        _current.reset(token)


def check_deadline() -> None:
    """Raise :class:`DeadlineExceeded` when the current command's deadline has passed (no deadline: never)."""
    current = _current.get()
    if current is not None and current[1]() > current[0]:
        raise DeadlineExceeded("the request's deadline passed before the command could be decided; it was not "
                               "executed", field="Ledger-Deadline")
