"""Decisions about portal access (seeds 002, 003): one login per customer, on the primary email; an
invitation is valid for 72 hours and must be resent once expired; only the token's hash is ever kept."""

from __future__ import annotations

import hmac
from datetime import date, timedelta

from ledger.aggregates import events as ev
from ledger.aggregates.root import AccountRoot
from ledger.aggregates.state import Invitation
from ledger.errors import Conflict, Expired, Forbidden, NotFound, PolicyViolation, ValidationError

#: Seed 002: "Customer Portal invitations are valid for 72 hours only."
INVITATION_TTL = timedelta(hours=72)
#: Who may erase a person's data: finance, or the operator on the host (the CLI's default actor).
MAY_FORGET = ("finance", "system")


class AccessDecisions(AccountRoot):
    def send_invitation(self, ctx: ev.Context, *, invitation_id: str, token_hash: str) -> ev.InvitationSent:
        """Invite the customer's primary email to the portal (refused while one is pending or accepted)."""
        current = self.state.invitation
        if current is not None and current.status == "accepted":
            raise Conflict("the customer already has a portal login", field="account", code="already_registered")
        if current is not None and current.status == "pending" and ctx.at < current.expires_at:
            raise Conflict("an invitation is pending; resend it instead", field="account", code="invitation_pending")
        return self.trigger(ctx, ev.InvitationSent, invitation_id=invitation_id, email=self.state.email,
                            token_hash=token_hash, expires_at=ctx.at + INVITATION_TTL)

    def resend_invitation(self, ctx: ev.Context, *, token_hash: str) -> ev.InvitationResent:
        """Send a fresh link, valid 72 hours from now; the old link stops working."""
        current = self._invitation()
        if current.status == "accepted":
            raise Conflict("the invitation was already accepted", field="account", code="already_registered")
        return self.trigger(ctx, ev.InvitationResent, invitation_id=current.id, token_hash=token_hash,
                            expires_at=ctx.at + INVITATION_TTL)

    def accept_invitation(self, ctx: ev.Context, *, token_hash: str) -> ev.InvitationAccepted:
        """Register the portal login; an expired or superseded link is refused and nothing is written."""
        current = self._invitation()
        if not hmac.compare_digest(current.token_hash, token_hash):
            raise PolicyViolation("this invitation link is not valid", field="token", code="invalid_token")
        if current.status == "accepted":
            raise Conflict("the invitation was already accepted", field="token", code="already_registered")
        if current.status == "expired" or ctx.at >= current.expires_at:
            raise Expired("the invitation has expired; ask for it to be resent", field="token",
                          code="invitation_expired")
        return self.trigger(ctx, ev.InvitationAccepted, invitation_id=current.id)

    def renew_invitation(self, ctx: ev.Context, *, presented_hash: str, token_hash: str) -> ev.InvitationResent:
        """The customer, holding a link that expired, asks for a new one (seed 002: "Once expired, an
        invitation must be resent"): only the holder of the latest link may, and only once it has expired."""
        current = self._invitation()
        if not hmac.compare_digest(current.token_hash, presented_hash):
            raise PolicyViolation("this invitation link is not valid", field="token", code="invalid_token")
        if current.status == "pending" and ctx.at < current.expires_at:
            raise Conflict("the invitation is still valid", field="token", code="invitation_pending")
        return self.resend_invitation(ctx, token_hash=token_hash)

    def record_password_change(self, ctx: ev.Context, *, how: str) -> ev.PasswordChanged:
        """Record that the customer's portal password changed (``changed`` or ``reset``), for the audit log."""
        if how not in ("changed", "reset"):
            raise ValidationError("how must be changed or reset", field="how")
        self._registered()
        return self.trigger(ctx, ev.PasswordChanged, how=how)

    def record_reset_request(self, ctx: ev.Context) -> ev.PasswordResetRequested:
        """Record that a reset link was asked for the customer's portal login."""
        self._registered()
        return self.trigger(ctx, ev.PasswordResetRequested)

    def forget_personal_data(self, ctx: ev.Context) -> ev.PersonalDataForgotten:
        """Record that the account's personal data is erased; only finance or the operator (``system``) may
        erase a person's data (issue 17), any other actor is refused and nothing is written."""
        if ctx.by.kind not in MAY_FORGET:
            raise Forbidden(f"a {ctx.by.kind} may not forget an account; finance or an operator may",
                            field="actor.kind")
        return self.trigger(ctx, ev.PersonalDataForgotten)

    def _registered(self) -> None:
        if self.state.invitation is None or self.state.invitation.status != "accepted":
            raise PolicyViolation("the customer has no portal login", field="account", code="not_registered")

    def expire_invitation(self, ctx: ev.Context) -> ev.InvitationExpired:
        """Record that a pending invitation passed its 72 hours (the expiry worker calls this)."""
        current = self._invitation()
        if current.status != "pending" or ctx.at < current.expires_at:
            raise PolicyViolation("the invitation has not expired", field="account", code="not_expired")
        return self.trigger(ctx, ev.InvitationExpired, invitation_id=current.id)

    def send_statement(self, ctx: ev.Context, *, period_from: date, period_to: date) -> ev.StatementSent:
        """Record that a statement with a pay link goes to the primary email (the email worker sends it)."""
        if period_to < period_from:
            raise ValidationError("the period ends before it starts", field="period_to", code="invalid_period")
        return self.trigger(ctx, ev.StatementSent, period_from=period_from, period_to=period_to,
                            balance=self.state.balance, open_invoices=len(self.state.open_invoices()))

    def _invitation(self) -> Invitation:
        if self.state.invitation is None:
            raise NotFound("the account has no portal invitation", field="account", code="no_invitation")
        return self.state.invitation

