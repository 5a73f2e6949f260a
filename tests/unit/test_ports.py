"""Clock, ids and tokens: business time zone, deterministic aggregate ids, hash-only tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ledger.adapters.clock import ManualClock, SystemClock
from ledger.errors import ValidationError
from ledger.ports.clock import business_date, parse_instant, start_of_business_day
from ledger.ports.ids import RandomIds, SequentialIds, account_uuid, unidentified_uuid
from ledger.ports.tokens import TokenIssuer, hash_token, load_or_create_secret, verify

NY = ZoneInfo("America/New_York")


def test_dates_are_business_dates_in_eastern_time() -> None:
    late_evening = datetime(2026, 9, 2, 2, 30, tzinfo=UTC)  # 22:30 on Sept 1 in New York
    assert business_date(late_evening, NY) == date(2026, 9, 1)
    assert start_of_business_day(date(2026, 9, 1), NY) == datetime(2026, 9, 1, 4, tzinfo=UTC)
    assert start_of_business_day(date(2026, 12, 1), NY) == datetime(2026, 12, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-09-01", datetime(2026, 9, 1, 4, tzinfo=UTC)),
    ("2026-09-01T10:42", datetime(2026, 9, 1, 14, 42, tzinfo=UTC)),
    ("2026-09-01T10:42:00Z", datetime(2026, 9, 1, 10, 42, tzinfo=UTC)),
    ("2026-09-01T10:42:00+02:00", datetime(2026, 9, 1, 8, 42, tzinfo=UTC)),
])
def test_parse_instant(text: str, expected: datetime) -> None:
    assert parse_instant(text, NY) == expected


@pytest.mark.parametrize("bad", ["", "yesterday", "2026-13-01", "12:00"])
def test_parse_instant_refuses_nonsense_naming_the_field(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_instant(bad, NY, "at")
    assert caught.value.field == "at"


def test_clocks() -> None:
    manual = ManualClock(datetime(2026, 9, 1, tzinfo=UTC))
    manual.advance(days=29)
    assert manual.now() == datetime(2026, 9, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        manual.advance(seconds=-1)
    assert SystemClock().now().tzinfo is not None and SystemClock().zone == NY
    with pytest.raises(ValidationError):
        SystemClock("Mars/Olympus")


def test_ids() -> None:
    seq = SequentialIds()
    assert [seq.new_id("CART"), seq.new_id("CART"), seq.new_id("INVITE")] == ["CART-0001", "CART-0002",
                                                                               "INVITE-0001"]
    a, b = RandomIds().new_id("CART"), RandomIds().new_id("CART")
    assert a != b and a.startswith("CART_")
    assert account_uuid("ACC1") == account_uuid("ACC1") != account_uuid("ACC2")
    assert account_uuid("P1") != unidentified_uuid("P1")


def test_tokens_are_derived_and_only_hashes_compare(tmp_path: Path) -> None:
    secret = load_or_create_secret(tmp_path / "secret")
    assert len(secret) == 32 and load_or_create_secret(tmp_path / "secret") == secret
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600
    issuer = TokenIssuer(secret)
    raw = issuer.issue("invitation", "ACC1", "INV-1", "0")
    assert raw == issuer.issue("invitation", "ACC1", "INV-1", "0")
    assert raw != issuer.issue("invitation", "ACC1", "INV-1", "1")
    assert raw != TokenIssuer(b"another secret of 32 bytes......").issue("invitation", "ACC1", "INV-1", "0")
    assert verify(raw, hash_token(raw)) and not verify(raw + "x", hash_token(raw))
    assert load_or_create_secret(tmp_path / "other", b"from-the-environment-0123456789") == \
        b"from-the-environment-0123456789"


def test_a_database_elsewhere_keeps_its_derived_files_beside_it(tmp_path: Path) -> None:
    from ledger.config import Settings

    settings = Settings.from_env({}, db_path=tmp_path / "books" / "ledger.db")
    assert settings.home == tmp_path / "books" and settings.gateway_db == tmp_path / "books" / "gateway.db"
    assert Settings.from_env({}).home == Path("var")
    assert Settings.from_env({"LEDGER_HOME": str(tmp_path)}, db_path=tmp_path / "x.db").home == tmp_path
