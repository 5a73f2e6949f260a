"""Issue 15: after a run of random commands through the real stack, with card numbers written as people write
them (any short separator, any grouping) in every kind of text a command carries, no card number is in any file
of the ledger's home (event store, its WAL, read models, chain, gateway state), in any read-model cell, in any
log line as written or in any message the relay published on JetStream (body and headers). The commands carrying
one are refused; the others are recorded."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.cards import card_number_in_text
from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.logs import _displayable, _json_line
from ledger.projections.keeper import ProjectionKeeper
from tests.integration.test_event_contract import relayed
from tests.ledger_fixtures import captured_logs, make_ledger
from tests.property.test_card_separators import written

benign = st.sampled_from(["", "thanks", "ref 2026-09-01 120.50", "ORD-2026-000123", "call 555 0100"])
text = st.one_of(benign, written().map(lambda case: case[1]))
steps = st.lists(st.tuples(st.sampled_from(["name", "reference", "description", "token", "id", "key"]), text),
                 min_size=1, max_size=8)


def run(ledger: Any, n: int, where: str, value: str) -> None:
    if where == "name":
        ledger.service.handle(m.OpenAccount(account=f"A{n}", email="a@example.com", name=value))
    elif where == "reference":
        ledger.service.handle(m.IssueCredit(account="ACC1", credit=f"C{n}", amount="1.00", reference=value))
    elif where == "description":
        ledger.service.handle(m.PlaceOrder(account="ACC1", order=f"O{n}", amount="1.00", description=value))
    elif where == "token":
        ledger.service.handle(m.SubmitPayment(account="ACC1", payment=f"P{n}", amount="1.00", method="card",
                                              token=value or "tok_visa", deposit=True))
    elif where == "id":
        ledger.service.handle(m.IssueCredit(account="ACC1", credit=value.replace(" ", "") or f"C{n}",
                                            amount="1.00"))
    else:
        ledger.service.handle(m.SubmitPayment(account="ACC1", payment=f"K{n}", amount="1.00", method="card",
                                              token="tok_visa", deposit=True, key=value or None))


def digits(data: str) -> str:
    return re.sub(r"[^0-9]", "", data)


@pytest.mark.nats
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
def test_no_card_number_reaches_a_file_a_read_model_a_log_line_or_jetstream(
        nats_server: str, history: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        ledger = make_ledger(home)
        pans = [digits(value) for _, value in history if card_number_in_text(value)]
        with captured_logs() as logs:
            ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
            for n, (where, value) in enumerate(history):
                try:
                    run(ledger, n, where, value)
                except LedgerError as refused:
                    assert not card_number_in_text(str(refused))
            keeper = ProjectionKeeper(ledger.store, home)
            keeper.catch_up()
            cells = [cell for name in ("accounts", "audit", "journal") for table in
                     keeper.connection(name).execute("select name from sqlite_master where type = 'table'")
                     for row in keeper.connection(name).execute(f"select * from {table[0]}") for cell in row
                     if isinstance(cell, str)]  # text: a REAL instant (1796646297.5007327) is no one's text
            keeper.close()
            published = [(message.data or b"").decode() + "\n" + repr(message.headers)
                         for message in asyncio.run(relayed(ledger, nats_server))]
            ledger.close()
        lines = [_json_line(_displayable(None, "", dict(entry))).decode() for entry in logs]
        assert any('"event_recorded"' in line for line in lines)  # the log was seen
        assert not [cell for cell in cells if card_number_in_text(cell)]
        assert not [line for line in lines if card_number_in_text(line)]
        assert published and not [text for text in published if card_number_in_text(text)]
        assert not [pan for pan in pans for text in published if pan in digits(text)]
        files = [path for path in home.rglob("*") if path.is_file() and path.name != "secret"]
        assert any(path.name == "ledger.db" for path in files)
        for path in files:
            stored = digits(path.read_bytes().decode("latin-1"))
            assert not [pan for pan in pans if pan in stored], path
