"""LEDGER_WORKERS: a typo is refused, naming it, instead of starting a process without the worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.config import Settings, worker_names
from ledger.errors import ValidationError


def test_names_are_trimmed_deduplicated_and_may_be_none() -> None:
    assert worker_names("emails, orders,emails,") == ("emails", "orders")
    assert worker_names("") == () and worker_names(" , ") == ()
    assert worker_names("expiry,orders") == ("orders",)  # the scheduler runs in every serve anyway


@pytest.mark.parametrize("text", ["email", "emails,bogus", "expiry,autopays"])
def test_an_unknown_worker_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        worker_names(text)
    assert (refused.value.field, refused.value.code) == ("LEDGER_WORKERS", "unknown_worker")
    assert repr(text.split(",")[-1]) in str(refused.value)


def test_the_serving_line_names_the_store_it_really_uses(tmp_path: Path) -> None:
    sqlite = Settings.from_env({}, home=tmp_path)
    assert sqlite.store_description() == str(tmp_path / "ledger.db")
    postgres = Settings.from_env({"LEDGER_STORE": "postgres", "LEDGER_POSTGRES_SCHEMA": "books",
                                  "LEDGER_POSTGRES_DSN": "postgresql://u:secret@db.example:6432/ledger"})
    assert postgres.store_description() == "postgres db.example:6432/ledger schema books"


def test_the_scheduler_switch_is_0_or_1() -> None:
    assert Settings.from_env({"LEDGER_SCHEDULER": "1"}).scheduler
    assert not Settings.from_env({"LEDGER_SCHEDULER": "0"}).scheduler
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({"LEDGER_SCHEDULER": "no"})
    assert refused.value.field == "LEDGER_SCHEDULER"
