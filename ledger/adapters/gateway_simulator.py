"""A gateway simulator that behaves like a card / ACH gateway (the one stand-in for a real counterpart).

Test tokens: ``tok_visa``, ``tok_mastercard``, ``tok_amex``, ``tok_discover``, ``tok_paypal`` approve;
``tok_decline`` ("card_declined"), ``tok_insufficient_funds`` and ``tok_expired_card`` decline, any other token
declines "invalid_token". ``tok_ach`` is pending until settled (``settle_ach`` or ``advance_ach``);
``tok_ach_return`` is pending and comes back R01 on ``advance_ach``. The bank also decides by itself: a debit
still pending ``ACH_CLEARING`` (3 days) after it was made has settled (``tok_ach``) or come back R01
(``tok_ach_return``) when ``ach_status`` is next asked, as a real gateway reports the bank's files. Any ACH
debit can be returned with ``return_ach``, also after it settled, as real returns arrive days later (seed
003). Authorizations hold for 29 days by the clock (seed 004). Every money call is idempotent by key: the
same key answers the first answer again without moving money twice; the same key with another request is
refused. State lives in SQLite: a file shared by several processes (the CLI in one, the service in another),
or memory.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from ledger.adapters.gateway_table import MESSAGES, GatewayTable, charge_result, listed
from ledger.aggregates.authorizations import AUTHORIZATION_TTL
from ledger.aggregates.idempotency import check_idempotency_key
from ledger.errors import Conflict, GatewayUnavailable, NotFound, ValidationError
from ledger.money import check_currency
from ledger.ports.clock import Clock
from ledger.ports.gateway import (
    AchReport,
    AchStatus,
    AuthorizationResult,
    ChargeResult,
    GatewayTransaction,
    PaymentMethod,
    check_amount,
    check_token,
    check_transaction_id,
)

APPROVING = frozenset({"tok_visa", "tok_mastercard", "tok_amex", "tok_discover", "tok_paypal"})
DECLINING = {"tok_decline": "card_declined", "tok_insufficient_funds": "insufficient_funds",
             "tok_expired_card": "expired_card"}
ACH_TOKENS = frozenset({"tok_ach", "tok_ach_return"})
#: How long the simulated bank takes to settle or return an ACH debit (real ones: 1-3 business days).
ACH_CLEARING = timedelta(days=3)
_T = TypeVar("_T")

class GatewaySimulator(GatewayTable):
    """Implements :class:`ledger.ports.gateway.Gateway` with a real gateway's rules and persistent state."""

    def __init__(self, clock: Clock, path: str | None = None) -> None:
        super().__init__(clock, path)
        self._failures = 0
        self._lose_response = False

    # -- the port -------------------------------------------------------------------------------------

    def token_method(self, token: str) -> PaymentMethod | None:
        """``tok_paypal`` is PayPal, the ACH tokens a bank account, the other test tokens cards."""
        if token == "tok_paypal":
            return "paypal"
        if token in ACH_TOKENS:
            return "ach"
        return "card" if token in APPROVING or token in DECLINING else None

    def charge(self, *, token: str, amount: int, currency: str, method: PaymentMethod,
               idempotency_key: str) -> ChargeResult:
        """Charge a card or PayPal (approved or declined at once) or debit a bank account ("pending", seed 003)."""
        check_token(token)
        if method not in ("card", "paypal", "ach"):
            raise ValidationError("method must be card, paypal or ach", field="method", code="invalid_method")
        request = f"charge|{token}|{check_amount(amount)}|{check_currency(currency)}|{method}"
        key = check_idempotency_key(idempotency_key)
        lost = self._outage()
        with self._transaction():
            row = self._replay(key, request)
            if row is None:
                status, code = _judge_charge(token, method)
                row = self._insert(key, "charge", request, token=token, amount=amount, currency=currency,
                                   method=method, status=status, decline_code=code)
        return self._answer(lost, charge_result(row))

    def find(self, *, idempotency_key: str) -> ChargeResult | None:
        """What was recorded under ``idempotency_key``, as first answered (None: nothing was done under it)."""
        key = check_idempotency_key(idempotency_key)
        lost = self._outage()
        with self._lock:
            row = self._db.execute("select * from gateway_transactions where idem_key = ?", (key,)).fetchone()
        return self._answer(lost, charge_result(row) if row is not None else None)

    def authorize(self, *, token: str, amount: int, currency: str, idempotency_key: str) -> AuthorizationResult:
        """Hold ``amount`` on a card or PayPal account (a bank account cannot be held: declined
        ``authorization_not_supported``); the hold expires 29 days later by the clock (seed 004)."""
        check_token(token)
        request = f"authorize|{token}|{check_amount(amount)}|{check_currency(currency)}"
        key = check_idempotency_key(idempotency_key)
        lost = self._outage()
        with self._transaction():
            row = self._replay(key, request)
            if row is None:
                verdict, code = _judge_hold(token)
                expires = (self.clock.now() + AUTHORIZATION_TTL).isoformat() if verdict == "approved" else None
                row = self._insert(key, "authorization", request, token=token, amount=amount,
                                   currency=currency, method=self.token_method(token) or "card", status=verdict,
                                   decline_code=code, expires_at=expires)
        expires_at = datetime.fromisoformat(row["expires_at"]) if row["expires_at"] else None
        status: Literal["approved", "declined"] = "approved" if row["response"] == "approved" else "declined"
        return self._answer(lost, AuthorizationResult(row["id"], status, row["decline_code"], expires_at))

    def capture(self, *, transaction_id: str, amount: int, idempotency_key: str) -> ChargeResult:
        """Capture part or all of what is left of a live hold (seed 004: not after 29 days, not above the hold)."""
        request = f"capture|{check_transaction_id(transaction_id)}|{check_amount(amount)}"
        key = check_idempotency_key(idempotency_key)
        lost = self._outage()
        with self._transaction():
            row = self._replay(key, request)
            if row is None:
                auth = self._get(transaction_id)
                code = None
                if auth is None or auth["kind"] != "authorization" or auth["response"] != "approved":
                    code = "unknown_authorization"
                elif auth["status"] == "voided":
                    code = "authorization_voided"
                elif self.clock.now() >= datetime.fromisoformat(auth["expires_at"]):
                    code = "authorization_expired"
                elif amount > auth["amount"] - auth["used"]:
                    code = "amount_exceeds_authorization"
                row = self._insert(key, "capture", request, amount=amount, parent=transaction_id,
                                   status="declined" if code else "approved", decline_code=code,
                                   currency=auth["currency"] if auth else None)
                if code is None:
                    self._db.execute("update gateway_transactions set used = used + ? where id = ?",
                                     (amount, transaction_id))
        return self._answer(lost, charge_result(row))

    def void(self, *, transaction_id: str) -> ChargeResult:
        """Release what is left of a hold; voiding twice is harmless, an unknown or declined hold is refused. A
        hold past its 29 days released itself: as a real gateway does (Braintree's ``authorization_expired`` is
        not voidable, Stripe cancelled it already), the void is declined ``authorization_expired``, nothing held."""
        check_transaction_id(transaction_id)
        lost = self._outage()
        with self._transaction():
            auth = self._get(transaction_id)
            if auth is None or auth["kind"] != "authorization" or auth["response"] != "approved":
                result = ChargeResult(transaction_id, "declined", "unknown_authorization",
                                      MESSAGES["unknown_authorization"])
            elif auth["status"] != "voided" and self.clock.now() >= datetime.fromisoformat(auth["expires_at"]):
                result = ChargeResult(transaction_id, "declined", "authorization_expired",
                                      MESSAGES["authorization_expired"])
            else:
                self._db.execute("update gateway_transactions set status = 'voided' where id = ?", (transaction_id,))
                result = ChargeResult(transaction_id, "approved", None, "The hold was released.")
        return self._answer(lost, result)

    def refund(self, *, transaction_id: str, amount: int, idempotency_key: str) -> ChargeResult:
        """Refund part of an approved charge or capture, never more than is left after earlier refunds."""
        request = f"refund|{check_transaction_id(transaction_id)}|{check_amount(amount)}"
        key = check_idempotency_key(idempotency_key)
        lost = self._outage()
        with self._transaction():
            row = self._replay(key, request)
            if row is None:
                original = self._get(transaction_id)
                code = None
                if original is None or original["kind"] not in ("charge", "capture") or original["response"] == (
                        "declined"):
                    code = "unknown_transaction"
                elif original["status"] in ("pending", "returned"):
                    code = f"transaction_{original['status']}"
                elif amount > original["amount"] - original["used"]:
                    code = "refund_exceeds_charge"
                row = self._insert(key, "refund", request, amount=amount, parent=transaction_id,
                                   status="declined" if code else "approved", decline_code=code,
                                   currency=original["currency"] if original else None)
                if code is None:
                    self._db.execute("update gateway_transactions set used = used + ? where id = ?",
                                     (amount, transaction_id))
        return self._answer(lost, charge_result(row))

    def ach_status(self, transaction_id: str) -> AchReport:
        """Where an ACH debit stands now: pending, settled or returned with its code (seed 003), after the bank
        has decided every debit older than ``ACH_CLEARING``; NotFound for anything else."""
        check_transaction_id(transaction_id)
        lost = self._outage()
        with self._transaction():
            row = self._ach(transaction_id)
            if row["status"] == "pending" and row["created_at"] <= (self.clock.now() - ACH_CLEARING).isoformat():
                self._decide(row)
                row = self._ach(transaction_id)
        status: AchStatus = row["status"]
        return self._answer(lost, AchReport(status, row["return_code"]))

    def transactions(self, *, since: datetime, after: str | None = None,
                     limit: int = 500) -> list[GatewayTransaction]:
        """Every transaction made at or after ``since``, oldest first (ties by id), from after ``after``."""
        lost = self._outage()
        with self._lock:
            start = (since.isoformat(), "")
            if after is not None:
                row = self._get(check_transaction_id(after, "after"))
                if row is None:
                    raise NotFound(f"no transaction {after}", field="after", code="unknown_transaction")
                start = max(start, (row["created_at"], after))
            rows = self._db.execute("select * from gateway_transactions where (created_at, id) > (?, ?) "
                                    "order by created_at, id limit ?", (*start, limit)).fetchall()
        now = self.clock.now()
        return self._answer(lost, [listed(row, now) for row in rows])

    # -- the bank's side of ACH, and outages (controls of the simulator, not of the port) -------------------

    def settle_ach(self, transaction_id: str) -> None:
        """The bank cleared the debit; settling again is harmless, settling a returned debit is a Conflict."""
        with self._transaction():
            row = self._ach(transaction_id)
            if row["status"] == "returned":
                raise Conflict(f"ACH debit {transaction_id} was returned", field="transaction_id",
                               code="ach_returned")
            self._db.execute("update gateway_transactions set status = 'settled' where id = ?", (transaction_id,))

    def return_ach(self, transaction_id: str, code: str = "R01") -> None:
        """The bank returned the debit (R01 insufficient funds, R02 account closed ...), pending or settled."""
        if not isinstance(code, str) or not code.strip():
            raise ValidationError("an ACH return code is required", field="code", code="invalid_return_code")
        with self._transaction():
            row = self._ach(transaction_id)
            if row["status"] != "returned":
                self._db.execute("update gateway_transactions set status = 'returned', return_code = ? where id = ?",
                                 (code, transaction_id))

    def advance_ach(self) -> list[tuple[str, str]]:
        """Process every pending ACH debit: ``tok_ach_return`` returns R01, others settle. Returns (id, status)."""
        outcome: list[tuple[str, str]] = []
        with self._transaction():
            rows = self._db.execute("select id, token from gateway_transactions where method = 'ach' and "
                                    "kind = 'charge' and status = 'pending' order by rowid").fetchall()
            for row in rows:
                outcome.append((row["id"], self._decide(row)))
        return outcome

    def _decide(self, row: sqlite3.Row) -> str:
        """The bank's decision on a pending debit: ``tok_ach_return`` comes back R01, others settle."""
        returned = row["token"] == "tok_ach_return"
        self._db.execute("update gateway_transactions set status = ?, return_code = ? where id = ?",
                         ("returned" if returned else "settled", "R01" if returned else None, row["id"]))
        return "returned" if returned else "settled"

    def fail_next(self, count: int, *, lose_response: bool = False) -> None:
        """Make the next ``count`` port calls raise GatewayUnavailable (an outage, in this process only).

        With ``lose_response`` the calls take effect and only the answer is lost (a timeout after the gateway
        acted): the case a retry with the same idempotency key exists for.
        """
        if not isinstance(count, int) or count < 0:
            raise ValueError("count must be a non-negative integer")
        with self._lock:
            self._failures, self._lose_response = count, lose_response

    # -- internals ----------------------------------------------------------------------------------------

    def _outage(self) -> bool:
        """Raise now for an outage; True when this call must go through and then lose its answer."""
        with self._lock:
            if self._failures <= 0:
                return False
            self._failures -= 1
            if not self._lose_response:
                raise GatewayUnavailable("the payment gateway did not answer; nothing was done")
            return True

    @staticmethod
    def _answer(lost: bool, result: _T) -> _T:
        if lost:
            raise GatewayUnavailable("the payment gateway timed out; retry with the same idempotency key")
        return result

    def _ach(self, transaction_id: str) -> sqlite3.Row:
        row = self._get(check_transaction_id(transaction_id))
        if row is None or row["method"] != "ach" or row["kind"] != "charge" or row["response"] != "pending":
            raise NotFound(f"no ACH debit {transaction_id}", field="transaction_id", code="unknown_transaction")
        return row


def _judge_charge(token: str, method: str) -> tuple[str, str | None]:
    if method == "ach":
        return ("pending", None) if token in ACH_TOKENS else ("declined", "invalid_bank_account")
    if token in APPROVING:
        return "approved", None
    return "declined", DECLINING.get(token, "invalid_token")


def _judge_hold(token: str) -> tuple[str, str | None]:
    if token in ACH_TOKENS:
        return "declined", "authorization_not_supported"
    return _judge_charge(token, "card")

