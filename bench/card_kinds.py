"""The card-number detector per kind of text (issue 15): how often each kind of text that is not a card number
is taken for one, with any first digit (the detector) and with 2-6 first (the networks' old ranges), and how
often a card number written with each separator, or with any grouping and any mix of separator runs, is missed.

    python -m bench.cards [--per-kind 3000] [--seed 15]

prints these after the mixed free texts of :mod:`bench.cards`. Ids and instants (UUIDs, hashes, ISO instants)
and texts whose digits come in groups of fewer than 13 between letters read 0. Any 13-19 digits in a row of
short groups (a date and an amount, amounts in a list, epochs, rows of integers, an IP address and its port)
cannot be told from a card number by their shape: each window of 13-19 of them passes Luhn one time in ten.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

from ledger.cards import ANY_FIRST_DIGIT, MAX_SEPARATOR, card_number_in_text

#: The first digits of the networks' old ranges (the detector before issue 15 required one).
NETWORK_FIRST_DIGITS = "23456"

#: Separators people (and a few tools) put between the groups of a card number.
SEPARATORS = (" ", "-", ".", "/", "_", ":", "|", ", ", " - ", "\t", "\u00a0", "\u2013", "\u2014", "\u2009",
              "\u200b", "  ", "\n", "*", "~", "+", "=", "  |  ", "\u3000", "\u2212", "\u30fc", "\uff70",
              " . ", "      ", "\t\t\t", "|", " | ", "------", " ---- // ---- ", " " * MAX_SEPARATOR)
#: Characters of the generated separator runs: punctuation, symbols and whitespace of many scripts.
SEPARATOR_CHARS = (" -|*;~#=()/\\.,:+_\t\n\u00a0[]{}<>'\"!?%&^`@$\u2013\u2014\u2009\u200b\u3000\u2212\u00b7"
                   "\u2022\u3001\u3002\uff0c\uff0e\u30fc")


def with_check_digit(rng: random.Random, prefix: str, length: int) -> str:
    """A Luhn-valid number of ``length`` digits starting with ``prefix`` (the textbook check, not the ledger's)."""
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        number = body + check
        total = sum(sum(map(int, str(int(char) * (1 + position % 2)))) for position, char in
                    enumerate(reversed(number)))
        if total % 10 == 0:
            return number
    raise AssertionError("one check digit always fits")


def card_number(rng: random.Random) -> str:
    """A number as the networks issue them: Visa 13/16, Mastercard, Amex, Discover, UnionPay 19."""
    prefix, length = rng.choice((("4", 16), ("51", 16), ("55", 16), ("34", 15), ("37", 15), ("6011", 16),
                                 ("4", 13), ("62", 19)))
    return with_check_digit(rng, prefix, length)


def printed(number: str) -> list[str]:
    """The groups a card shows: 4-6-5 for a 15-digit Amex, fours otherwise."""
    if len(number) == 15:
        return [number[:4], number[4:10], number[10:]]
    return [number[i:i + 4] for i in range(0, len(number), 4)]


def scattered(rng: random.Random) -> str:
    """A 13-19 digit Luhn-valid number with any first digit, cut into groups of any size (1 to all of it), with a
    run of 1 to MAX_SEPARATOR characters drawn from SEPARATOR_CHARS between every two groups."""
    number = with_check_digit(rng, rng.choice("0123456789"), rng.randint(13, 19))
    cuts = sorted(rng.sample(range(1, len(number)), rng.randint(0, len(number) - 1)))
    groups = [number[a:b] for a, b in zip([0, *cuts], [*cuts, len(number)], strict=True)]
    text = groups[0]
    for group in groups[1:]:
        text += "".join(rng.choice(SEPARATOR_CHARS) for _ in range(rng.randint(1, MAX_SEPARATOR))) + group
    return text


def misses(rng: random.Random, per_separator: int) -> dict[str, int]:
    """Per separator, how many of ``per_separator`` printed card numbers in a sentence are missed; the Amex
    4-6-5 with a space then a dash (``3782 822463-10005``); and ten times ``per_separator`` numbers with any
    first digit, any grouping and any mix of separator runs (:func:`scattered`)."""
    missed = {repr(separator): sum(not card_number_in_text(f"ref {separator.join(printed(card_number(rng)))} ok")
                                   for _ in range(per_separator)) for separator in SEPARATORS}
    amex = (with_check_digit(rng, rng.choice(("34", "37")), 15) for _ in range(per_separator))
    missed["amex 4 6-5"] = sum(not card_number_in_text(f"{n[:4]} {n[4:10]}-{n[10:]}") for n in amex)
    missed["any grouping and separators"] = sum(not card_number_in_text(f"ref {scattered(rng)} ok")
                                                for _ in range(per_separator * 10))
    return missed


def _date(rng: random.Random) -> str:
    return f"20{rng.randint(10, 39)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _instant(rng: random.Random) -> str:
    return (f"{_date(rng)}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
            f"{rng.randint(0, 999999):06d}+00:00")


def _amount(rng: random.Random) -> str:
    return f"{rng.randint(0, 99999999)}.{rng.randint(0, 99):02d}"


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


KINDS: dict[str, Callable[[random.Random], str]] = {
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128))),
    "uuid_hex": lambda r: uuid.UUID(int=r.getrandbits(128)).hex,
    "txn_hex": lambda r: f"paid txn_{r.getrandbits(96):024x}",
    "txn_digits": lambda r: "txn_" + _digits(r, 24),
    "instant": _instant,
    "date_amount": lambda r: f"{_date(r)} {_amount(r)}",
    "date_date": lambda r: f"{_date(r)} {_date(r)}",
    "date_amounts_pipe": lambda r: f"{_date(r)} | {_amount(r)} | {_amount(r)}",
    "amounts_list": lambda r: " ".join(_amount(r) for _ in range(4)),
    "amounts_comma": lambda r: ", ".join(_amount(r) for _ in range(4)),
    "invoice_ids": lambda r: " ".join(f"INV-{r.randint(1000, 999999)}" for _ in range(4)),
    "order_amount": lambda r: f"ORD-{r.randint(2020, 2030)}-{r.randint(0, 999999):06d} {r.randint(10000, 99999)}",
    "phone": lambda r: f"+1 {r.randint(200, 999)}-{r.randint(200, 999)}-{r.randint(1000, 9999)} ext "
                       f"{r.randint(100, 9999)}",
    "epoch_ms": lambda r: str(r.randint(1_600_000_000_000, 1_900_000_000_000)),
    "epoch_ns": lambda r: str(r.randint(1_600_000_000_000_000_000, 1_900_000_000_000_000_000)),
    "log_line": lambda r: f"{_instant(r)} account=ACC{r.randint(1, 99999)} amount={_amount(r)} at "
                          f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
    "ip_port": lambda r: ".".join(str(r.randint(0, 255)) for _ in range(4)) + f":{r.randint(1000, 65535)}",
    "versions": lambda r: f"notification {r.randint(1, 10**7)} version {r.randint(1, 10**5)} position "
                          f"{r.randint(1, 10**7)}",
    "ints_space": lambda r: " ".join(str(r.randint(0, 9999)) for _ in range(5)),
    "table_row": lambda r: "".join(str(r.randint(0, 9999)).rjust(10) for _ in range(5)),
    "cents_minor": lambda r: f"{r.randint(10**12, 10**13)} minor units",
    "table_pipes": lambda r: f"| {_date(r)} |{_amount(r).rjust(14)} |{str(r.randint(1, 99)).rjust(6)} |",
}


def false_positives(rng: random.Random, per_kind: int) -> dict[str, tuple[int, int, list[str]]]:
    """Per kind, how many of ``per_kind`` generated texts are taken for a card number with any first digit and
    with 2-6 first, and two of the first."""
    found: dict[str, tuple[int, int, list[str]]] = {}
    for name, make in KINDS.items():
        texts = [make(rng) for _ in range(per_kind)]
        flagged = [text for text in texts if card_number_in_text(text, ANY_FIRST_DIGIT)]
        network = sum(card_number_in_text(text, NETWORK_FIRST_DIGITS) for text in flagged)
        found[name] = len(flagged), network, flagged[:2]
    return found


def report(per_kind: int, seed: int) -> None:
    """Print the misses per separator and the false positives per kind."""
    rng = random.Random(seed)
    missed = {name: count for name, count in misses(rng, per_kind // 10).items() if count}
    print(f"missed card numbers (of {per_kind // 10} per separator, {per_kind} with any grouping and separators):"
          f" {missed or 'none'}")
    print(f"false positives per kind (of {per_kind}): any first digit, then 2-6 first")
    for name, (count, network, examples) in false_positives(rng, per_kind).items():
        print(f"  {name:18s} {count:5d} ({count / per_kind:6.2%}) {network:5d} ({network / per_kind:6.2%})"
              f"  e.g. {examples}")
