"""Card numbers in free text and ids: the networks' test numbers, written as people write them, are found;
ordinary numbers are not."""

from __future__ import annotations

import pytest

from ledger.cards import card_number_field, card_number_in_text, displayable, looks_like_card_number


@pytest.mark.parametrize("text", [
    "4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "pay 4111111111111111 now",
    "5555555555554444", "2223003122003222", "378282246310005", "3782 822463 10005", "6011111111111117",
    "3566002020360505", "30569309025904", "6200000000000005", "4222222222222",
])
def test_card_numbers_are_found(text: str) -> None:
    assert card_number_in_text(text)


@pytest.mark.parametrize("text", [
    "4242424242424241",  # fails Luhn
    "99991234567890123456789",  # inside a longer run of digits
    "PAY-20240115-000123", "INV-00000000000001", "2026-09-01T10:42:00.123456+00:00", "021000021234568",
    "70293815-5351-42c1-a8fb-46b52a2d551f", "", "short 4242",
])
def test_ordinary_numbers_are_not(text: str) -> None:
    assert not card_number_in_text(text)


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1111 12/26", "4111 1111 1111 1111 123", "4242-4242-4242-4242-1226",  # expiry, CVV glued on
    "6759649826438453", "6304000000000000", "3056930009020004", "2200000000000004",  # Maestro, Diners 16, Mir
    "4242 424242424242", "4242  4242  4242  4242", "4242\u00a04242\u00a04242\u00a04242", "4242.4242.4242.4242",
])
def test_card_numbers_written_as_people_write_them_are_found(text: str) -> None:
    assert card_number_in_text(text)


@pytest.mark.parametrize("text", [
    "d41d8cd98f00b204e9800998ecf8427ed41d8cd98f00b204e9800998ecf8427e",  # a sha256 hex
    "k-70293815-5351-42c1-a8fb-46b52a2d551f", "3c2f1e0a4b5d6e7f8091a2b3c4d5e6f7",
])
def test_hashes_and_uuids_are_not_card_numbers(text: str) -> None:
    assert not card_number_in_text(text)


def test_the_field_of_a_card_number_in_a_decoded_value() -> None:
    assert card_number_field({"invoices": {"4242424242424242": "1.00"}}) == "invoices"
    assert card_number_field({"actor": {"name": "4242 4242 4242 4242"}}) == "actor.name"
    assert card_number_field({"request_hash": "d41d8cd98f00b204e9800998ecf8427e" * 2, "amount": 500}) is None


@pytest.mark.parametrize("text", [
    "Card 4242424242424242123 thanks", "42424242424242421227", "378282246310005 1227",  # CVV / expiry glued on
    "paid w/ 4111_1111_1111_1111 exp 12/27", "5555/5555/5555/4444", "4242 - 4242 - 4242 - 4242",
    "4242,4242,4242,4242", "4242+4242+4242+4242", "4242:4242:4242:4242",
    "card " + "\uff14\uff12" * 8,  # fullwidth
    "\u0664\u0662\u0664\u0662" * 4,  # Arabic-Indic digits
])
def test_card_numbers_with_other_separators_digits_or_glued_cvv_are_found(text: str) -> None:
    assert card_number_in_text(text)


def test_tokens_with_any_separator_are_checked() -> None:
    assert looks_like_card_number("4242_4242_4242_4242") and looks_like_card_number("4242,4242,4242,4242")
    assert looks_like_card_number("\uff14\uff12\uff14\uff12" * 4)
    assert not looks_like_card_number("tok_visa") and not looks_like_card_number("pm_1N3xyzAbc")


def test_card_numbers_are_redacted_and_control_characters_escaped_for_display() -> None:
    shown = displayable("no account 4111_1111_1111_1111 nor 4242 4242 4242 4242 \x1b]8;;https://evil.test\x1b\\X")
    assert shown == ("no account [card number] nor [card number] \\x1b]8;;https://evil.test\\x1b\\X")
    assert displayable("Ada Lovelace, invoice I-2026-0001") == "Ada Lovelace, invoice I-2026-0001"


def test_gateway_transaction_ids_are_not_scanned_but_hex_next_to_a_card_number_is_no_cover() -> None:
    txn = "txn_5956f1a5d369769950377759"  # 15 digits inside pass Luhn
    assert not card_number_field({"transaction_id": txn, "refund_transaction_id": txn, "reference": "P3"})
    assert card_number_field({"reference": txn}) == "reference"  # a person quoting it: refused, to be safe
    for text in ("card 4111111111111111abcd", "deadbeef4111111111111111", "card_4242424242424242cafe",
                 "ref abc4242424242424242"):
        assert card_number_in_text(text), text


@pytest.mark.parametrize("text", [
    "4111|1111|1111|1111", "4111*1111*1111*1111", "4111;1111;1111;1111", "4111~1111~1111~1111",
    "4111#1111#1111#1111", "4111=1111=1111=1111", "(4111)(1111)(1111)(1111)", "4111    1111    1111    1111",
    "4111 - - 1111 - - 1111 - - 1111", "41 11 11 11 11 11 11 11", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
    "ref: 4111-1111 1111|1111", "41-1-11-1-11-1-1-11-11-1-1", "[4111][1111][1111][1111]",
])
def test_card_numbers_with_any_short_separators_are_found(text: str) -> None:
    """Issue 15: the README promises any separator."""
    assert card_number_in_text(text)
    assert "[card number]" in displayable(text) and "1111" not in displayable(text)


def test_two_card_numbers_in_one_stretch_are_both_redacted() -> None:
    shown = displayable("4111 1111 1111 1111 / 4242 4242 4242 4242")
    assert shown == "[card number] / [card number]"


@pytest.mark.parametrize("text", [
    "amex 3782 822463-10005 thanks", "3782-822463 10005", "3782 - 822463 10005",  # Amex 4-6-5, mixed separators
    "card 4111      1111      1111      1111", "4111\t\t\t1111\t\t\t1111\t\t\t1111",  # a column apart
    "カード 4111ー1111ー1111ー1111", "4111ｰ1111ｰ1111ｰ1111",  # what a Japanese IME types for '-'
    "4111ㅡ1111ㅡ1111ㅡ1111", "4111一1111一1111一1111",  # Korean and Chinese dashes
    "ref 4111111111111111abcdefabcdefabcd", "4111111111111111deadbeefdeadbeefdeadbeef",  # 32+ hex: not a hash
    "ref abcdefabcdefabcdef4111111111111111",
])
def test_card_numbers_the_review_found_missing_are_found(text: str) -> None:
    """Issue 15 review (rev2): each was missed."""
    assert card_number_in_text(text)
    assert "[card number]" in displayable(text) and "1111" not in displayable(text) and "822463" not in displayable(
        text)


def test_a_redacted_card_number_keeps_the_text_around_it() -> None:
    assert displayable("カード 4111ー1111ー1111ー1111 です") == "カード [card number] です"
    assert displayable("ref 4111111111111111abcdefabcdefabcd") == "ref [card number]abcdefabcdefabcd"


@pytest.mark.parametrize("text", [
    "4111" + " " * 17 + "111111111111",  # further apart than a table column
    "4111 ----------------- 1111 1111 1111",  # a run of 17 non-letters ends a number
    "4111 1111 x 1111 1111", "4111-1111-1111 ab-1111",  # a letter ends a number
    "event at 2026-12-07T08:35:14.201058+00:00",  # an ISO instant is not read (16 digits after its T pass Luhn)
    "a4111111111111111deadbeefdeadbeefdeadbeef",  # a hash: letters on both sides of its digits
    "7f3d102369fc35a19ce2254967971491",  # a hash ending in 13 digits that pass Luhn
])
def test_what_only_resembles_those_layouts_is_not(text: str) -> None:
    assert not card_number_in_text(text)


@pytest.mark.parametrize("text", [
    "4111 11|11 1111 1111", "41-11 11-11 11-11 11-11", "4 1 1 1-1 1 1 1-1 1 1 1-1 1 1 1", "4111.1111.1111.11/11",
    "5555 55|55 5555 4444", "ref 4111 ------ 1111 ------ 1111 ------ 1111 ok", "4111" + " |" * 8 + "111111111111",
    "3782-822463 = $ 10005", "ORD-2028-677989 42866",  # any grouping and mix of separators, even a quoted id's
    "1234567890123452", "7000 0000 0000 0005", "8171 9999 2766 0000", "9792 1234 5678 9018",  # any first digit
    "021000021234567", "0000 0000 0000 0",
])
def test_any_13_to_19_luhn_digits_are_found_whatever_short_runs_separate_them(text: str) -> None:
    """Issue 15: each was missed (a mix of separators between groups other than four, a run of 6 or more, a
    first digit other than 2-6); a text that only resembles a card number (an order number and an amount, an ACH
    trace number) is refused too when its digits pass Luhn."""
    assert card_number_in_text(text)
    shown = displayable(text)
    assert "[card number]" in shown and sum(char.isdigit() for char in shown) < 13, shown


@pytest.mark.parametrize("text", ["2029-12-25 2037-01-10", "2038-07-07 24520645.65", "31.12.2026 | 01/09/2027",
                                  "56058938.43 79414562.26 10833478.30 70954721.95",
                                  "3215958.75, 46270172.76, 32815924.65, 86535709.67"])
def test_dates_and_amounts_are_not_read_as_card_numbers(text: str) -> None:
    """The bench's false alarms of the widest reading (their digits pass Luhn in some window of whole groups): a
    date or an amount with two decimals is not a card number's group."""
    assert not card_number_in_text(text)
    assert card_number_in_text(f"{text} 4111 11|11 1111 1111")  # a card number beside them still is


def test_a_card_number_glued_to_a_point_and_two_digits_stays_one() -> None:
    assert card_number_in_text("4111111111111111.00") and card_number_in_text("4111.1111.1111.11/11")


@pytest.mark.parametrize("text", ["4111 1111 1111 1111.12/28", "4111 1111 1111 1111.00", "3782 822463 10005.00",
                                  "6011 0009 9013 9424.00", "4111-1111-1111-1111.99"])
def test_a_card_numbers_last_group_with_a_point_and_two_digits_is_read(text: str) -> None:
    """Review: an amount's shape at the end of a card number (an expiry or ``.00`` typed after it) was blanked
    as an amount, and the number stored."""
    assert card_number_in_text(text)
