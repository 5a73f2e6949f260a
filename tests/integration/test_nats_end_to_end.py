"""End to end on real servers: a command over NATS -> event in the store -> message on JetStream -> email
received by an SMTP server (aiosmtpd on loopback); bad input never stops the service or writes anything."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import msgspec
import nats
import pytest
from aiosmtpd.controller import Controller

from ledger.adapters.mailers import SmtpMailer
from ledger.nats_api.subjects import EVENTS_STREAM
from tests.ledger_fixtures import make_ledger, reset_streams, serving
from workers.runtime import serve

pytestmark = pytest.mark.nats


class Collector:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    collector, port = Collector(), free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield collector, port
    controller.stop()


def read_email(content: bytes) -> tuple[EmailMessage, str]:
    """A message as a mail client reads it: its headers, and its text parts decoded (whatever their transfer
    encoding: base64, quoted-printable, 7bit)."""
    message = BytesParser(policy=policy.default).parsebytes(content)
    assert isinstance(message, EmailMessage)
    texts = [str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"]
    return message, "\n".join(texts)


async def request(nc: nats.NATS, subject: str, body: bytes) -> dict[str, object]:
    reply = await nc.request(subject, body, timeout=10)
    decoded: dict[str, object] = msgspec.json.decode(reply.data)
    return decoded


async def eventually(check: object, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_command_to_email(tmp_path: Path, nats_server: str, smtp: tuple[Collector, int]) -> None:
    collector, port = smtp
    ledger = make_ledger(tmp_path)
    stop = asyncio.Event()
    nc0 = await nats.connect(nats_server)
    await reset_streams(nc0.jetstream())
    await nc0.close()
    service = asyncio.create_task(serve(ledger, nats_url=nats_server, stop=stop, expiry_every=0.5,
                                        mailer=SmtpMailer("127.0.0.1", port)))
    nc = await nats.connect(nats_server)
    await asyncio.sleep(0.5)
    opened = await request(nc, "ledger.cmd.account.open",
                           b'{"account": "ACC1", "email": "ada@example.com", "currency": "CAD"}')
    assert opened["ok"]["events"] == ["AccountOpened"]  # type: ignore[index]
    await request(nc, "ledger.cmd.invoice.issue", b'{"account": "ACC1", "invoice": "I1", "amount": "80.00", '
                                                 b'"date": "2026-09-01", "due": "2026-09-30"}')
    paid = await request(nc, "ledger.cmd.payment.submit", b'{"account": "ACC1", "payment": "P1", "amount": "80.00", '
                                                          b'"method": "card", "token": "tok_visa", "distribute": true}')
    transaction = paid["ok"]["transaction_id"]  # type: ignore[index]

    async def receipt() -> bool:
        return any(message["Subject"].startswith("Payment received") and transaction in text
                   for message, text in map(read_email, (content for _, content in collector.messages)))

    await eventually(receipt)
    assert collector.messages[-1][0] == ["ada@example.com"]
    view = await request(nc, "ledger.read.account", b'{"account": "ACC1"}')
    assert view["ok"]["balance"] == "0.00"  # type: ignore[index]
    invoices = await request(nc, "ledger.read.invoices", b'{"account": "ACC1"}')
    assert invoices["ok"][0]["status"] == "paid"  # type: ignore[index]
    js = nc.jetstream()
    info = await js.stream_info(EVENTS_STREAM)
    assert info.state.messages == ledger.store.recorder.max_notification_id()
    stop.set()
    await service
    await nc.close()
    ledger.close()


@pytest.mark.parametrize(("subject", "body", "code"), [
    ("ledger.cmd.account.open", b"{not json", "invalid_json"),
    ("ledger.cmd.account.open", b'{"account": "A", "email": 7}', "invalid"),
    ("ledger.cmd.account.open", b'{"account": "A", "email": "a@example.com", "admin": true}', "invalid"),
    ("ledger.cmd.payment.submit", b'{"account": "A", "payment": "P", "amount": 10.5, "method": "card", '
                                  b'"token": "tok_visa", "distribute": true}', "invalid"),
    ("ledger.cmd.nope", b"{}", "unknown_command"),
    ("ledger.cmd.account.open", b"x" * 70_000, "payload_too_large"),
    ("ledger.cmd.account.open", b'{"account": "A\\u0000B", "email": "a@example.com"}', "invalid_id"),
    ("ledger.cmd.account.open", b'{"account": "A", "email": "a@example.com", "account": "B"}', "duplicate_key"),
])
async def test_bad_input_gets_a_typed_error_and_writes_nothing(tmp_path: Path, nats_server: str, subject: str,
                                                               body: bytes, code: str) -> None:
    ledger = make_ledger(tmp_path)
    async with serving(ledger, tmp_path, nats_server):
        nc = await nats.connect(nats_server)
        reply = await request(nc, subject, body)
        assert reply["error"]["code"] == code  # type: ignore[index]
        again = await request(nc, "ledger.cmd.account.open", b'{"account": "OK1", "email": "ok@example.com"}')
        assert "ok" in again
        assert ledger.store.recorder.max_notification_id() == 1
        await nc.close()
    ledger.close()


async def test_several_service_instances_share_the_queue_group(tmp_path: Path, nats_server: str) -> None:
    ledger = make_ledger(tmp_path)
    async with serving(ledger, tmp_path, nats_server):
        async with serving(ledger, tmp_path, nats_server) as first:
            nc = await nats.connect(nats_server)
            replies = [await request(nc, "ledger.cmd.account.open",
                                     f'{{"account": "Q{n}", "email": "q@example.com"}}'.encode()) for n in range(20)]
            assert all("ok" in r for r in replies)
            assert ledger.store.recorder.max_notification_id() == 20  # each request answered once, by one instance
            assert first is not None
        assert "ok" in await request(nc, "ledger.cmd.account.open", b'{"account": "Q99", "email": "q@example.com"}')
        await nc.close()
    ledger.close()
