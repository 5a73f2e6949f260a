"""The ``accounts`` read model's tables, indexes and views (:mod:`ledger.projections.accounts` writes them).

Balances are views over the tables (balance owed = open invoices; credit = open credits), summed in two 32-bit
halves (:func:`split_sum`) so they stay exact whatever the log holds.
"""

from __future__ import annotations

from ledger.projections.schema import IndexSpec, Schema, TableSpec
from ledger.projections.sums import split_sum


def _table(name: str, columns: dict[str, type], pk: tuple[str, ...] = ("account", "id"), *,
           nullable: tuple[str, ...] = (), defaults: dict[str, object] | None = None) -> TableSpec:
    """A table whose columns are NOT NULL except ``nullable`` and the primary key's (as SQLite allows)."""
    not_null = frozenset(c for c in columns if c not in nullable and (c not in pk or len(pk) > 1))
    return TableSpec(name, columns, pk, not_null, defaults or {})


_BALANCES = f"""select a.account, a.account_id, a.currency, a.email,
    {split_sum("total - paid", "balance", "from invoices i where i.account = a.account and not voided")},
    {split_sum("amount - paid", "orders_due", "from orders o where o.account = a.account and o.status = 'open' "
                                              "and o.paid < o.amount")},
    {split_sum("remaining", "credit_balance", "from credits c where c.account = a.account")},
    (select settled_at from payments p where p.account = a.account and settled_at is not null
        and refunded < amount order by settled_at desc limit 1) as last_payment_at,
    (select amount from payments p where p.account = a.account and settled_at is not null
        and refunded < amount order by settled_at desc limit 1) as last_payment_amount
    from accounts a"""

LAYOUT = Schema(
    tables=[
        _table("accounts", {"account": str, "account_id": str, "currency": str, "email": str, "name": str,
                            "opened_at": str, "portal": str, "autopay": int, "invitation_expires_at": str},
               ("account",), nullable=("invitation_expires_at",),
               defaults={"portal": "not_invited", "autopay": 0}),
        _table("invoices", {"account": str, "id": str, "issued_on": str, "due_on": str, "total": int, "paid": int,
                            "voided": int, "order_id": str, "autopay_failed": str},
               nullable=("order_id", "autopay_failed"),
               defaults={"paid": 0, "voided": 0}),
        _table("payments", {"account": str, "id": str, "submitted_at": str, "method": str, "amount": int,
                            "status": str, "transaction_id": str, "refunded": int, "settled_at": str,
                            "decline_code": str, "covers": str}, nullable=("settled_at", "decline_code"),
               defaults={"refunded": 0, "covers": "[]"}),
        _table("credits", {"account": str, "id": str, "issued_at": str, "amount": int, "remaining": int,
                           "kind": str, "reference": str}),
        _table("orders", {"account": str, "id": str, "placed_at": str, "channel": str, "description": str,
                          "amount": int, "paid": int, "status": str, "replaced_by": str, "replaces": str,
                          "manual_processing": int, "items": str}, nullable=("replaced_by", "replaces"),
               defaults={"paid": 0, "status": "open", "manual_processing": 0, "items": "[]"}),
        _table("authorizations", {"account": str, "id": str, "order_id": str, "amount": int, "status": str,
                                  "authorized_at": str, "expires_at": str, "requested_amount": int,
                                  "expired": int}, nullable=("requested_amount",), defaults={"expired": 0}),
        _table("unidentified", {"payment_id": str, "received_at": str, "amount": int, "currency": str,
                                "method": str, "transaction_id": str, "reference": str, "status": str, "note": str,
                                "matched_account": str}, ("payment_id",), nullable=("matched_account",),
               defaults={"note": ""}),
    ],
    indexes=[
        IndexSpec("accounts_by_account_id", "accounts", ("account_id",), unique=True, with_table=True),
        IndexSpec("payments_settled", "payments", ("account", "settled_at")),
        IndexSpec("orders_placed", "orders", ("account", "placed_at")),
        IndexSpec("authorizations_expiry", "authorizations", ("status", "expires_at")),
    ],
    views={
        "invoice_tab": """select i.*, a.account_id, a.currency,
    case when voided then 0 else total - paid end as open,
    case when voided then 'void' when paid >= total then 'paid' when paid > 0 then 'partially_paid'
         else 'open' end as status
    from invoices i join accounts a using (account)""",
        "balances": _BALANCES,
    },
)
COLUMNS = LAYOUT.columns()
KEYS = {spec.name: spec.pk for spec in LAYOUT.tables}
