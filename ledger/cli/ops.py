"""Operations CLI commands: ``serve`` (what ``make run`` runs) and ``schema export``."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.cli.main import CliState, cli
from ledger.logs import configure_logging

pass_state = click.make_pass_decorator(CliState)


@cli.command("serve")
@pass_state
def serve(state: CliState) -> None:
    """Run the ledger: nats-server (unless NATS_URL), command/read API, relay, workers, projections."""
    from workers.runtime import run_forever

    configure_logging()
    run_forever(state.ledger())


@cli.command("relay")
@click.option("--nats-url", envvar="NATS_URL", required=True, help="NATS server with JetStream.")
@click.option("--batch", default=1000, show_default=True)
@pass_state
def relay(state: CliState, nats_url: str, batch: int) -> None:
    """Run only the relay (log -> JetStream), e.g. as its own process next to the service."""
    import asyncio

    from workers.relay import run_standalone

    configure_logging()
    asyncio.run(run_standalone(state.ledger().store, nats_url, batch))


@cli.group()
def schema() -> None:
    """The public event schema."""


@schema.command("export")
@click.option("--out", type=click.Path(path_type=Path), default=Path("docs"), show_default=True)
def schema_export(out: Path) -> None:
    """Write the JSON Schema of every event and the AsyncAPI document of the NATS interface."""
    from ledger.service.schema import export

    for path in export(out):
        click.echo(str(path))
