"""LazyDict and LazyList answer every read like a dict and a list, decode only what is read, write back verbatim."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregates.lazy import LazyDict, LazyList


class Item(msgspec.Struct, array_like=True):
    name: str
    amount: int


DECODER = msgspec.json.Decoder(Item)
keys = st.sampled_from([f"K{n}" for n in range(8)])
items = st.builds(Item, st.text(max_size=5), st.integers(-1000, 1000))
operations = st.lists(st.one_of(
    st.tuples(st.just("get"), keys), st.tuples(st.just("getitem"), keys), st.tuples(st.just("contains"), keys),
    st.tuples(st.just("set"), keys, items), st.tuples(st.just("pop"), keys), st.tuples(st.just("del"), keys),
    st.tuples(st.just("setdefault"), keys, items), st.tuples(st.just("values")), st.tuples(st.just("items")),
    st.tuples(st.just("len")), st.tuples(st.just("keys")), st.tuples(st.just("popitem")),
    st.tuples(st.just("copy")), st.tuples(st.just("eq"))), max_size=30)


def lazy_copy(plain: dict[str, Item]) -> LazyDict[Item]:
    """What a snapshot read gives: every value still encoded."""
    return LazyDict({k: msgspec.Raw(msgspec.json.encode(v)) for k, v in plain.items()}, DECODER)


def run(target: dict[str, Item], op: tuple[Any, ...]) -> Any:
    name, *args = op
    try:
        if name == "get":
            return target.get(args[0], "none")
        if name == "getitem":
            return target[args[0]]
        if name == "contains":
            return args[0] in target
        if name == "set":
            target[args[0]] = args[1]
            return None
        if name == "pop":
            return target.pop(args[0], "none")
        if name == "del":
            del target[args[0]]
            return None
        if name == "setdefault":
            return target.setdefault(args[0], args[1])
        if name == "values":
            return list(target.values())
        if name == "items":
            return list(target.items())
        if name == "len":
            return len(target)
        if name == "keys":
            return list(target)
        if name == "popitem":
            return target.popitem()
        if name == "copy":
            return dict(target.copy())
        return target == dict(target.items())
    except KeyError:
        return "KeyError"


@given(st.dictionaries(keys, items, max_size=8), operations)
def test_lazy_dict_reads_like_a_dict(start: dict[str, Item], ops: list[tuple[Any, ...]]) -> None:
    plain, lazy = dict(start), lazy_copy(start)
    for op in ops:
        assert run(lazy, op) == run(plain, op), op
    assert lazy == plain and list(lazy.items()) == list(plain.items())


@given(st.dictionaries(keys, items, min_size=1, max_size=8), keys)
def test_only_what_is_read_is_decoded_and_untouched_values_are_written_back_verbatim(
        start: dict[str, Item], read: str) -> None:
    lazy = lazy_copy(start)
    encoded = msgspec.json.encode(lazy)
    lazy.get(read)
    still_raw = {k for k in start if type(dict.__getitem__(lazy, k)) is msgspec.Raw}
    assert still_raw == set(start) - {read}
    assert msgspec.json.encode(lazy) == encoded == msgspec.json.encode(start)


list_operations = st.lists(st.one_of(
    st.tuples(st.just("append"), items), st.tuples(st.just("extend"), st.lists(items, max_size=3)),
    st.tuples(st.just("iadd"), st.lists(items, max_size=3)), st.tuples(st.just("len")),
    st.tuples(st.just("iter")), st.tuples(st.just("reversed")), st.tuples(st.just("index"), st.integers(-9, 9)),
    st.tuples(st.just("pop")), st.tuples(st.just("contains"), items), st.tuples(st.just("filter")),
    st.tuples(st.just("mutate"), st.integers(0, 9)), st.tuples(st.just("eq"))), max_size=30)


def run_list(target: list[Item], op: tuple[Any, ...]) -> Any:
    name, *args = op
    try:
        if name == "append":
            target.append(args[0])
        elif name == "extend":
            target.extend(args[0])
        elif name == "iadd":
            target += args[0]
        elif name == "len":
            return len(target)
        elif name == "iter":
            return [item for item in target]
        elif name == "reversed":
            return list(reversed(target))
        elif name == "index":
            return target[args[0]]
        elif name == "pop":
            return target.pop()
        elif name == "contains":
            return args[0] in target
        elif name == "filter":
            return [item for item in target if item.amount > 0]
        elif name == "mutate" and len(target) > args[0]:
            target[args[0]].amount += 1
        elif name == "eq":
            return target == list(target)
        return None
    except IndexError:
        return "IndexError"


@given(st.lists(items, max_size=8), list_operations)
def test_lazy_list_reads_like_a_list_and_encodes_what_it_holds(start: list[Item], ops: list[tuple[Any, ...]]) -> None:
    plain = list(start)
    lazy = LazyList(msgspec.Raw(msgspec.json.encode(start)), msgspec.json.Decoder(list[Item]))
    encoder = msgspec.json.Encoder()
    for op in ops:
        if op[0] == "append":  # appending leaves the encoded items encoded, and the JSON is still the whole list
            run_list(plain, op)
            run_list(lazy, op)
            assert bytes(lazy.encoded(encoder)) == encoder.encode(plain)
            continue
        assert run_list(lazy, op) == run_list(plain, op), op
    assert bytes(lazy.encoded(encoder)) == encoder.encode(plain)
    other = LazyList(msgspec.Raw(encoder.encode(plain)), msgspec.json.Decoder(list[Item]))
    assert lazy == other and other == lazy and lazy + other == plain + plain
    assert lazy == plain
