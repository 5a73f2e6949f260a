"""Child processes that must not outlive the process that started them (a nats-server, a rebuild worker)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` on Linux (looked up before a fork, so the child only calls it); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def die_with_parent_hook(sig: int = signal.SIGTERM, parent: int | None = None) -> Callable[[], None] | None:
    """A function for a child to call first (a ``preexec_fn``, or the start of a process's target) asking Linux
    to send it ``sig`` when the thread that started it dies (``PR_SET_PDEATHSIG``), even by SIGKILL; the child
    exits at once if its parent (``parent``, by default the process making the hook) is already gone. None where
    Linux's call is not available."""
    prctl = _prctl()
    if prctl is None:
        return None
    expected = os.getpid() if parent is None else parent

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, sig)
        if os.getppid() != expected:  # the parent died before the request took effect
            os._exit(1)

    return hook
