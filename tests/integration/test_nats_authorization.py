"""NATS authorization on a real nats-server with the ledger's generated configuration: nothing anonymous, each
role only its own subjects and consumer, no one but the admin purges or deletes, and the actor of a request is
the one its credential allows (ledger.identity)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
from nats.js.api import ConsumerConfig, StreamConfig

from ledger.identity.binding import Binder
from ledger.identity.credentials import Credentials
from ledger.identity.roles import inbox_prefix, user_name
from ledger.identity.sessions import HEADER, Session, session_key, sign
from ledger.logs import _json_line
from ledger.natsserver import NatsServerProcess
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import captured_logs, make_ledger, reset_streams, serving
from workers.consumer import consumer_config, durable_name
from workers.streams import ensure_dlq_stream, ensure_events_stream

pytestmark = pytest.mark.nats


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, nats_credentials: Credentials) -> Iterator[NatsServerProcess]:
    """A server of this module's own (its streams are purged and its users revoked here)."""
    nats_credentials.issue("portal", "web")
    nats_credentials.issue("staff", "jdoe", kind="csr")
    nats_credentials.issue("subscriber", "analytics")
    with NatsServerProcess(tmp_path_factory.mktemp("authz"), config=nats_credentials.config_path) as running:
        yield running


async def connect(server: NatsServerProcess, credentials: Credentials, role: str, name: str = "",
                  errors: list[Exception] | None = None) -> Any:
    async def record(error: Exception) -> None:
        if errors is not None:
            errors.append(error)
    return await nats.connect(server.url, error_cb=record, **credentials.connect_options(role, name))


@pytest.fixture
async def ledger_api(tmp_path: Path, server: NatsServerProcess, nats_credentials: Credentials,
                     store_backend: str) -> AsyncIterator[Any]:
    """The ledger's API on the module's server with the ledger's credential, binding actors to credentials; on
    each event store (the tests using it run on both)."""
    ledger = make_ledger(tmp_path)
    admin = nats_credentials.get("admin")
    url = server.url.replace("nats://", f"nats://{admin.user}:{admin.password}@")
    async with serving(ledger, tmp_path, url, binder=Binder(nats_credentials),
                       **nats_credentials.connect_options("ledger")):
        yield ledger
    ledger.close()


async def ask(nc: Any, subject: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    reply = await nc.request(subject, msgspec.json.encode(body), timeout=5, headers=headers)
    return msgspec.json.decode(reply.data)


async def test_an_anonymous_client_or_a_wrong_password_is_refused(server: NatsServerProcess,
                                                                  nats_credentials: Credentials) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=0)
    portal = nats_credentials.get("portal", "web")
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(server.url, user=portal.user, password="guess", allow_reconnect=False,
                           max_reconnect_attempts=0)
    nc = await connect(server, nats_credentials, "portal", "web")
    await nc.close()


async def test_a_subscriber_cannot_command_purge_or_delete(server: NatsServerProcess, ledger_api: Any,
                                                           nats_credentials: Credentials) -> None:
    admin = await connect(server, nats_credentials, "admin")
    admin_js = admin.jetstream()
    await ensure_events_stream(admin_js)
    await admin_js.publish("ledger.events.Probe.x", b"{}")
    await admin_js.add_consumer("LEDGER_EVENTS", config=consumer_config(durable_name("emails")))
    errors: list[Exception] = []
    subscriber = await connect(server, nats_credentials, "subscriber", "analytics", errors)
    js = subscriber.jetstream(timeout=1)
    before = (await js.stream_info("LEDGER_EVENTS")).state.messages  # reading the stream is its right
    assert before >= 1
    with pytest.raises(nats.errors.TimeoutError):
        await subscriber.request("ledger.cmd.credit.issue", b'{"account": "A1"}', timeout=1)
    with pytest.raises(nats.errors.TimeoutError):
        await js.purge_stream("LEDGER_EVENTS")
    with pytest.raises(nats.errors.TimeoutError):
        await js.delete_consumer("LEDGER_EVENTS", durable_name("emails"))
    with pytest.raises(nats.errors.TimeoutError):
        await js.delete_stream("LEDGER_EVENTS")
    assert sum("permissions violation" in str(e) for e in errors) == 4
    assert (await admin_js.stream_info("LEDGER_EVENTS")).state.messages == before
    assert (await admin_js.consumer_info("LEDGER_EVENTS", durable_name("emails"))).name == durable_name("emails")
    assert "ok" in await ask(admin, "ledger.cmd.account.open", {"account": "A1", "email": "a@example.com"})
    assert ledger_api.store.recorder.max_notification_id() == 1  # only the admin's command was written
    await subscriber.close()
    await admin.close()


#: Every role, the admin last: (role, name).
EVERY_ROLE = [("ledger", ""), ("relay", ""), ("worker", "emails"), ("worker", "orders"), ("worker", "autopay"),
              ("portal", "web"), ("staff", "jdoe"), ("subscriber", "analytics"), ("admin", "")]
#: What destroys data in a stream, each a call on a JetStream context given the stream's configuration and
#: another role's consumer. Creating over an existing stream with another configuration is refused to everyone
#: by the server itself, which is what lets the relay and the workers create a missing stream.
DESTROYING: dict[str, Callable[[Any, StreamConfig, str], Awaitable[Any]]] = {
    "delete a message": lambda js, config, other: js.delete_msg("LEDGER_EVENTS", 1),
    "create over it keeping 1": lambda js, config, other: js.add_stream(dataclasses.replace(config, max_msgs=1)),
    "update it to keep 1": lambda js, config, other: js.update_stream(dataclasses.replace(config, max_msgs=1)),
    "purge": lambda js, config, other: js.purge_stream("LEDGER_EVENTS"),
    "delete another's consumer": lambda js, config, other: js.delete_consumer("LEDGER_EVENTS", other),
    "delete the stream": lambda js, config, other: js.delete_stream("LEDGER_EVENTS"),
}


@pytest.mark.parametrize(("role", "name"), EVERY_ROLE, ids=[user_name(r, n) for r, n in EVERY_ROLE])
async def test_no_role_but_the_admin_destroys_what_a_stream_holds(server: NatsServerProcess, role: str, name: str,
                                                                  nats_credentials: Credentials) -> None:
    admin = await connect(server, nats_credentials, "admin")
    admin_js = admin.jetstream()
    await reset_streams(admin_js)
    await ensure_events_stream(admin_js)
    for n in range(10):
        await admin_js.publish(f"ledger.events.Probe.{n}", b"{}")
    for worker in ("emails", "orders"):
        await admin_js.add_consumer("LEDGER_EVENTS", config=consumer_config(durable_name(worker)))
    other = durable_name("emails" if (role, name) == ("worker", "orders") else "orders")
    config = (await admin_js.stream_info("LEDGER_EVENTS")).config
    nc = await connect(server, nats_credentials, role, name, [])
    js = nc.jetstream()
    done = set()
    for what, destroy in DESTROYING.items():
        with contextlib.suppress(nats.errors.Error, TimeoutError):  # a refused request is never answered
            await asyncio.wait_for(destroy(js, config, other), 5 if role == "admin" else 0.5)
            done.add(what)
    await nc.close()
    if role == "admin":
        assert done == set(DESTROYING) - {"create over it keeping 1"}
        with pytest.raises(nats.js.errors.NotFoundError):
            await admin_js.stream_info("LEDGER_EVENTS")
    else:
        assert done == set()
        kept = await admin_js.stream_info("LEDGER_EVENTS")
        assert (kept.state.messages, kept.state.first_seq, kept.config.max_msgs) == (10, 1, -1)
        assert (await admin_js.consumer_info("LEDGER_EVENTS", other)).name == other
    await reset_streams(admin_js)
    await admin.close()


async def test_no_one_but_the_ledger_joins_its_queue_group_or_reads_another_inbox(
        server: NatsServerProcess, ledger_api: Any, nats_credentials: Credentials) -> None:
    errors: list[Exception] = []
    intruder = await connect(server, nats_credentials, "portal", "web", errors)
    stolen: list[Any] = []

    async def fake(msg: Any) -> None:
        stolen.append(msg)
        await msg.respond(b'{"ok": "fake"}')

    await intruder.subscribe("ledger.cmd.>", queue="ledger-service", cb=fake)
    await intruder.subscribe(f"{inbox_prefix('staff-jdoe')}.>", cb=fake)
    await intruder.flush()
    await asyncio.sleep(0.2)
    assert sum("permissions violation for subscription" in str(e) for e in errors) == 2
    staff = await connect(server, nats_credentials, "staff", "jdoe")
    replies = [await ask(staff, "ledger.staff.jdoe.cmd.account.open", {"account": f"Q{i}", "email": "q@example.com"})
               for i in range(20)]
    assert all("ok" in reply for reply in replies) and not stolen
    await staff.close()
    await intruder.close()


async def test_each_worker_reads_only_its_own_consumer(server: NatsServerProcess,
                                                       nats_credentials: Credentials) -> None:
    admin = await connect(server, nats_credentials, "admin")
    admin_js = admin.jetstream()
    await ensure_events_stream(admin_js)
    await ensure_dlq_stream(admin_js)
    await admin_js.publish("ledger.events.Probe.y", b"{}")
    for worker in ("emails", "orders"):
        await admin_js.add_consumer("LEDGER_EVENTS", config=ConsumerConfig(
            durable_name=durable_name(worker), filter_subject="ledger.events.>", ack_policy="explicit"))
    errors: list[Exception] = []
    emails = await connect(server, nats_credentials, "worker", "emails", errors)
    js = emails.jetstream(timeout=1)
    own = await js.pull_subscribe_bind(durable_name("emails"), stream="LEDGER_EVENTS")
    assert len(await own.fetch(1, timeout=2)) == 1
    other = await js.pull_subscribe_bind(durable_name("orders"), stream="LEDGER_EVENTS")
    with pytest.raises(nats.errors.TimeoutError):
        await other.fetch(1, timeout=1)
    assert any("permissions violation for publish" in str(e) and "ledger-orders" in str(e) for e in errors)
    info = await admin_js.consumer_info("LEDGER_EVENTS", durable_name("orders"))
    assert info.num_pending >= 1 and info.num_ack_pending == 0  # nothing of it was delivered
    subscriber = await connect(server, nats_credentials, "subscriber", "analytics")
    mine = await subscriber.jetstream(timeout=2).pull_subscribe("ledger.events.>", durable="sub-analytics",
                                                                stream="LEDGER_EVENTS")
    [delivered] = await mine.fetch(1, timeout=2)  # its own durable consumer, created by itself
    await delivered.ack()
    await subscriber.close()
    await emails.close()
    await admin.close()


def portal_session(credentials: Credentials, account: str, kind: str = "customer") -> dict[str, str]:
    key = session_key(credentials.get("portal", "web").password)
    return {HEADER: sign(key, Session(kind=kind, name="ada@example.com", account=account, exp=int(time.time()) + 300))}


async def test_a_portal_acts_as_its_customer_on_their_account_only(server: NatsServerProcess, ledger_api: Any,
                                                                   nats_credentials: Credentials) -> None:
    admin = await connect(server, nats_credentials, "admin")
    for account in ("ACC1", "ACC2"):
        await ask(admin, "ledger.cmd.account.open", {"account": account, "email": f"{account}@example.com"})
        await ask(admin, "ledger.cmd.invoice.issue", {"account": account, "invoice": "I1", "amount": "10.00",
                                                      "date": "2026-09-01", "due": "2026-09-30"})
    written = ledger_api.store.recorder.max_notification_id()
    errors: list[Exception] = []
    portal = await connect(server, nats_credentials, "portal", "web", errors)
    pay = {"account": "ACC1", "payment": "P1", "amount": "10.00", "method": "card", "token": "tok_visa",
           "distribute": True}
    session = portal_session(nats_credentials, "ACC1")
    with captured_logs() as logged:
        for subject in ("cmd.credit.issue", "cmd.invoice.void", "cmd.payment.refund", "read.dashboard"):
            with pytest.raises(nats.errors.TimeoutError):  # not a customer's: the server refuses the publish
                await portal.request(f"ledger.portal.web.{subject}", b'{"account": "ACC1", "credit": "C1", '
                                     b'"amount": "500.00"}', timeout=0.5, headers=session)
        other = await ask(portal, "ledger.portal.web.cmd.payment.submit", {**pay, "account": "ACC2"}, session)
        claimed = await ask(portal, "ledger.portal.web.cmd.payment.submit",
                            {**pay, "actor": {"kind": "finance", "name": "amy"}}, session)
        forged = await ask(portal, "ledger.portal.web.cmd.payment.submit", pay, {HEADER: "v1.e30.AAAA"})
        peek = await ask(portal, "ledger.portal.web.read.account", {"account": "ACC2"}, session)
    assert sum("permissions violation" in str(e) for e in errors) == 4
    for refused in (other, claimed, forged, peek):
        assert refused["error"]["code"] == "actor_not_allowed", refused
    assert ledger_api.store.recorder.max_notification_id() == written  # nothing written
    security = [entry for entry in logged if entry["event"] == "actor_not_allowed"]
    assert len(security) == 4 and {(entry["logger"], entry["user"]) for entry in security} == {("security",
                                                                                                "portal-web")}
    assert [entry for entry in logged if entry["event"] == "command_handled"] == []  # the security log alone
    assert "500.00" not in str(security) and "tok_visa" not in str(security)  # never a request's body
    paid = await ask(portal, "ledger.portal.web.cmd.payment.submit", pay, portal_session(nats_credentials, "ACC1"))
    assert "ok" in paid, paid
    view = await ask(portal, "ledger.portal.web.read.account", {"account": "ACC1"},
                     portal_session(nats_credentials, "ACC1"))
    assert view["ok"]["balance"] == "0.00"
    bys = {(e.by.kind, e.by.name, e.by.channel, e.by.via) for e in ledger_api.store.events.get(account_uuid("ACC1"))
           if e.originator_version > 2}
    assert bys == {("customer", "ada@example.com", "portal", "portal-web")}
    await portal.close()
    await admin.close()


async def test_the_security_log_never_echoes_a_requests_text(server: NatsServerProcess, ledger_api: Any,
                                                              nats_credentials: Credentials) -> None:
    """A refused request's account and claimed kind come from its body: before, they were written to the security
    log as sent (a card number redacted, but a password and kilobytes of text verbatim); now only an id that
    passes the id rule, a known actor kind, and every field capped."""
    hostile = "D 4111 1111 1111 1111 password=hunter2 " + "X" * 5000
    portal = await connect(server, nats_credentials, "portal", "web")
    session = portal_session(nats_credentials, "ACC1")
    pay = {"account": "ACC1", "payment": "P1", "amount": "10.00", "method": "card", "token": "tok_visa",
           "distribute": True}
    with captured_logs() as logged:
        for body in ({**pay, "account": hostile}, {**pay, "actor": {"kind": hostile, "name": "amy"}}):
            refused = await ask(portal, "ledger.portal.web.cmd.payment.submit", body, session)
            assert refused["error"]["code"] == "actor_not_allowed", refused
        peek = await ask(portal, "ledger.portal.web.read.account", {"account": hostile}, session)
        assert peek["error"]["code"] == "actor_not_allowed", peek
    security = [_json_line(entry) for entry in logged if entry["event"] == "actor_not_allowed"]
    assert len(security) == 3
    for line in security:
        assert len(line) < 1024 and b"hunter2" not in line and b"XXXX" not in line and b"1111" not in line, line
    assert b'"account":"<invalid, 5039 chars>"' in security[0] and b'"claimed_kind":"<invalid' in security[1]
    await portal.close()


async def test_a_staff_credential_acts_as_its_member(server: NatsServerProcess, ledger_api: Any,
                                                     nats_credentials: Credentials) -> None:
    staff = await connect(server, nats_credentials, "staff", "jdoe")
    opened = await ask(staff, "ledger.staff.jdoe.cmd.account.open", {"account": "S1", "email": "s@example.com"})
    assert "ok" in opened
    posing = await ask(staff, "ledger.staff.jdoe.cmd.account.open",
                       {"account": "S2", "email": "s@example.com", "actor": {"kind": "finance", "name": "amy"}})
    assert posing["error"]["code"] == "actor_not_allowed"
    log = await ask(staff, "ledger.staff.jdoe.read.account", {"account": "S1"})
    assert log["ok"]["account"] == "S1" and log["ok"]["email"] == "s@example.com"
    key = session_key(nats_credentials.get("staff", "jdoe").password)
    for kind, name, account in (("csr", "mary", "S3"), ("finance", "amy", "S4")):  # a tool signing for its people
        vouched = {HEADER: sign(key, Session(kind=kind, name=name, exp=int(time.time()) + 60))}
        reply = await ask(staff, "ledger.staff.jdoe.cmd.account.open", {"account": account, "email": "v@example.com"},
                          vouched)
        assert ("ok" in reply) == (kind == "csr"), reply  # a csr credential vouches for CSRs only
    [mary] = list(ledger_api.store.events.get(account_uuid("S3")))
    assert (mary.by.kind, mary.by.name, mary.by.via) == ("csr", "mary", "staff-jdoe")  # who carried it
    [opened_event] = list(ledger_api.store.events.get(account_uuid("S1")))
    assert (opened_event.by.kind, opened_event.by.name, opened_event.by.via) == ("csr", "jdoe", "")
    await staff.close()


async def test_a_revoked_credential_is_disconnected(server: NatsServerProcess, nats_credentials: Credentials) -> None:
    issued = nats_credentials.issue("subscriber", "leaving")
    assert server._process is not None
    os.kill(server._process.pid, signal.SIGHUP)
    await asyncio.sleep(0.5)
    closed = asyncio.Event()

    async def on_closed() -> None:
        closed.set()

    nc = await nats.connect(server.url, user=issued.user, password=issued.password, allow_reconnect=False,
                            closed_cb=on_closed)
    assert nc.is_connected
    nats_credentials.revoke(issued.user)
    os.kill(server._process.pid, signal.SIGHUP)
    await asyncio.wait_for(closed.wait(), 10)
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(server.url, user=issued.user, password=issued.password, allow_reconnect=False,
                           max_reconnect_attempts=0)
