"""Handlers for opening accounts, portal invitations and statements."""

from __future__ import annotations

from ledger.aggregates import Account
from ledger.commands import messages as m
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit
from ledger.commands.validation import check_date, check_email, check_id, check_text, token_hash
from ledger.errors import Conflict
from ledger.money import check_currency
from ledger.ports.ids import account_uuid

HANDLERS = HandlerRegistry()


@HANDLERS.on(m.OpenAccount)
def open_account(unit: Unit, cmd: m.OpenAccount) -> m.Outcome:
    account_id = check_id(cmd.account, "account")
    currency = check_currency(cmd.currency)
    email = check_email(cmd.email)
    name = check_text(cmd.name, "name", 200)
    existing = unit.account_exists(account_id)
    aggregate_id = account_uuid(account_id)
    vault = unit.store.personal  # the email and name are sealed with the account's key before any event holds them
    if existing is not None:
        state = existing.state
        same = (vault.reveal(aggregate_id, state.email), state.currency, vault.reveal(aggregate_id, state.name)) \
            == (email, currency, name)
        if same:
            return replayed(account_id, account_id)
        raise Conflict(f"account {account_id} already exists", field="account", code="duplicate_id")
    unit.new_account(Account.open(unit.ctx, aggregate_id=aggregate_id, account_id=account_id, currency=currency,
                                  email=vault.seal(aggregate_id, email), name=vault.seal(aggregate_id, name)))
    return recorded(unit, account_id, account_id)


@HANDLERS.on(m.SendInvitation)
def send_invitation(unit: Unit, cmd: m.SendInvitation) -> m.Outcome:
    account = unit.account(cmd.account)
    unit.claim_login(account.state.email, account.state.account_id)
    invitation_id = unit.ports.ids.new_id("INVITE")
    raw = unit.ports.tokens.issue("invitation", cmd.account, invitation_id, "0")
    account.send_invitation(unit.ctx, invitation_id=invitation_id, token_hash=token_hash(raw))
    return recorded(unit, cmd.account, invitation_id)


@HANDLERS.on(m.ResendInvitation)
def resend_invitation(unit: Unit, cmd: m.ResendInvitation) -> m.Outcome:
    account = unit.account(cmd.account)
    unit.claim_login(account.state.email, account.state.account_id)
    invitation = account._invitation()
    raw = unit.ports.tokens.issue("invitation", cmd.account, invitation.id, str(invitation.resent + 1))
    account.resend_invitation(unit.ctx, token_hash=token_hash(raw))
    return recorded(unit, cmd.account, invitation.id)


@HANDLERS.on(m.AcceptInvitation)
def accept_invitation(unit: Unit, cmd: m.AcceptInvitation) -> m.Outcome:
    account = unit.account(cmd.account)
    unit.claim_login(account.state.email, account.state.account_id)  # an invitation sent before logins were claimed
    event = account.accept_invitation(unit.ctx, token_hash=token_hash(check_text(cmd.token, "token", 200)))
    return recorded(unit, cmd.account, event.invitation_id)


@HANDLERS.on(m.RenewInvitation)
def renew_invitation(unit: Unit, cmd: m.RenewInvitation) -> m.Outcome:
    account = unit.account(cmd.account)
    invitation = account._invitation()
    raw = unit.ports.tokens.issue("invitation", cmd.account, invitation.id, str(invitation.resent + 1))
    account.renew_invitation(unit.ctx, presented_hash=token_hash(check_text(cmd.token, "token", 200)),
                             token_hash=token_hash(raw))
    return recorded(unit, cmd.account, invitation.id)


def record_password_fact(unit: Unit, cmd: m.RecordPasswordChange | m.RecordPasswordResetRequest) -> m.Outcome:
    """The portal's password facts, for the audit log (the password itself stays in the portal's store)."""
    account = unit.account(cmd.account)
    if isinstance(cmd, m.RecordPasswordChange):
        account.record_password_change(unit.ctx, how=cmd.how)
    else:
        account.record_reset_request(unit.ctx)
    return recorded(unit, cmd.account, cmd.account)


HANDLERS.on(m.RecordPasswordChange)(record_password_fact)
HANDLERS.on(m.RecordPasswordResetRequest)(record_password_fact)


@HANDLERS.on(m.ForgetPersonalData)
def forget_personal_data(unit: Unit, cmd: m.ForgetPersonalData) -> m.Outcome:
    account = unit.account(cmd.account)
    account.forget_personal_data(unit.ctx)
    return recorded(unit, cmd.account, cmd.account)


@HANDLERS.on(m.ExpireInvitation)
def expire_invitation(unit: Unit, cmd: m.ExpireInvitation) -> m.Outcome:
    account = unit.account(cmd.account)
    event = account.expire_invitation(unit.ctx)
    return recorded(unit, cmd.account, event.invitation_id)


@HANDLERS.on(m.SendStatement)
def send_statement(unit: Unit, cmd: m.SendStatement) -> m.Outcome:
    account = unit.account(cmd.account)
    account.send_statement(unit.ctx, period_from=check_date(cmd.period_from, "period_from"),
                           period_to=check_date(cmd.period_to, "period_to"))
    return recorded(unit, cmd.account, cmd.account)
