"""CLI commands for card authorizations, the ``auth`` group (seed 004)."""

from __future__ import annotations

import click

from ledger.cli.main import CliState, cli
from ledger.commands import messages as m

pass_state = click.make_pass_decorator(CliState)


@cli.group()
def auth() -> None:
    """Card authorizations: 29-day holds, expiry, reauthorization, capture, void."""


@auth.command("create")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("auth_id", metavar="AUTHORIZATION")
@click.option("--order", required=True, help="The order the hold is for.")
@click.option("--amount", required=True, help="Amount to hold, a decimal (no more than the order's balance due).")
@click.option("--token", required=True, help="The gateway's card token.")
@pass_state
def auth_create(state: CliState, account_id: str, auth_id: str, order: str, amount: str, token: str) -> None:
    """Authorize a card for an order (good for 29 days)."""
    state.run(lambda a: m.AuthorizeCard(account=account_id, authorization=auth_id, order=order, amount=amount,
                                        token=token, actor=a))


@auth.command("expire")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("auth_id", metavar="AUTHORIZATION")
@pass_state
def auth_expire(state: CliState, account_id: str, auth_id: str) -> None:
    """Record that the hold passed its 29 days."""
    state.run(lambda a: m.ExpireAuthorization(account=account_id, authorization=auth_id, actor=a))


@auth.command("request-reauth")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("auth_id", metavar="AUTHORIZATION")
@click.option("--amount", default=None, help="New amount (default: the order's price).")
@pass_state
def auth_request(state: CliState, account_id: str, auth_id: str, amount: str | None) -> None:
    """Send (or re-trigger) the "Approve Order Payment" cart link."""
    state.run(lambda a: m.RequestReauthorization(account=account_id, authorization=auth_id, amount=amount, actor=a))


@auth.command("reauthorize")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("auth_id", metavar="AUTHORIZATION")
@click.argument("new_auth_id", metavar="NEW_AUTHORIZATION")
@click.option("--amount", default=None, help="Amount of the new hold (default: the cart's, at least the balance due).")
@click.option("--token", default=None, help="A new card token (default: the held card).")
@pass_state
def auth_reauthorize(state: CliState, account_id: str, auth_id: str, new_auth_id: str, amount: str | None,
                     token: str | None) -> None:
    """Checkout of the cart link: authorize the new amount; failure flags manual processing."""
    state.run(lambda a: m.Reauthorize(account=account_id, authorization=auth_id, new_authorization=new_auth_id,
                                      amount=amount, token=token, actor=a))


@auth.command("capture")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("auth_id", metavar="AUTHORIZATION")
@click.argument("payment_id", metavar="PAYMENT")
@click.option("--amount", default=None, help="Default: the whole hold.")
@pass_state
def auth_capture(state: CliState, account_id: str, auth_id: str, payment_id: str, amount: str | None) -> None:
    """Capture the hold as a card payment applied to its order."""
    state.run(lambda a: m.CaptureAuthorization(account=account_id, authorization=auth_id, payment=payment_id,
                                               amount=amount, actor=a))


@auth.command("void")
@click.argument("account_id", metavar="ACCOUNT")
@click.argument("auth_id", metavar="AUTHORIZATION")
@click.option("--reason", default="", help="Why the hold is released (audit log).")
@pass_state
def auth_void(state: CliState, account_id: str, auth_id: str, reason: str) -> None:
    """Release the hold."""
    state.run(lambda a: m.VoidAuthorization(account=account_id, authorization=auth_id, reason=reason, actor=a))
