"""A dict and a list whose contents stay encoded until first read, so a customer with a long history loads fast.

A snapshot of an Account with 100k events holds ~70k invoices, payments, orders, holds and idempotency
records; decoding them all costs far more than a command ever reads (it touches a handful). The snapshot
decoder therefore leaves each value as the :class:`msgspec.Raw` JSON it was stored as, and this dict decodes
a value the first time it is read. Encoding a :class:`LazyDict` as JSON writes untouched values back verbatim.

Every way of reading a value goes through a decoding method here (``d[k]``, ``get``, ``values``, ``items``,
``pop``, ``setdefault``, ``popitem``, ``copy``, ``==``, copies and pickles); keys, ``len`` and ``in`` need no
decoding. Copying one with C-level tools (``dict(d)``, ``{**d}``) would see encoded values: the state code
does not. :class:`LazyList` keeps its older items as one encoded array: appending needs no decoding, any
read decodes them all.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Mapping, ValuesView
from typing import Generic, SupportsIndex, TypeVar, overload

import msgspec

V = TypeVar("V")
T = TypeVar("T")
_MISSING = object()


class LazyDict(dict[str, V], Generic[V]):
    """``dict[str, V]`` whose values may still be ``msgspec.Raw`` JSON, decoded by ``decoder`` on first read."""

    __slots__ = ("_decoder", "_encoded")
    __hash__ = None

    def __init__(self, encoded: Mapping[str, V | msgspec.Raw], decoder: msgspec.json.Decoder[V]) -> None:
        super().__init__(encoded)  # type: ignore[arg-type]  # the values stay encoded until read
        self._decoder = decoder
        self._encoded = len(encoded)  # values possibly still encoded (an upper bound)

    def _decoded(self, key: str, value: V | msgspec.Raw) -> V:
        if isinstance(value, msgspec.Raw):
            decoded = self._decoder.decode(value)
            dict.__setitem__(self, key, decoded)
            self._encoded -= 1
            return decoded
        return value

    def decode_all(self) -> None:
        """Decode every value still encoded."""
        if self._encoded > 0:
            for key, value in dict.items(self):
                if type(value) is msgspec.Raw:
                    dict.__setitem__(self, key, self._decoder.decode(value))  # type: ignore[arg-type]
            self._encoded = 0

    def __getitem__(self, key: str) -> V:
        return self._decoded(key, dict.__getitem__(self, key))

    @overload
    def get(self, key: str, default: None = None) -> V | None: ...
    @overload
    def get(self, key: str, default: V) -> V: ...
    @overload
    def get(self, key: str, default: T) -> V | T: ...

    def get(self, key: str, default: object = None) -> object:
        """The value of ``key`` (decoded), or ``default``."""
        return self._decoded(key, dict.__getitem__(self, key)) if key in self else default

    def values(self) -> ValuesView[V]:  # type: ignore[override]
        """Every value, decoded."""
        self.decode_all()
        return dict.values(self)

    def items(self) -> ItemsView[str, V]:  # type: ignore[override]
        """Every (key, value), decoded."""
        self.decode_all()
        return dict.items(self)

    @overload
    def pop(self, key: str) -> V: ...
    @overload
    def pop(self, key: str, default: V) -> V: ...
    @overload
    def pop(self, key: str, default: T) -> V | T: ...

    def pop(self, key: str, default: object = _MISSING) -> object:
        """Remove ``key`` and return its value (decoded)."""
        if key in self:
            value = self[key]
            dict.pop(self, key)
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def setdefault(self, key: str, default: V) -> V:
        """The value of ``key`` (decoded), set to ``default`` first when missing."""
        return self[key] if key in self else dict.setdefault(self, key, default)

    def popitem(self) -> tuple[str, V]:
        """Remove and return the last (key, value), decoded."""
        if not self:
            raise KeyError("popitem(): dictionary is empty")
        key = next(reversed(self))
        return key, self.pop(key)

    def copy(self) -> dict[str, V]:
        """A plain dict of the decoded values."""
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        self.decode_all()
        if isinstance(other, LazyDict):
            other.decode_all()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        self.decode_all()
        return dict.__repr__(self)

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[type[dict[str, V]], tuple[dict[str, V]]]:
        return dict, (dict(self.items()),)


def _decoding(name: str) -> Callable[..., object]:
    """A list method that decodes the encoded items first."""
    method = getattr(list, name)

    def decoded_first(self: LazyList[object], *args: object) -> object:
        self.decode_all()
        for arg in args:  # list.__eq__ and list.__add__ read the other list's items directly
            if isinstance(arg, LazyList):
                arg.decode_all()
        return method(self, *args)

    decoded_first.__name__ = name
    return decoded_first


class LazyList(list[V], Generic[V]):
    """``list[V]`` whose first items may still be one encoded JSON array (``msgspec.Raw``), decoded on the
    first read; ``append`` and ``extend`` add after them without decoding."""

    __slots__ = ("_decoder", "_encoded")

    def __init__(self, encoded: msgspec.Raw, decoder: msgspec.json.Decoder[list[V]]) -> None:
        super().__init__()
        self._decoder = decoder
        self._encoded: msgspec.Raw | None = encoded

    def decode_all(self) -> None:
        """Decode the encoded items, in front of any appended since."""
        if self._encoded is not None:
            items = self._decoder.decode(self._encoded)
            self._encoded = None
            list.__setitem__(self, slice(0, 0), items)

    def encoded(self, encoder: msgspec.json.Encoder) -> msgspec.Raw:
        """The whole list as JSON, the encoded items copied verbatim (nothing is decoded)."""
        appended = [encoder.encode(item) for item in list.__iter__(self)]
        if self._encoded is None:
            return msgspec.Raw(b"[" + b",".join(appended) + b"]")
        inner = bytes(self._encoded)[1:-1].strip()
        return msgspec.Raw(b"[" + b",".join(([inner] if inner else []) + appended) + b"]")

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[type[list[V]], tuple[list[V]]]:
        self.decode_all()
        return list, (list(list.__iter__(self)),)


#: Every list method that reads or reorders items decodes first; append, extend and += do not need to.
for _name in ("__iter__", "__reversed__", "__len__", "__getitem__", "__setitem__", "__delitem__", "__contains__",
              "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__repr__", "__add__", "__mul__",
              "__rmul__", "__imul__", "index", "count", "copy", "pop", "remove", "insert", "sort", "reverse",
              "clear"):
    setattr(LazyList, _name, _decoding(_name))
