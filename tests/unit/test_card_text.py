"""Card numbers in free text and ids: the networks' test numbers, written as people write them, are found;
ordinary numbers are not."""

from __future__ import annotations

import pytest

from ledger.ports.gateway import card_number_in_text


@pytest.mark.parametrize("text", [
    "4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "pay 4111111111111111 now",
    "5555555555554444", "2223003122003222", "378282246310005", "3782 822463 10005", "6011111111111117",
    "3566002020360505", "30569309025904", "6200000000000005", "4222222222222",
])
def test_card_numbers_are_found(text: str) -> None:
    assert card_number_in_text(text)


@pytest.mark.parametrize("text", [
    "4242424242424241",  # fails Luhn
    "1234567890123452",  # no network issues it
    "99991234567890123456789",  # inside a longer run of digits
    "PAY-20240115-000123", "INV-00000000000001", "2026-09-01T10:42:00.123456+00:00", "021000021234567",
    "70293815-5351-42c1-a8fb-46b52a2d551f", "", "short 4242",
])
def test_ordinary_numbers_are_not(text: str) -> None:
    assert not card_number_in_text(text)
