"""The NATS API's body decoding: an error names the field; a key given twice is refused (readers disagree on
which copy counts)."""

from __future__ import annotations

import pytest

from ledger.commands import messages as m
from ledger.errors import ValidationError
from ledger.nats_api.api import decode


@pytest.mark.parametrize(("body", "field", "code"), [
    (b'{"account": "A", "email": "a@example.com", "admin": true}', "admin", "invalid"),
    (b'{"account": "A", "email": "a@example.com", "actor": {"kind": "csr", "rank": 1}}', "actor.rank", "invalid"),
    (b'{"account": "A", "email": 7}', "email", "invalid"),
    (b'{"account": "A", "email": "a@example.com", "email": "b@example.com"}', "email", "duplicate_key"),
    (b'{"account": "A", "email": "a@example.com", "actor": {"name": "x", "name": "y"}}', "name", "duplicate_key"),
])
def test_a_refused_body_names_its_field(body: bytes, field: str, code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        decode(body, m.OpenAccount)
    assert (refused.value.field, refused.value.code) == (field, code)


def test_a_good_body_decodes() -> None:
    assert decode(b'{"account": "A", "email": "a@example.com"}', m.OpenAccount).account == "A"


@pytest.mark.parametrize("body", [
    b'{"account": "A", "email": "a@example.com", "4242424242424242": 1}',
    b'{"account": "A", "email": "a@example.com", "4242424242424242": 1, "4242424242424242": 2}',
])
def test_a_card_number_as_a_key_is_not_echoed(body: bytes) -> None:
    with pytest.raises(ValidationError) as refused:
        decode(body, m.OpenAccount)
    assert "4242424242424242" not in f"{refused.value} {refused.value.field}"
