"""What customers typed reaches operators' screens and auditors' spreadsheets as text: never as rich markup, a
terminal escape or a spreadsheet formula."""

from __future__ import annotations

import csv
import io

from rich.console import Console

from ledger.cli import tables
from replay.export import render, spreadsheet_safe


def test_formulas_are_neutralised_and_amounts_stay_numbers() -> None:
    assert spreadsheet_safe('=HYPERLINK("https://evil.test/x","Open")') == '\'=HYPERLINK("https://evil.test/x","Open")'
    assert [spreadsheet_safe(v) for v in ("@SUM(A1)", "+1", "-x", "\tx")] == ["'@SUM(A1)", "'+1", "'-x", "'\tx"]
    assert [spreadsheet_safe(v) for v in ("-5.00", "12", "Other – Payment Applied", 7, None)] == [
        "-5.00", "12", "Other – Payment Applied", 7, None]
    rows = list(csv.DictReader(io.StringIO("".join(render([{"record": "audit", "account": "=1+2",
                                                             "debit": "-3.00"}], "csv")))))
    assert (rows[0]["account"], rows[0]["debit"]) == ("'=1+2", "-3.00")


def test_table_cells_are_plain_text(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    monkeypatch.setattr(tables, "console", lambda: Console(file=out, width=200, color_system=None))
    tables.table("Credits of [/]", [{"id": "[/]", "reference": "[link=https://evil.test]x[/link] :free:",
                                     "note": "\x1b]8;;https://evil.test\x1b\\X"}])
    shown = out.getvalue()
    assert "[/]" in shown and "[link=https://evil.test]x[/link] :free:" in shown
    assert "\x1b" not in shown and "\\x1b]8;;https://evil.test" in shown
