"""NATS subjects of the ledger, and which command or view each one carries.

Commands: request/reply on ``ledger.cmd.<group>.<action>`` (queue group ``ledger-service``), outside any
stream so replies come from the service, not from a stream's PubAck. Reads: ``ledger.read.<view>``. Events:
the JetStream stream ``LEDGER_EVENTS`` on ``ledger.events.<EventType>.<account aggregate id>``.
"""

from __future__ import annotations

from ledger.commands import messages as m

QUEUE_GROUP = "ledger-service"
COMMAND_PREFIX = "ledger.cmd."
READ_PREFIX = "ledger.read."
EVENTS_STREAM = "LEDGER_EVENTS"
EVENTS_PREFIX = "ledger.events."
DLQ_STREAM = "LEDGER_DLQ"
#: Records of events a worker left uncertain: ``ledger.dlq.<worker>`` (in the LEDGER_DLQ stream).
DLQ_PREFIX = "ledger.dlq."
#: Largest request body the service accepts.
MAX_PAYLOAD = 64 * 1024

COMMANDS: dict[str, type[m.Command]] = {
    "account.open": m.OpenAccount,
    "account.invite": m.SendInvitation,
    "account.resend_invite": m.ResendInvitation,
    "account.accept_invite": m.AcceptInvitation,
    "account.expire_invite": m.ExpireInvitation,
    "account.renew_invite": m.RenewInvitation,
    "account.record_password_change": m.RecordPasswordChange,
    "account.record_reset_request": m.RecordPasswordResetRequest,
    "account.send_statement": m.SendStatement,
    "order.place": m.PlaceOrder,
    "order.reprice": m.ChangeOrderPrice,
    "order.cart": m.RequestCart,
    "order.cancel": m.CancelOrder,
    "order.replace": m.ReplaceOrder,
    "invoice.issue": m.IssueInvoice,
    "invoice.adjust": m.AdjustInvoice,
    "invoice.void": m.VoidInvoice,
    "payment.submit": m.SubmitPayment,
    "payment.settle": m.SettlePayment,
    "payment.return": m.ReturnPayment,
    "payment.refund": m.RefundPayment,
    "credit.issue": m.IssueCredit,
    "credit.apply": m.ApplyCredit,
    "credit.refund": m.RefundCredit,
    "auth.create": m.AuthorizeCard,
    "auth.expire": m.ExpireAuthorization,
    "auth.request_reauth": m.RequestReauthorization,
    "auth.reauthorize": m.Reauthorize,
    "auth.capture": m.CaptureAuthorization,
    "auth.void": m.VoidAuthorization,
    "method.add": m.AddPaymentMethod,
    "method.remove": m.RemovePaymentMethod,
    "method.default": m.SetDefaultPaymentMethod,
    "autopay.enable": m.EnableAutopay,
    "autopay.disable": m.DisableAutopay,
    "research.receive": m.ReceiveUnidentifiedPayment,
    "research.refer": m.ReferToAccounting,
    "research.match": m.MatchPayment,
}

READS = ("account", "balance", "invoices", "unpaid", "payments", "credits", "history", "dashboard", "audit_search")
#: What a portal reads, for its customer's own account only: the portal's pages. The CSR dashboard and the audit
#: trail's search are staff's.
PORTAL_READS = ("account", "balance", "invoices", "unpaid", "payments", "credits", "history")


def event_subject(event_type: str, aggregate_id: str) -> str:
    """``ledger.events.PaymentApplied.<aggregate id>``: filter by type, by account, or both."""
    return f"{EVENTS_PREFIX}{event_type}.{aggregate_id}"
