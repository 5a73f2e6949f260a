"""Operations CLI commands: ``serve`` (what ``make run`` runs), ``projections follow``, ``relay``, ``worker
NAME``, ``workers`` and ``schema export``."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.cli.main import CliState, cli, json_option
from ledger.cli.output import emit_json
from ledger.cli.read import projections
from ledger.logs import configure_logging

pass_state = click.make_pass_decorator(CliState)


@cli.command("serve")
@pass_state
def serve(state: CliState) -> None:
    """Run the ledger: nats-server (unless NATS_URL), command/read API, relay, workers, projections."""
    from workers.runtime import run_forever

    settings = state.settings()
    configure_logging(fmt=settings.log_format, security_log=settings.security_log())
    run_forever(state.ledger(serving=True))


@cli.command("web")
@click.option("--nats-url", help="NATS server of the ledger's API (default NATS_URL).")
@pass_state
def web(state: CliState, nats_url: str | None) -> None:
    """Run only the customer portal (and the gateway simulator's tokenizer page), a client of the ledger's NATS
    API: LEDGER_HTTP_HOST / LEDGER_HTTP_PORT, LEDGER_PORTAL_URL. It never opens the event store."""
    import asyncio

    from ledger.bootstrap import mailer_of
    from ledger.identity.credentials import Credentials
    from ledger.web.ledger_client import PortalAccess
    from ledger.web.server import run_web

    settings = state.settings()
    url = nats_url or settings.nats_url
    if not url:
        raise click.UsageError("--nats-url (or NATS_URL) is required")
    configure_logging(fmt=settings.log_format)
    access = PortalAccess.of(Credentials(settings.nats_dir, settings.nats_tls).ensure())
    asyncio.run(run_web(settings, url, mailer_of(settings), sender=settings.mail_from, access=access))


@projections.command("follow")
@pass_state
def projections_follow(state: CliState) -> None:
    """Keep the read models caught up with the log until SIGINT or SIGTERM (what ``serve`` runs beside it)."""
    import signal
    import threading

    from ledger.projections.follower import follow

    configure_logging(fmt=state.settings().log_format)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    follow(state.settings(), stop)  # only the store: no gateway, no command service


@cli.command("relay")
@click.option("--nats-url", help="NATS server with JetStream (default: NATS_URL).")
@click.option("--batch", default=1000, show_default=True, help="Events published per batch.")
@pass_state
def relay(state: CliState, nats_url: str | None, batch: int) -> None:
    """Run only the relay (log -> JetStream), e.g. as its own process next to the service."""
    import asyncio

    from workers.relay import run_standalone

    url = nats_url or state.settings().nats_url
    if not url:
        raise click.UsageError("--nats-url (or NATS_URL) is required")
    configure_logging(fmt=state.settings().log_format)
    ledger = state.ledger()
    asyncio.run(run_standalone(ledger.store, url, batch, **ledger.credentials().connect_options("relay")))


@cli.command("worker")
@click.argument("name", type=click.Choice(["emails", "orders", "autopay", "expiry"]))
@click.option("--nats-url", help="NATS server with JetStream (default: NATS_URL; not needed by expiry).")
@click.option("--replay-from", type=click.IntRange(min=1), metavar="SEQ",
              help="First rewind the worker's durable consumer to this LEDGER_EVENTS sequence.")
@pass_state
def worker(state: CliState, name: str, nats_url: str | None, replay_from: int | None) -> None:
    """Run one worker as its own process (emails, orders, autopay: durable consumers; expiry: the scheduler)."""
    import asyncio

    from workers.runtime import run_worker

    url = nats_url or state.settings().nats_url
    if name != "expiry" and not url:
        raise click.UsageError("--nats-url (or NATS_URL) is required for this worker")
    configure_logging(fmt=state.settings().log_format)
    asyncio.run(run_worker(state.ledger(), name, url, replay_from=replay_from))


@cli.command("workers")
@click.option("--uncertain", "show_uncertain", is_flag=True, help="List the events left uncertain.")
@json_option
@pass_state
def workers_status(state: CliState, show_uncertain: bool) -> None:
    """What each worker has done, from its inbox (done, failed, uncertain, claimed by a running attempt)."""
    from workers.inbox import UNCERTAIN, Inbox

    path = state.settings().home / "workers.db"
    if not path.exists():
        click.echo("no worker has run here yet" if not state.as_json else "{}")
        return
    inbox = Inbox(path)
    try:
        summary = inbox.summary()
        listed = inbox.listed(UNCERTAIN) if show_uncertain else []
    finally:
        inbox.close()
    if state.as_json:
        emit_json({"workers": summary, "uncertain": [{"worker": w, "event_id": e, "at": a} for w, e, a in listed]})
        return
    for name, counts in summary.items():
        click.echo(f"{name:10} " + "  ".join(f"{status} {count}" for status, count in counts.items()))
    for name, event_id, _ in listed:
        click.echo(f"uncertain  {name:10} {event_id}")


@cli.group()
def schema() -> None:
    """The public event schema."""


@schema.command("export")
@click.option("--out", type=click.Path(path_type=Path), default=Path("docs"), show_default=True,
              help="Folder to write schema/events.json and asyncapi.json into.")
def schema_export(out: Path) -> None:
    """Write the JSON Schema of every event and the AsyncAPI document of the NATS interface."""
    from ledger.nats_api.schema import export

    for path in export(out):
        click.echo(str(path))
