"""``ledger [--db PATH] [--at TIME] [--json] <command>``: the CLI over the ledger's Python API."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click
import structlog

from ledger.bootstrap import Ledger, build
from ledger.cli.output import emit_outcome, fail, internal_error, typed_name
from ledger.commands.messages import ActorIn, Command
from ledger.commands.unit import CLOCK_SKEW
from ledger.config import Settings, ensure_private_home
from ledger.errors import LedgerError, NotFound, ValidationError
from ledger.logs import configure_logging
from ledger.ports.clock import parse_instant

#: Files the ledger creates (the event store, read models, Maildir emails holding invitation and pay links,
#: exports, the bundled nats-server's JetStream files) are readable by their owner only.
PRIVATE_FILES = 0o077


@dataclass
class CliState:
    """Options of the root command, and the ledger wired lazily from them."""

    db: Path | None
    at: str | None
    as_json: bool
    actor: ActorIn
    _ledger: Ledger | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """The settings from the environment and ``--db`` (for commands that need only the store)."""
        return Settings.from_env(db_path=self.db)

    def reader(self) -> Ledger:
        """The wired ledger for a command that only reads: a SQLite store that does not exist (a mistyped
        ``--db``) is refused (``no_store``, field ``db``) before anything is created (its folder, the store,
        the secret, the gateway's file); reading it would only answer ``not_found`` from an empty store."""
        if self._ledger is None:
            settings = self.settings()
            if settings.home.is_dir():  # a home others can read is refused first, as every command refuses it
                ensure_private_home(settings.home)
            if settings.store == "sqlite" and not settings.db_path.is_file():
                if settings.home.is_dir():  # a folder others can read is refused as such first (nothing created)
                    ensure_private_home(settings.home)
                raise NotFound(f"no event store at {settings.db_path}", field="db", code="no_store")
        return self.ledger()

    def ledger(self, *, serving: bool = False) -> Ledger:
        """The wired ledger (opened on first use; ``serving``: for ``serve``, see :func:`ledger.bootstrap.build`)."""
        if self._ledger is None:
            settings = self.settings()
            instant: datetime | None = parse_instant(self.at, settings.timezone, "at") if self.at else None
            self._ledger = build(settings, at=instant, serving=serving)
        return self._ledger

    def run(self, make: Callable[[ActorIn], Command]) -> None:
        """Build a command with this CLI's actor, run it, print the outcome or the error.

        A command ``--at`` a future instant is refused (``in_future``): its events would stamp the account's
        history ahead of time, and nothing could be recorded on the account before that instant (reads may look
        ahead: ``--at`` a future instant shows what will have expired by then)."""
        try:
            ledger = self.ledger()
            if self.at and ledger.ports.clock.now() > datetime.now(UTC) + CLOCK_SKEW:
                raise ValidationError(f"--at {self.at} is in the future; a command records what happens now or "
                                      "happened before", field="at", code="in_future")
            outcome = ledger.service.handle(make(self.actor))
        except LedgerError as error:
            fail(error, self.as_json)
        emit_outcome(outcome, self.as_json)


def parse_actor(text: str) -> ActorIn:
    """``--actor csr:jdoe`` -> ActorIn(kind="csr", name="jdoe", channel="cli")."""
    kind, _, name = text.partition(":")
    return ActorIn(kind=kind, name=name or kind, channel="cli")


class PlainHelpGroup(click.Group):
    """A group whose commands' help reads as plain text: the docstrings they come from keep their
    reStructuredText for readers of the code (``now``, :func:`x`), the terminal shows ``'now'`` and ``x``.
    Its sub-groups (``@cli.group()``) are of this class too."""

    group_class = type

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Register ``cmd`` with plain help."""
        plain_help(cmd)
        super().add_command(cmd, name)


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain_help(cmd: click.Command) -> None:
    """``cmd``'s help and its options' help without reStructuredText markup."""
    if cmd.help:
        cmd.help = _LITERAL.sub(r"'\1'", _ROLE.sub(r"\1", cmd.help))
    if cmd.short_help:
        cmd.short_help = _LITERAL.sub(r"'\1'", _ROLE.sub(r"\1", cmd.short_help))
    for param in cmd.params:
        if isinstance(param, click.Option) and param.help:
            param.help = _LITERAL.sub(r"'\1'", _ROLE.sub(r"\1", param.help))


@click.group(cls=PlainHelpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="payment-ledger", prog_name="ledger", message="%(prog)s %(version)s")
@click.option("--db", type=click.Path(path_type=Path), help="SQLite event store file (default: LEDGER_DB).")
@click.option("--at", "at", metavar="ISO-8601-TIME", help="Run as if now were this instant (business zone).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.option("--actor", default="system:cli", show_default=True, help="Who acts: KIND:NAME (csr:jdoe).")
@click.pass_context
def cli(ctx: click.Context, db: Path | None, at: str | None, as_json: bool, actor: str) -> None:
    """The payment ledger: accounts, invoices, payments, credits and card authorizations."""
    ctx.obj = CliState(db=db, at=at, as_json=as_json, actor=parse_actor(actor))
    settings = ctx.obj.settings()  # a bad setting is refused here, at start
    configure_logging(quiet=True, fmt=settings.log_format, security_log=settings.security_log())
    ctx.call_on_close(lambda: ctx.obj._ledger.close() if ctx.obj._ledger else None)


def main() -> None:
    """Console entry point: bad usage exits 2, refusals 2, other failures 1, each with one line on stderr.

    With ``--json`` every failure, an internal one included, also prints ``{"error": {"code", "field",
    "message"}}`` on stdout; an internal failure logs its traceback on stderr first (code ``internal``).
    """
    as_json = "--json" in sys.argv
    os.umask(PRIVATE_FILES)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.NoArgsIsHelpError as asked:  # ``ledger``, ``ledger account``: the help, as --help
        click.echo(asked.ctx.get_help())
        sys.exit(0 if asked.ctx.parent is None else 2)  # a group without its command is still incomplete
    except click.ClickException as error:
        param = typed_name(getattr(error, "param", None))
        fail(ValidationError(error.format_message(), field=param, code="usage"), as_json)
    except click.exceptions.Abort:
        sys.exit(1)
    except LedgerError as error:
        fail(error, as_json)
    except Exception as error:
        if not structlog.is_configured():  # failed before the root command configured logging
            configure_logging(quiet=True)
        fail(internal_error(error), as_json)


def _json_flag(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(CliState).as_json = True


#: ``--json`` after the command as well as before it (``ledger replay balances --as-of T --json``).
json_option = click.option("--json", "as_json", is_flag=True, expose_value=False, callback=_json_flag,
                           help="Print JSON on stdout (same as the global --json).")
