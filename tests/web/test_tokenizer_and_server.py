"""The gateway simulator's tokenizer page (only a token goes back to the portal, only to the portal) and the
portal's server contract (LEDGER_HTTP_PORT, a free port when taken, the URL logged)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import structlog
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from ledger.adapters.mailers import MemoryMailer
from ledger.adapters.tokenizer import build_tokenizer
from ledger.cards import card_number_in_text
from ledger.config import Settings
from ledger.web import server
from ledger.web.server import WebFront

PORTAL = "http://127.0.0.1:8080"
BACK = f"{PORTAL}/portal/pay/review?mode=invoices&inv=INV-1&pay=INV-1&amt=10.00"


async def test_a_test_card_comes_back_as_a_token_only() -> None:
    async with AsyncTestClient(build_tokenizer(PORTAL)) as client:
        page = await client.get("/tokenize", params={"kind": "card", "return_to": BACK})
        assert page.status_code == 200 and "4242424242424242" in page.text
        sent = await client.post("/tokenize", data={"kind": "card", "return_to": BACK, "number": "4242 4242 4242 4242",
                                                    "exp": "12/2030", "cvc": "123"}, follow_redirects=False)
    assert sent.status_code == 303
    back = urlsplit(sent.headers["location"])
    query = parse_qs(back.query)
    assert back.path == "/portal/pay/review" and query["token"] == ["tok_visa"] and query["last4"] == ["4242"]
    assert query["inv"] == ["INV-1"] and not card_number_in_text(sent.headers["location"])


async def test_bank_accounts_and_refusals() -> None:
    async with AsyncTestClient(build_tokenizer(PORTAL)) as client:
        bank = await client.post("/tokenize", data={"kind": "ach", "return_to": BACK, "routing": "110000000",
                                                    "account": "000111111116"}, follow_redirects=False)
        assert parse_qs(urlsplit(bank.headers["location"]).query)["token"] == ["tok_ach_return"]
        unknown = await client.post("/tokenize", data={"kind": "card", "return_to": BACK, "number": "4111111111111111",
                                                       "exp": "12/2030"})
        assert unknown.status_code == 400 and "only its test cards" in unknown.text
        elsewhere = await client.get("/tokenize", params={"kind": "card", "return_to": "https://evil.example/portal/"})
        assert elsewhere.status_code == 404


async def test_the_portal_takes_a_free_port_when_its_own_is_taken_and_logs_its_url(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        settings = Settings.from_env({"LEDGER_HTTP_PORT": str(port)}, home=tmp_path)
        front = WebFront(settings)
        assert front.http_url.startswith("http://127.0.0.1:") and front.http_url != f"http://127.0.0.1:{port}"
        assert front.portal_url == front.http_url  # emails link here when LEDGER_PORTAL_URL is not set
        stop = asyncio.Event()
        saved = structlog.get_config()  # another test's logging set-up may filter info lines out: undone after
        structlog.reset_defaults()
        with capture_logs() as logs:
            monkeypatch.setattr(server, "log", structlog.get_logger("ledger.web"))  # bound inside the capture
            running = asyncio.create_task(front.run("nats://127.0.0.1:1", MemoryMailer(), stop))
            reader, writer = await asyncio.open_connection("127.0.0.1", int(front.http_url.rsplit(":", 1)[1]))
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
            stop.set()
            await running
        structlog.configure(**saved)
    assert answer.endswith(b"ok")
    serving = next(entry for entry in logs if entry["event"] == "portal_serving")
    assert serving["http_url"] == front.http_url


def test_settings_refuse_a_bad_port(tmp_path: Path) -> None:
    from ledger.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        Settings.from_env({"LEDGER_HTTP_PORT": "eighty"}, home=tmp_path)
    assert refused.value.field == "LEDGER_HTTP_PORT"


async def test_a_page_says_so_when_the_ledger_cannot_be_reached(tmp_path: Path) -> None:
    from ledger.ports.clock import zone_of
    from ledger.web.app import build_app
    from ledger.web.credentials import CredentialStore
    from ledger.web.ledger_client import LedgerClient
    from ledger.web.portal import Portal

    portal = Portal(client=LedgerClient("nats://127.0.0.1:1", connect_timeout=0.5),
                    store=CredentialStore(tmp_path / "portal.db"), mailer=MemoryMailer(),
                    zone=zone_of("America/New_York"), base_url="http://testserver.local", tokenizer_url=PORTAL)
    async with AsyncTestClient(build_app(portal), base_url="http://testserver.local") as client:
        answer = await client.get("/portal/invitation/anything?account=ACC1")
    assert answer.status_code == 503 and "cannot be reached" in answer.text
