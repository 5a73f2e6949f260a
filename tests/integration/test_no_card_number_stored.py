"""Issue 15: after a run of random commands through the real stack, with card numbers written as people (and
attackers) write them (any first digit, cut into groups of any size, any runs of up to MAX_SEPARATOR
non-letters between them, digits of any script) in every kind of text a command carries, none of them is in any
file of the ledger's home (event store, its WAL, read models, chain, gateway state), in any read-model cell, in
any log line as written, in any refusal or in any message the relay published on JetStream (body and headers).

The search does not use the detector under test: each generated card number's digits are looked for in the
bytes, in order, with up to 4 * MAX_SEPARATOR bytes that are not digits between each two (a separator of
MAX_SEPARATOR characters of up to 4 bytes each in UTF-8; a JSON or log escape such as ``\\u3000`` or ``\\x1f``
counts as one), each digit in any of the scripts generated, raw or as a JSON escape.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.cards import MAX_SEPARATOR
from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.logs import _displayable, _json_line
from ledger.projections.keeper import ProjectionKeeper
from tests.integration.test_event_contract import relayed
from tests.ledger_fixtures import captured_logs, make_ledger
from tests.property.test_card_number_detection import with_check_digit
from tests.property.test_card_separators import ZEROS, holds_a_date, written


def spread(seed: int, length: int) -> str:
    """A Luhn-valid number of ``length`` digits that look random (a number of one repeated digit, as a search
    would shrink to, turns up by chance in a database page's bytes)."""
    digits = str(int.from_bytes(hashlib.sha256(str(seed).encode()).digest(), "big"))
    return with_check_digit(digits[10:10 + length - 1])


card_numbers = st.builds(spread, st.integers(0, 2**32), st.integers(13, 19))
benign = st.sampled_from(["", "thanks", "ref 2026-09-01 120.50", "ORD-2026-000123", "call 555 0100"])
steps = st.lists(st.tuples(st.sampled_from(["name", "reference", "description", "token", "id", "key"]),
                           st.one_of(benign.map(lambda text: ("", text)),
                                     written(card_numbers).filter(lambda case: not holds_a_date(case[1])))),
                 min_size=1, max_size=8)
#: Between two digits: any byte but an ASCII digit, or a whole escape (``\\u3000`` in JSON, ``\\x1f`` as a log
#: line shows a control character) whose hex digits are not the card's.
GAP = rb"(?:\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|[^0-9])"


def pattern(number: str) -> re.Pattern[bytes]:
    """The digits of ``number`` in order, in any form the run may have stored them."""
    def digit(value: int) -> bytes:
        forms = {re.escape(chr(ord(zero) + value).encode()) for zero in ZEROS}
        forms |= {f"\\\\u{ord(zero) + value:04x}".encode() for zero in ZEROS if zero != "0"}
        return b"(?:" + b"|".join(sorted(forms)) + b")"
    gap = GAP + b"{0,%d}" % (4 * MAX_SEPARATOR)
    return re.compile(gap.join(digit(int(char)) for char in number), re.IGNORECASE)


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


@pytest.mark.nats
@settings(max_examples=max(10, settings.default.max_examples // 20), deadline=None,  # 50 in CI's profile
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
def test_no_card_number_reaches_a_file_a_read_model_a_log_line_or_jetstream(
        nats_server: str, history: list[tuple[str, tuple[str, str]]]) -> None:
    searches = {number: pattern(number) for _, (number, _) in history if number}
    for _, (number, text) in history:  # the search finds each as it was written
        assert not number or searches[number].search(text.encode()), ascii(text)

    def holding(data: bytes) -> list[str]:
        return [number for number, search in searches.items() if search.search(data)]

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        ledger = make_ledger(home)
        refusals: list[str] = []
        with captured_logs() as logs:
            ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
            for n, (where, (_, value)) in enumerate(history):
                try:
                    run(ledger, n, where, value)
                except LedgerError as refused:
                    refusals.append(f"{refused} {refused.field}")
            keeper = ProjectionKeeper(ledger.store, home)
            keeper.catch_up()
            tables = [(name, table) for name in ("accounts", "audit", "journal") for (table,) in
                      keeper.connection(name).execute("select name from sqlite_master where type = 'table'")]
            cells = [cell if isinstance(cell, bytes) else str(cell).encode() for name, table in tables
                     for row in keeper.connection(name).execute(f"select * from {table}") for cell in row]
            keeper.close()
            published = [(message.data or b"") + b"\n" + repr(message.headers).encode()
                         for message in asyncio.run(relayed(ledger, nats_server))]
            ledger.close()
        lines = [_json_line(_displayable(None, "", dict(entry))) for entry in logs]
        assert any(b'"event_recorded"' in line for line in lines)  # the log was seen
        assert published and cells
        for kind, texts in (("refusal", [text.encode() for text in refusals]), ("read-model cell", cells),
                            ("log line", lines), ("JetStream message", published)):
            assert not [(text, holding(text)) for text in texts if holding(text)], kind
        files = [path for path in home.rglob("*") if path.is_file() and path.name != "secret"]
        assert any(path.name == "ledger.db" for path in files)
        for path in files:
            assert not holding(path.read_bytes()), path
