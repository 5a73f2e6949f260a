"""The open-loop command mix of ``bench.service`` and the check of what the store holds after it.

A customer's life in three commands: open the account, issue an invoice, pay it by card with distribution
(``tok_visa``). The mix interleaves them so each phase runs on accounts opened a little earlier: request ``n`` of
a run is an open (``n % 3 == 0``), an invoice on the account opened ``LAG`` opens before, or the payment of the
invoice issued ``LAG`` invoices before. Every id is unique in the whole run (prefixed by the phase), so the
store says for each request whether it was executed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import msgspec
import nats.errors

#: How many accounts back an invoice (and a payment) follows its account's opening.
LAG = 10
#: Header carrying the absolute deadline of a request (Unix time, seconds) read by the service.
DEADLINE_HEADER = "Ledger-Deadline"
#: What the first ledger event of each kind of request names it by.
_KEYS = {"AccountOpened": "account_id", "InvoiceIssued": "invoice_id", "PaymentSubmitted": "payment_id"}


class Request(msgspec.Struct, frozen=True):
    """One request of the mix: its subject, body, and the id its first event carries."""

    subject: str
    body: bytes
    key: str


class Answer(msgspec.Struct):
    """What became of a request: ``ok``, a refusal code, ``overloaded``, ``deadline_exceeded`` or ``timeout``."""

    key: str
    outcome: str
    latency: float
    deadline: float


def mix(prefix: str, count: int) -> Iterator[Request]:
    """``count`` requests of the mix, ids starting with ``prefix``."""
    opened = 0
    for n in range(count):
        phase, k = n % 3, n // 3
        if phase == 0 or k < LAG * phase:
            account = f"{prefix}A{opened}"
            opened += 1
            yield Request("ledger.cmd.account.open", msgspec.json.encode(
                {"account": account, "email": "load@example.com"}), account)
        elif phase == 1:
            a = k - LAG
            yield Request("ledger.cmd.invoice.issue", msgspec.json.encode(
                {"account": f"{prefix}A{a}", "invoice": f"{prefix}I{a}", "amount": "100.00",
                 "date": "2026-09-01", "due": "2026-09-30"}), f"{prefix}I{a}")
        else:
            a = k - 2 * LAG
            yield Request("ledger.cmd.payment.submit", msgspec.json.encode(
                {"account": f"{prefix}A{a}", "payment": f"{prefix}P{a}", "amount": "100.00", "method": "card",
                 "token": "tok_visa", "distribute": True}), f"{prefix}P{a}")


def outcome_of(reply: bytes) -> str:
    """``ok`` or the error code of a reply."""
    decoded = msgspec.json.decode(reply)
    if "ok" in decoded:
        return "ok"
    return str(decoded.get("error", {}).get("code", "invalid_reply"))


async def open_loop(nc: Any, requests: list[Request], rate: float, timeout: float) -> list[Answer]:
    """Send ``requests`` at ``rate`` per second whatever the answers (an open loop: a slow service does not slow
    the senders), each with a deadline ``timeout`` seconds after it was due; latency counts from when it was due
    (so a late sender cannot hide a queue)."""
    answers: list[Answer] = []

    async def one(request: Request, due: float, deadline: float) -> None:
        try:
            reply = await nc.request(request.subject, request.body, timeout=timeout + 0.5,
                                     headers={DEADLINE_HEADER: f"{deadline:.6f}"})
            outcome = outcome_of(reply.data)
        except TimeoutError:
            outcome = "timeout"
        except nats.errors.NoRespondersError:
            outcome = "no_responders"
        answers.append(Answer(request.key, outcome, time.perf_counter() - due, deadline))

    tasks = []
    start, wall = time.perf_counter(), time.time()
    sent = 0
    while sent < len(requests):
        elapsed = time.perf_counter() - start
        while sent < len(requests) and sent / rate <= elapsed:
            due = sent / rate
            tasks.append(asyncio.create_task(one(requests[sent], start + due, wall + due + timeout)))
            sent += 1
        await asyncio.sleep(0.001)
    await asyncio.gather(*tasks)
    return answers


class Recorded(msgspec.Struct):
    """What the store holds for one request key: when its first event was recorded (Unix time)."""

    at: float


def recorded(notifications: Any) -> dict[str, Recorded]:
    """The first event of each request of the mix found in the store's notification log."""
    found: dict[str, Recorded] = {}
    for note in notifications:
        name = note.topic.partition(":")[0]
        field = _KEYS.get(name)
        if field is None:
            continue
        body = msgspec.json.decode(bytes(note.state))
        key = body.get(field)
        if key is not None and key not in found:
            found[key] = Recorded(datetime.fromisoformat(body["timestamp"]).timestamp())
    return found


class Check(msgspec.Struct):
    """The check of a run against the store: every violation counted, with examples."""

    answered_missing: int = 0
    refused_recorded: int = 0
    past_deadline: int = 0
    timeouts_recorded: int = 0
    examples: list[str] = []

    @property
    def passed(self) -> bool:
        """No answered command missing, nothing shed or expired executed, nothing decided past its deadline."""
        return not (self.answered_missing or self.refused_recorded or self.past_deadline)


#: Answers saying the command was never executed.
NOT_EXECUTED = frozenset({"overloaded", "deadline_exceeded"})


def check(answers: list[Answer], found: dict[str, Recorded]) -> Check:
    """Every ``ok`` answer is in the store; no ``overloaded`` / ``deadline_exceeded`` one is; no command was
    recorded after its deadline (its events' timestamp is taken when it is decided)."""
    result = Check()
    for answer in answers:
        hit = found.get(answer.key)
        if answer.outcome == "ok" and hit is None:
            result.answered_missing += 1
            result.examples.append(f"answered ok, not stored: {answer.key}")
        elif answer.outcome in NOT_EXECUTED and hit is not None:
            result.refused_recorded += 1
            result.examples.append(f"answered {answer.outcome}, stored: {answer.key}")
        if hit is not None and hit.at > answer.deadline:
            result.past_deadline += 1
            result.examples.append(f"decided {hit.at - answer.deadline:.3f} s past its deadline: {answer.key}")
        if hit is not None and answer.outcome == "timeout":
            result.timeouts_recorded += 1
    result.examples = result.examples[:5]
    return result
