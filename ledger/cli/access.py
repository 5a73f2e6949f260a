"""CLI commands of the ``account`` group: opening accounts, portal invitations, statements (the
reports on an account, ``account balance`` and the like, are in :mod:`ledger.cli.read`)."""

from __future__ import annotations

import click

from ledger.cli.main import CliState, cli, json_option
from ledger.cli.output import emit_json, fail
from ledger.cli.tables import print_account
from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.views import stored_account_view

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def account() -> None:
    """Open and show accounts; portal invitations."""


@account.command("open")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--email", required=True, help="Primary email: the one portal login.")
@click.option("--currency", default="USD", show_default=True, help="ISO currency of every amount on the account.")
@click.option("--name", default="", help="The customer's name, shown in emails.")
@pass_state
def account_open(state: CliState, account_id: str, email: str, currency: str, name: str) -> None:
    """Open ACCOUNT."""
    state.run(lambda a: m.OpenAccount(account=account_id, email=email, currency=currency, name=name, actor=a))


@account.command("show")
@click.argument("account_id", metavar="ACCOUNT")
@json_option
@pass_state
def account_show(state: CliState, account_id: str) -> None:
    """Balances, invoices, payments, credits, orders and authorizations of ACCOUNT."""
    try:
        ledger = state.reader()
        view = stored_account_view(ledger.store, account_id, ledger.ports.clock.zone, ledger.ports.clock.now())
    except LedgerError as error:
        fail(error, state.as_json)
    if state.as_json:
        emit_json(view)
    else:
        print_account(view)


@account.command("invite")
@click.argument("account_id", metavar="ACCOUNT")
@pass_state
def account_invite(state: CliState, account_id: str) -> None:
    """Send a portal invitation (valid 72 hours) to the primary email."""
    state.run(lambda a: m.SendInvitation(account=account_id, actor=a))


@account.command("resend-invite")
@click.argument("account_id", metavar="ACCOUNT")
@pass_state
def account_resend(state: CliState, account_id: str) -> None:
    """Resend the portal invitation with a fresh 72-hour link."""
    state.run(lambda a: m.ResendInvitation(account=account_id, actor=a))


@account.command("accept-invite")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--token", required=True, help="The token from the invitation link.")
@pass_state
def account_accept(state: CliState, account_id: str, token: str) -> None:
    """Register the portal login with the token from the invitation link."""
    state.run(lambda a: m.AcceptInvitation(account=account_id, token=token, actor=a))


@account.command("send-statement")
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--from", "start", required=True, metavar="DATE", help="First business day of the period.")
@click.option("--to", "end", required=True, metavar="DATE", help="Last business day of the period (inclusive).")
@pass_state
def account_send_statement(state: CliState, account_id: str, start: str, end: str) -> None:
    """Email the statement of a period with a pay link."""
    state.run(lambda a: m.SendStatement(account=account_id, period_from=start, period_to=end, actor=a))


@account.command("forget")
@click.argument("account_id", metavar="ACCOUNT")
@pass_state
def account_forget(state: CliState, account_id: str) -> None:
    """Erase ACCOUNT's email and name everywhere (its keys are destroyed, its portal login and sessions deleted);
    balances and history stay."""
    from ledger.personal.erasure import forget_account
    from ledger.web.credentials import credential_store

    try:
        ledger = state.ledger()
        destroyed = forget_account(ledger, account_id, state.actor, lambda: credential_store(ledger.settings))
    except LedgerError as error:
        fail(error, state.as_json)
    if state.as_json:
        emit_json({"account": account_id, "keys_destroyed": destroyed})
    else:
        click.echo(f"{account_id}: personal data erased ({destroyed} key(s) destroyed)" if destroyed else
                   f"{account_id}: shown erased from now on, but no key to destroy: its email and name were "
                   "recorded before they were sealed and stay in its events (docs/operations.md, upgrading)")


@cli.group("keys")
def keys_group() -> None:
    """The keys that seal personal data: rotation."""


@keys_group.command("rotate")
@click.argument("account_id", metavar="ACCOUNT")
@pass_state
def keys_rotate(state: CliState, account_id: str) -> None:
    """Give ACCOUNT a new data key for what is sealed from now on (older values keep their key)."""
    from ledger.ports.ids import account_uuid

    click.echo(f"{account_id}: key {state.ledger().store.personal.rotate(account_uuid(account_id))}")


@keys_group.command("rewrap")
@pass_state
def keys_rewrap(state: CliState) -> None:
    """Wrap every data key under LEDGER_CIPHER_KEY (after changing it; the old one in LEDGER_CIPHER_OLD_KEYS)."""
    click.echo(f"{state.ledger().store.personal.rewrap()} key(s) re-wrapped")
