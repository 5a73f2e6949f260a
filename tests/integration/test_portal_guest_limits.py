"""A portal request without a customer session acts as a guest, and a guest is nobody the ledger knows: it may
pay with a token it brings itself, record a payment matching nothing and accept an invitation whose token it
holds, never touch an account's saved methods, autopay, orders or holds (found by review: a portal with no
``Ledger-Session`` header changed and charged another customer's saved card)."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.identity.credentials import Credentials
from ledger.natsserver import NatsServerProcess
from ledger.ports.ids import account_uuid
from tests.integration.test_nats_authorization import ask, connect, ledger_api, server  # noqa: F401  (fixtures)
from tests.ledger_fixtures import captured_logs

pytestmark = pytest.mark.nats

CARD = {"kind": "card", "token": "tok_visa", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}


async def test_a_portal_guest_cannot_change_someone_elses_saved_methods_or_autopay(
        server: NatsServerProcess, ledger_api: Any, nats_credentials: Credentials) -> None:  # noqa: F811
    admin = await connect(server, nats_credentials, "admin")
    assert "ok" in await ask(admin, "ledger.cmd.account.open", {"account": "VICTIM", "email": "v@example.com"})
    assert "ok" in await ask(admin, "ledger.cmd.method.add", {"account": "VICTIM", "method": "M1", **CARD})
    written = ledger_api.store.recorder.max_notification_id()
    portal = await connect(server, nats_credentials, "portal", "web")
    attempts = {"method.add": {"account": "VICTIM", "method": "M-evil", **CARD},
                "method.default": {"account": "VICTIM", "method": "M1"},
                "method.remove": {"account": "VICTIM", "method": "M1"},
                "autopay.enable": {"account": "VICTIM", "method": "M1"},
                "autopay.disable": {"account": "VICTIM"},
                "order.place": {"account": "VICTIM", "order": "O-evil", "amount": "900.00"}}
    with captured_logs() as logged:
        answers = {name: await ask(portal, f"ledger.portal.web.cmd.{name}", body) for name, body in attempts.items()}
    for name, answer in answers.items():
        assert answer.get("error", {}).get("code") == "actor_not_allowed", (name, answer)
    assert ledger_api.store.recorder.max_notification_id() == written  # nothing written
    security = [entry for entry in logged if entry["event"] == "actor_not_allowed"]
    assert len(security) == len(attempts) and {entry["user"] for entry in security} == {"portal-web"}
    await portal.close()
    await admin.close()


async def test_a_portal_guest_pays_with_its_own_token_never_a_saved_card(
        server: NatsServerProcess, ledger_api: Any, nats_credentials: Credentials) -> None:  # noqa: F811
    admin = await connect(server, nats_credentials, "admin")
    assert "ok" in await ask(admin, "ledger.cmd.account.open", {"account": "VICTIM2", "email": "w@example.com"})
    assert "ok" in await ask(admin, "ledger.cmd.method.add", {"account": "VICTIM2", "method": "M1", **CARD})
    assert "ok" in await ask(admin, "ledger.cmd.invoice.issue", {"account": "VICTIM2", "invoice": "I1",
                                                                 "amount": "10.00", "date": "2026-09-01",
                                                                 "due": "2026-09-30"})
    written = ledger_api.store.recorder.max_notification_id()
    version = ledger_api.store.account(account_uuid("VICTIM2")).version
    portal = await connect(server, nats_credentials, "portal", "web")
    pay = {"account": "VICTIM2", "amount": "10.00", "method": "card", "distribute": True}
    charged = await ask(portal, "ledger.portal.web.cmd.payment.submit", {**pay, "payment": "P-evil", "saved": "M1"})
    assert charged.get("error", {}).get("code") == "actor_not_allowed", charged
    assert ledger_api.store.recorder.max_notification_id() == written
    paid = await ask(portal, "ledger.portal.web.cmd.payment.submit", {**pay, "payment": "P1", "token": "tok_visa"})
    assert paid["ok"]["status"] == "settled", paid
    bys = {(e.by.kind, e.by.via) for e in ledger_api.store.events.get(account_uuid("VICTIM2"))
           if e.originator_version > version}
    assert bys == {("guest", "portal-web")}  # the credential that carried the guest's payment, on record
    await portal.close()
    await admin.close()
