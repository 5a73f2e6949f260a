"""``audit verify`` on an event row edited into something that cannot be decoded, on real SQLite files: the row
is named by the hash chain and as undecodable, the checks that need every event say they were not run, the
exit code is 1 and ``--json`` prints the verification (it used to crash with an internal error)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ledger.aggregates import events as ev
from ledger.projections.runner import FileLog
from tests.ledger_fixtures import LedgerCli

#: How a stored state is garbled, and the storage class it is left with.
TAMPERS = {
    "garbage_blob": ("cast('{garbage' as blob)", "blob"),
    "replace_to_text": ("replace(state, 'a', 'b')", "text"),  # replace() on a BLOB returns TEXT
    "text_not_utf8": ("cast(x'7bff22' as text)", "text"),
}


class Ledger(LedgerCli):
    def ok(self, *args: str) -> Any:
        result = self("--json", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def garble(self, topic: str, expression: str) -> tuple[int, str]:
        """Overwrite the state of the first event of ``topic``; its (position, storage class afterwards)."""
        db = sqlite3.connect(self.home / "ledger.db")
        (position,) = db.execute("select min(rowid) from stored_events where topic like ?", (f"{topic}:%",)).fetchone()
        db.execute(f"update stored_events set state = {expression} where rowid = ?", (position,))
        db.commit()
        (kind,) = db.execute("select typeof(state) from stored_events where rowid = ?", (position,)).fetchone()
        db.close()
        return int(position), str(kind)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    run = Ledger(tmp_path)
    run.ok("account", "open", "ACC1", "--email", "a@example.com")
    run.ok("invoice", "issue", "ACC1", "I1", "--amount", "100.00", "--date", "2026-09-01", "--due", "2026-09-05")
    run.ok("payment", "submit", "ACC1", "P1", "--amount", "120.00", "--method", "card", "--token", "tok_visa",
           "--distribute")
    run.ok("invoice", "issue", "ACC1", "I2", "--amount", "50.00", "--date", "2026-09-02", "--due", "2026-10-02")
    clean = run.ok("audit", "verify")  # chains every event and brings the projections up to date
    assert clean["ok"] is True and clean["findings"] == []
    return run


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_a_garbled_event_row_is_named_and_verification_goes_on(ledger: Ledger, tamper: str) -> None:
    total = ledger.ok("audit", "verify")["events"]
    expression, storage = TAMPERS[tamper]
    position, kind = ledger.garble("PaymentSubmitted", expression)
    assert kind == storage

    result = ledger("audit", "verify", "--json")
    assert result.exit_code == 1
    verification = json.loads(result.stdout)
    assert verification["ok"] is False
    found = verification["findings"]
    chain = [f["detail"] for f in found if f["check"] == "hash_chain"]
    assert len(chain) == 1 and chain[0].startswith(f"position {position} ") and chain[0].endswith("event row edited")
    undecodable = [f["detail"] for f in found if f["check"] == "event_decode"]
    assert len(undecodable) == 1  # the events after it were read and decoded
    topic = f"PaymentSubmitted:{ev.PaymentSubmitted.class_version}"
    assert undecodable[0].startswith(f"position {position} (topic {topic}, ")
    assert "cannot be decoded" in undecodable[0]
    skipped = {f["check"]: f["detail"] for f in found if f["check"] in ("projection_rebuild", "invariant")}
    assert set(skipped) == {"projection_rebuild", "invariant"}
    assert all(detail.startswith("not checked: 1 stored event(s) cannot be decoded") for detail in skipped.values())
    assert len(found) == 4 and verification["projections"] == []
    assert verification["events"] == total - 1
    assert verification["chain_head"].startswith(f"{total}:")


def test_the_text_report_names_the_garbled_row_too(ledger: Ledger) -> None:
    position, _ = ledger.garble("InvoiceIssued", TAMPERS["replace_to_text"][0])
    result = ledger("audit", "verify")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"hash_chain: position {position} ") and lines[0].endswith("event row edited")
    assert lines[1].startswith(f"event_decode: position {position} (topic InvoiceIssued:1, ")
    assert lines[-1].startswith("DISCREPANCIES FOUND: ")


def test_a_text_state_is_chained_as_the_bytes_of_its_text(ledger: Ledger) -> None:
    position, kind = ledger.garble("InvoiceIssued", "cast(state as text)")  # storage class only: same bytes
    assert kind == "text"
    log = FileLog(str(ledger.home / "ledger.db"))
    note = log.read_raw(position - 1, 1)[0]
    assert note.id == position and isinstance(note.state, bytes) and note.state.startswith(b"{")
    log.db.close()
    verification = ledger.ok("audit", "verify")  # the same bytes, decodable as text: nothing was edited
    assert verification["ok"] is True, verification["findings"]
    ledger.garble("InvoiceIssued", TAMPERS["text_not_utf8"][0])
    log = FileLog(str(ledger.home / "ledger.db"))
    assert log.read_raw(position - 1, 1)[0].state == b'{\xff"'  # not UTF-8, read all the same
    log.db.close()


def test_projections_behind_the_garbled_row_do_not_stop_verification(ledger: Ledger) -> None:
    """The read models must catch up past the garbled row (here: deleted, rebuilt from 0); that fails, and
    verify still reports the row instead of an internal error."""
    position, _ = ledger.garble("InvoiceIssued", TAMPERS["garbage_blob"][0])
    for built in (ledger.home / "projections").glob("*.db*"):
        built.unlink()
    result = ledger("audit", "verify", "--json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)["findings"]
    assert [f["check"] for f in found][:2] == ["hash_chain", "event_decode"]
    assert found[1]["detail"].startswith(f"position {position} ")
