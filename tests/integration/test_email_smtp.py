"""The SMTP mailer against a real SMTP server (aiosmtpd on loopback): what each failure means for a retry.

Refused before or at the content: not sent, raise, the worker retries. No answer to the content: maybe sent,
DeliveryUncertain, the worker records it in the dead letters and never sends it again by itself.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import aiosmtplib
import msgspec
import nats
import pytest
from aiosmtpd.controller import Controller

from ledger.adapters.mailers import SmtpMailer
from ledger.commands import messages as m
from ledger.ports.mailer import DeliveryUncertain, Email
from tests.ledger_fixtures import make_ledger, reset_streams
from workers.consumer import consume
from workers.emails import EmailWorker
from workers.inbox import UNCERTAIN, Inbox
from workers.relay import Relay
from workers.streams import ensure_dlq_stream, ensure_events_stream

EMAIL = Email(to="ada@example.com", subject="Payment received: 9.00", text="Thank you", html="<p>Thank you</p>",
              message_id="event-1", sender="ledger@example.com")


class Server:
    """Collects messages; ``refuse`` answers every message with 554, ``pause`` waits before answering."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.contents = 0  # message contents received (answered or not)
        self.refuse = False
        self.pause = 0.0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.endswith("@nowhere.invalid"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.contents += 1
        if self.refuse:
            return "554 message refused"
        await asyncio.sleep(self.pause)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Server, int]]:
    server, port = Server(), free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    yield server, port
    controller.stop()


async def test_a_message_is_delivered_with_both_parts_and_its_message_id(smtp: tuple[Server, int]) -> None:
    server, port = smtp
    await SmtpMailer("127.0.0.1", port).send(EMAIL)
    [message] = server.messages
    assert message["To"] == "ada@example.com" and message["From"] == "ledger@example.com"
    assert message["Message-ID"] == "<event-1@ledger>" and message["Subject"] == "Payment received: 9.00"
    assert [p.get_content_type() for p in message.walk()][1:] == ["text/plain", "text/html"]


async def test_refusals_mean_not_sent(smtp: tuple[Server, int]) -> None:
    server, port = smtp
    with pytest.raises(aiosmtplib.SMTPRecipientRefused):
        await SmtpMailer("127.0.0.1", port).send(msgspec.structs.replace(EMAIL, to="x@nowhere.invalid"))
    server.refuse = True
    with pytest.raises(aiosmtplib.SMTPDataError):
        await SmtpMailer("127.0.0.1", port).send(EMAIL)
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await SmtpMailer("127.0.0.1", free_port()).send(EMAIL)  # nobody listening
    assert server.messages == []


async def test_no_answer_to_the_content_is_uncertain(smtp: tuple[Server, int]) -> None:
    server, port = smtp
    server.pause = 1.0
    with pytest.raises(DeliveryUncertain):
        await SmtpMailer("127.0.0.1", port, timeout=0.2).send(EMAIL)


@pytest.mark.nats
async def test_the_email_worker_records_an_uncertain_delivery_and_never_resends_it(
        tmp_path: Path, nats_server: str, smtp: tuple[Server, int]) -> None:
    server, port = smtp
    server.pause = 1.0
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="9.00", method="card",
                                          token="tok_visa", deposit=True))
    nc = await nats.connect(nats_server)
    js = nc.jetstream()
    await reset_streams(js)
    await ensure_events_stream(js)
    await ensure_dlq_stream(js)
    relay = Relay(ledger.store, js)
    while await relay.publish_batch():
        pass
    inbox, stop = Inbox(":memory:"), asyncio.Event()
    worker = EmailWorker(ledger.store, SmtpMailer("127.0.0.1", port, timeout=0.2), ledger.ports.tokens)
    assert not worker.repeatable
    task = asyncio.create_task(consume(js, worker, inbox, stop, backoff=(0.1,), ack_wait=2))
    try:
        for _ in range(200):
            if inbox.listed(UNCERTAIN):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.5)  # past ack_wait: a redelivery, if any, would reach the server
    finally:
        stop.set()
        await task
    [(name, event_id, _)] = inbox.listed(UNCERTAIN)
    assert name == "emails"
    assert server.contents == 1  # handed over once; whether it was queued is what nobody knows
    record = msgspec.json.decode((await js.get_msg("LEDGER_DLQ", 1)).data)
    assert record["event_id"] == event_id and record["event_type"] == "PaymentSettled"
    assert (await js.get_msg("LEDGER_DLQ", 1)).subject == "ledger.dlq.emails"
    await nc.close()
    ledger.close()
