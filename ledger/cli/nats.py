"""``ledger nats``: the NATS credentials of this ledger (``$LEDGER_HOME/nats/``) and its server configuration."""

from __future__ import annotations

import click

from ledger.cli.main import CliState, cli
from ledger.cli.output import emit_json, fail
from ledger.errors import LedgerError
from ledger.identity.credentials import Credentials, reload_bundled_server
from ledger.identity.roles import ISSUED_ROLES, STAFF_KINDS, user_name

pass_state = click.make_pass_decorator(CliState)


@cli.group("nats")
def nats_group() -> None:
    """NATS credentials per role, and the server configuration that enforces their permissions."""


@nats_group.command("credentials")
@click.argument("role", type=click.Choice(ISSUED_ROLES))
@click.option("--name", default="", help="Who it is for (required for portal, staff and subscriber).")
@click.option("--kind", type=click.Choice(STAFF_KINDS), default="csr", show_default=True,
              help="For staff: the kind of staff member it acts as.")
@pass_state
def credentials(state: CliState, role: str, name: str, kind: str) -> None:
    """Issue a credential and print it as one ``user:password`` line (a new password if it existed)."""
    settings = state.settings()
    try:
        issued = Credentials(settings.nats_dir).ensure().issue(role, name, kind=kind)
    except LedgerError as error:
        fail(error, state.as_json)
    reloaded = reload_bundled_server(settings.home)
    if state.as_json:
        emit_json({"user": issued.user, "password": issued.password, "role": role, "name": name,
                   "kind": issued.kind, "server_reloaded": reloaded})
    else:
        click.echo(issued.line())


@nats_group.command("revoke")
@click.argument("role", type=click.Choice(ISSUED_ROLES))
@click.option("--name", default="", help="The credential's name (as issued).")
@pass_state
def revoke(state: CliState, role: str, name: str) -> None:
    """Remove a credential; the bundled server drops its connections at once (an external one on reload)."""
    settings = state.settings()
    try:
        gone = Credentials(settings.nats_dir).ensure().revoke(user_name(role, name))
    except LedgerError as error:
        fail(error, state.as_json)
    reloaded = reload_bundled_server(settings.home)
    if state.as_json:
        emit_json({"revoked": gone.user, "server_reloaded": reloaded})
    else:
        click.echo(f"revoked {gone.user}" + ("" if reloaded else " (reload the NATS server to disconnect it)"))


@nats_group.command("config")
@pass_state
def config(state: CliState) -> None:
    """Print the nats-server configuration (users and permissions) to copy onto an external NATS server."""
    credentials = Credentials(state.settings().nats_dir).ensure()
    click.echo(credentials.config_path.read_text(), nl=False)
