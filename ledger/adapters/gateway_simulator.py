"""A gateway simulator that behaves like a card / ACH gateway (the one stand-in for a real counterpart).

Test tokens: ``tok_visa``, ``tok_mastercard``, ``tok_amex``, ``tok_paypal`` approve; ``tok_decline``
("card_declined"), ``tok_insufficient_funds`` and ``tok_expired_card`` decline; ``tok_ach`` is pending until
settled (``settle_ach`` or ``advance_ach``), ``tok_ach_return`` is pending and comes back R01 on ``advance_ach``;
any ACH can be returned with ``return_ach``, also after it settled, as real returns arrive days later.
Authorizations hold for 29 days by the clock. Every money call is idempotent by key: the same key answers the
same result without charging twice; the same key with another request is refused. State lives in SQLite (a
file shared by several processes, or memory).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import datetime, timedelta
from typing import Any, Literal

from ledger.errors import Conflict, GatewayUnavailable
from ledger.ports.clock import Clock
from ledger.ports.gateway import AuthorizationResult, ChargeResult, PaymentMethod, check_token

APPROVING = {"tok_visa", "tok_mastercard", "tok_amex", "tok_paypal", "tok_discover"}
DECLINING = {"tok_decline": "card_declined", "tok_insufficient_funds": "insufficient_funds",
             "tok_expired_card": "expired_card"}
ACH_TOKENS = {"tok_ach", "tok_ach_return"}
HOLD = timedelta(days=29)

_SCHEMA = """
create table if not exists gateway_transactions (
    id text primary key, idem_key text unique, kind text not null, request text not null, token text,
    amount integer not null, currency text, method text, status text not null, decline_code text,
    created_at text not null, expires_at text, parent text, used integer not null default 0
)
"""


class GatewaySimulator:
    """Implements :class:`ledger.ports.gateway.Gateway` with realistic behaviour and persistent state."""

    def __init__(self, clock: Clock, path: str | None = None) -> None:
        self.clock = clock
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        if path:
            self._db.execute("pragma journal_mode=wal")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()
        self._failures = 0

    # -- the port -------------------------------------------------------------------------------------

    def charge(self, *, token: str, amount: int, currency: str, method: PaymentMethod,
               idempotency_key: str) -> ChargeResult:
        """Charge a card / PayPal (approved or declined at once) or debit a bank account (pending)."""
        check_token(token)
        request = f"charge|{token}|{amount}|{currency}|{method}"
        with self._lock:
            self._maybe_fail()
            done = self._replay(idempotency_key, request)
            if done is not None:
                return self._charge_result(done)
            status, code = self._judge(token, method)
            row = self._insert(idempotency_key, "charge", request, token=token, amount=amount, currency=currency,
                               method=method, status=status, decline_code=code)
        return self._charge_result(row)

    def authorize(self, *, token: str, amount: int, currency: str, idempotency_key: str) -> AuthorizationResult:
        """Hold ``amount`` on a card for 29 days."""
        check_token(token)
        request = f"authorize|{token}|{amount}|{currency}"
        with self._lock:
            self._maybe_fail()
            row = self._replay(idempotency_key, request)
            if row is None:
                status, code = self._judge(token, "card")
                expires = (self.clock.now() + HOLD).isoformat() if status == "approved" else None
                row = self._insert(idempotency_key, "authorization", request, token=token, amount=amount,
                                   currency=currency, method="card", status=status, decline_code=code,
                                   expires_at=expires)
        expires_at = datetime.fromisoformat(row["expires_at"]) if row["expires_at"] else None
        return AuthorizationResult(row["id"], row["status"], row["decline_code"], expires_at)

    def capture(self, *, transaction_id: str, amount: int, idempotency_key: str) -> ChargeResult:
        """Capture part or all of a live hold."""
        request = f"capture|{transaction_id}|{amount}"
        with self._lock:
            self._maybe_fail()
            done = self._replay(idempotency_key, request)
            if done is not None:
                return self._charge_result(done)
            auth = self._get(transaction_id)
            code = None
            if auth is None or auth["kind"] != "authorization" or auth["status"] == "declined":
                code = "unknown_authorization"
            elif auth["status"] == "voided":
                code = "authorization_voided"
            elif self.clock.now() >= datetime.fromisoformat(auth["expires_at"]):
                code = "authorization_expired"
            elif amount > auth["amount"] - auth["used"]:
                code = "amount_exceeds_authorization"
            row = self._insert(idempotency_key, "capture", request, amount=amount, parent=transaction_id,
                               status="declined" if code else "approved", decline_code=code,
                               currency=auth["currency"] if auth else None)
            if code is None:
                self._db.execute("update gateway_transactions set used = used + ? where id = ?",
                                 (amount, transaction_id))
        return self._charge_result(row)

    def void(self, *, transaction_id: str) -> ChargeResult:
        """Release a hold (voiding twice is harmless)."""
        with self._lock:
            self._maybe_fail()
            auth = self._get(transaction_id)
            if auth is None or auth["kind"] != "authorization":
                return ChargeResult(transaction_id, "declined", "unknown_authorization")
            if auth["status"] == "approved":
                self._db.execute("update gateway_transactions set status = 'voided' where id = ?",
                                 (transaction_id,))
        return ChargeResult(transaction_id, "approved")

    def refund(self, *, transaction_id: str, amount: int, idempotency_key: str) -> ChargeResult:
        """Refund part of an approved charge or capture, never more than is left of it."""
        request = f"refund|{transaction_id}|{amount}"
        with self._lock:
            self._maybe_fail()
            done = self._replay(idempotency_key, request)
            if done is not None:
                return self._charge_result(done)
            original = self._get(transaction_id)
            code = None
            if original is None or original["kind"] not in ("charge", "capture") or original["status"] not in (
                    "approved", "settled"):
                code = "unknown_transaction"
            elif amount > original["amount"] - original["used"]:
                code = "refund_exceeds_charge"
            row = self._insert(idempotency_key, "refund", request, amount=amount, parent=transaction_id,
                               status="declined" if code else "approved", decline_code=code)
            if code is None:
                self._db.execute("update gateway_transactions set used = used + ? where id = ?",
                                 (amount, transaction_id))
        return self._charge_result(row)

    def ach_status(self, transaction_id: str) -> Literal["pending", "settled", "returned"]:
        """Where an ACH debit stands."""
        row = self._get(transaction_id)
        if row is None or row["method"] != "ach":
            raise KeyError(transaction_id)
        status: Literal["pending", "settled", "returned"] = row["status"]
        return status

    # -- the simulator's own controls (the bank's side of ACH, outages) ---------------------------------

    def settle_ach(self, transaction_id: str) -> None:
        """The bank cleared the debit."""
        self._set_ach(transaction_id, "settled", None, from_states=("pending",))

    def return_ach(self, transaction_id: str, code: str = "R01") -> None:
        """The bank returned the debit (R01 insufficient funds ...), pending or already settled."""
        self._set_ach(transaction_id, "returned", code, from_states=("pending", "settled"))

    def advance_ach(self) -> list[tuple[str, str]]:
        """Process every pending ACH: ``tok_ach_return`` returns R01, others settle. Returns (id, status)."""
        rows = self._db.execute("select id, token from gateway_transactions where method = 'ach' and "
                                "kind = 'charge' and status = 'pending' order by rowid").fetchall()
        outcome = []
        for row in rows:
            if row["token"] == "tok_ach_return":
                self.return_ach(row["id"])
                outcome.append((row["id"], "returned"))
            else:
                self.settle_ach(row["id"])
                outcome.append((row["id"], "settled"))
        return outcome

    def fail_next(self, count: int) -> None:
        """Make the next ``count`` calls raise GatewayUnavailable (an outage)."""
        self._failures = count

    # -- internals ----------------------------------------------------------------------------------------

    def _maybe_fail(self) -> None:
        if self._failures > 0:
            self._failures -= 1
            raise GatewayUnavailable("the payment gateway did not answer", field="token")

    @staticmethod
    def _judge(token: str, method: str) -> tuple[str, str | None]:
        if method == "ach":
            return ("pending", None) if token in ACH_TOKENS else ("declined", "invalid_bank_account")
        if token in APPROVING:
            return "approved", None
        if token in DECLINING:
            return "declined", DECLINING[token]
        return "declined", "invalid_token"

    def _replay(self, key: str, request: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute("select * from gateway_transactions where idem_key = ?",
                                                   (key,)).fetchone()
        if row is not None and row["request"] != request:
            raise Conflict("this idempotency key was used for a different request", field="key",
                           code="idempotency_key_reused")
        return row

    def _insert(self, key: str, kind: str, request: str, **values: Any) -> sqlite3.Row:
        txn = "txn_" + hashlib.sha256(f"{kind}|{key}".encode()).hexdigest()[:24]
        columns = {"id": txn, "idem_key": key, "kind": kind, "request": request,
                   "created_at": self.clock.now().isoformat(), **values}
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        self._db.execute(f"insert into gateway_transactions ({names}) values ({marks})",
                         tuple(columns.values()))
        row = self._get(txn)
        assert row is not None
        return row

    def _get(self, transaction_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute("select * from gateway_transactions where id = ?",
                                                   (transaction_id,)).fetchone()
        return row

    def _set_ach(self, transaction_id: str, status: str, code: str | None, from_states: tuple[str, ...]) -> None:
        with self._lock:
            row = self._get(transaction_id)
            if row is None or row["method"] != "ach":
                raise KeyError(transaction_id)
            if row["status"] not in from_states:
                raise Conflict(f"ACH {transaction_id} is {row['status']}", field="transaction_id")
            self._db.execute("update gateway_transactions set status = ?, decline_code = ? where id = ?",
                             (status, code, transaction_id))

    @staticmethod
    def _charge_result(row: sqlite3.Row) -> ChargeResult:
        stored: str = row["status"]
        status: Literal["approved", "declined", "pending"] = "approved"
        if stored == "declined":
            status = "declined"
        elif stored == "pending":
            status = "pending"
        return ChargeResult(row["id"], status, row["decline_code"])
