"""How the CLI prints results and errors: one line for people, JSON with ``--json``."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
import msgspec
import structlog
from rich.console import Console
from rich.progress import Progress

from ledger.commands.messages import Outcome
from ledger.errors import LedgerError


def emit_json(obj: object) -> None:
    """Print ``obj`` as one JSON document on stdout."""
    click.echo(msgspec.json.encode(obj).decode())


def emit_outcome(outcome: Outcome, as_json: bool) -> None:
    """Print what a command did."""
    if as_json:
        emit_json(outcome)
        return
    if outcome.replayed:
        line = f"{outcome.reference}: already done (idempotent repeat, nothing written)"
    else:
        line = f"{outcome.reference}: {', '.join(outcome.events) or 'no change'}"
    detail = outcome.detail if outcome.detail not in outcome.events else None  # the event named once
    extras = [x for x in (outcome.status, outcome.transaction_id, detail) if x]
    click.echo(line + (f" [{' '.join(extras)}]" if extras else ""))


def fail(error: LedgerError, as_json: bool) -> None:
    """Report a refusal: one line on stderr, the error object on stdout with ``--json``; exit 2 or 1."""
    field = f" ({error.field})" if error.field else ""
    click.echo(f"error: {error.code}{field}: {error.message}", err=True)
    if as_json:
        emit_json({"error": error.to_dict()})
    sys.exit(error.exit_code)


def internal_error(error: Exception) -> LedgerError:
    """What to report for a failure that is not a refusal (a bug, an unreadable store): its traceback is logged
    on stderr with a reference for operators, and the returned ``internal`` error names the failure and that
    reference, so ``--json`` callers still get ``{"error": {"code", "field", "message"}}`` on stdout."""
    reference = uuid.uuid4().hex[:12]
    structlog.get_logger("ledger.cli").error("command_failed", reference=reference, error=repr(error),
                                             exc_info=error)
    return LedgerError(f"{type(error).__name__}: {error} (reference {reference}, traceback in the log)",
                       code="internal")


def typed_name(param: click.Parameter | None) -> str | None:
    """The name a person types for ``param``, which a usage error names as its field: the longest flag without
    its dashes (``within-days``, ``from``), or an argument's metavar in lower case (``account``), never the
    Python name behind it (``within_days``, ``start``, ``account_id``)."""
    if param is None:
        return None
    if isinstance(param, click.Option):
        return max(param.opts, key=len).lstrip("-")
    return (param.metavar or param.name or "").lower()


@contextmanager
def progress_bar(label: str, total: int | None, *, hidden: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (stdout stays the command's output), ``hidden`` with ``--json``; yields the
    function to call with how many more of ``total`` (None: unknown) are done."""
    with Progress(console=Console(stderr=True), disable=hidden) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.advance(task, done)
