"""Turmeric's runtime values: one model shared by the reader, machine, printer and serializer.

Python values stand for themselves where they can (nil is None, booleans, int, float,
str, bytes); everything else is a small slotted class. Collections are persistent: a
captured continuation never sees a later mutation except through a `Ref` or a `Box`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------- positions


class FieldCountError(TypeError):
    """A struct built from Python with the wrong number of fields; the machine turns it
    into the Turmeric `(arity-error name message)` (values.py cannot import errors.py,
    which builds its error structs from the types here)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass(frozen=True, slots=True)
class Pos:
    """A source position: file, 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


# --------------------------------------------------------------------------- atoms


class Symbol:
    """A symbol. Compared by name; the reader attaches the position it was read at."""

    __slots__ = ("name", "pos")

    def __init__(self, name: str, pos: Pos | None = None) -> None:
        self.name = name
        self.pos = pos

    def __eq__(self, other: object) -> bool:
        return other.__class__ is Symbol and other.name == self.name  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("sym", self.name))

    def __repr__(self) -> str:
        return self.name


class Keyword:
    """An interned keyword such as `:name`; identity is equality."""

    __slots__ = ("name", "__weakref__")
    _table: dict[str, Keyword] = {}

    def __new__(cls, name: str) -> Keyword:
        kw = cls._table.get(name)
        if kw is None:
            kw = object.__new__(cls)
            kw.name = name
            cls._table[name] = kw
        return kw

    def __repr__(self) -> str:
        return ":" + self.name

    def __reduce__(self) -> Any:  # pragma: no cover - pickle is never used, copy is
        return (Keyword, (self.name,))


def kw(name: str) -> Keyword:
    return Keyword(name)


def sym(name: str, pos: Pos | None = None) -> Symbol:
    return Symbol(name, pos)


# --------------------------------------------------------------------------- lists


class _Seq:
    """Structural equality and hashing shared by lists and vectors (equal when their items
    are, as in Clojure)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return equal(self, other)

    def __ne__(self, other: object) -> bool:
        return not equal(self, other)

    def __hash__(self) -> int:
        return hash(("seq", tuple(self)))  # type: ignore[arg-type]


class TList(_Seq):
    """A persistent singly linked list; `EMPTY` is the empty list.

    `pos` is set on lists the reader builds so errors can name the form.
    """

    __slots__ = ("head", "tail", "count", "pos")

    def __init__(self, head: Any, tail: TList | None, count: int, pos: Pos | None = None):
        self.head = head
        self.tail = tail
        self.count = count
        self.pos = pos

    def cons(self, x: Any) -> TList:
        return TList(x, self, self.count + 1)

    def __iter__(self) -> Iterator[Any]:
        node = self
        while node.count:
            yield node.head
            node = node.tail  # type: ignore[assignment]

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:  # an empty list is still a value, never falsy by accident
        return True


    def __repr__(self) -> str:
        return "(" + " ".join(map(repr, self)) + ")"

    def nth(self, i: int) -> Any:
        node = self
        while i > 0 and node.count:
            node = node.tail  # type: ignore[assignment]
            i -= 1
        if not node.count:
            raise IndexError(i)
        return node.head


EMPTY = TList(None, None, 0)


def tlist(items: Iterable[Any] = (), pos: Pos | None = None) -> TList:
    """Build a list from a Python iterable."""
    seq = items if isinstance(items, (list, tuple)) else list(items)
    out = EMPTY
    n = 0
    for x in reversed(seq):
        n += 1
        out = TList(x, out, n)
    if pos is not None and n:
        out = TList(out.head, out.tail, out.count, pos)
    return out


# --------------------------------------------------------------------------- vectors


class TVector(_Seq):
    """A persistent vector over a Python list, with amortised O(1) `conj`.

    Several vectors may share one backing list: each sees only its first `n` items, and
    `conj` appends in place only when nobody has appended past `n` yet (like Go slices).
    """

    __slots__ = ("items", "n")

    def __init__(self, items: list[Any], n: int | None = None) -> None:
        self.items = items
        self.n = len(items) if n is None else n

    def conj(self, x: Any) -> TVector:
        items = self.items
        if len(items) == self.n:
            items.append(x)
            return TVector(items, self.n + 1)
        new = items[: self.n]
        new.append(x)
        return TVector(new, self.n + 1)

    def as_list(self) -> list[Any]:
        """The items as a fresh Python list (safe to mutate)."""
        return self.items[: self.n]

    def __iter__(self) -> Iterator[Any]:
        items = self.items
        for i in range(self.n):
            yield items[i]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        if i < 0 or i >= self.n:
            raise IndexError(i)
        return self.items[i]


    def __repr__(self) -> str:
        return "[" + " ".join(map(repr, self)) + "]"


def tvector(items: Iterable[Any] = ()) -> TVector:
    return TVector(list(items))


# --------------------------------------------------------------------------- maps


class BoolKey:
    """`#t` or `#f` as a map key. A Python dict takes True for 1 (and False for 0), but in
    Turmeric `(= 1 #t)` is false, so maps store boolean keys as these two objects."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "#t" if self.value else "#f"


TRUE_KEY = BoolKey(True)
FALSE_KEY = BoolKey(False)


def mkey(k: Any) -> Any:
    """A Turmeric value as a dict key."""
    if k is True:
        return TRUE_KEY
    if k is False:
        return FALSE_KEY
    return k


def ukey(k: Any) -> Any:
    """A dict key back as the Turmeric value."""
    return k.value if k.__class__ is BoolKey else k


class TMap:
    """A persistent map (copy on write over a dict, insertion ordered).

    `d` holds keys as `mkey` makes them: read it through `get`/`items`/`keys`, or `ukey`.
    """

    __slots__ = ("d", "pos")

    def __init__(self, d: dict[Any, Any] | None = None, pos: Pos | None = None) -> None:
        self.d = {} if d is None else d
        self.pos = pos

    @staticmethod
    def of(pairs: Iterable[tuple[Any, Any]], pos: Pos | None = None) -> TMap:
        """A map from (key, value) pairs with any keys, booleans included."""
        return TMap({mkey(k): v for k, v in pairs}, pos)

    def assoc(self, k: Any, v: Any) -> TMap:
        d = self.d.copy()
        d[mkey(k)] = v
        return TMap(d)

    def dissoc(self, k: Any) -> TMap:
        k = mkey(k)
        if k not in self.d:
            return self
        d = self.d.copy()
        del d[k]
        return TMap(d)

    def get(self, k: Any, default: Any = None) -> Any:
        return self.d.get(mkey(k), default)

    def contains(self, k: Any) -> bool:
        return mkey(k) in self.d

    def items(self) -> Iterator[tuple[Any, Any]]:
        for k, v in self.d.items():
            yield (k.value if k.__class__ is BoolKey else k), v

    def keys(self) -> list[Any]:
        return [ukey(k) for k in self.d]

    def __len__(self) -> int:
        return len(self.d)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.keys())

    def __eq__(self, other: object) -> bool:
        return equal(self, other)

    def __ne__(self, other: object) -> bool:
        return not equal(self, other)

    def __hash__(self) -> int:
        return hash(("map", frozenset(self.d.items())))

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r} {v!r}" for k, v in self.items()) + "}"


# --------------------------------------------------------------------------- structs


class StructType:
    """A struct type: its name, field names and the module that defined it."""

    __slots__ = ("name", "fields", "module", "field_index", "__weakref__")

    def __init__(self, name: str, fields: tuple[str, ...], module: str) -> None:
        self.name = name
        self.fields = fields
        self.module = module
        self.field_index = {f: i for i, f in enumerate(fields)}

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"

    def __call__(self, *vals: Any) -> Struct:
        if len(vals) != len(self.fields):
            raise FieldCountError(self.name, f"{self.name} takes {len(self.fields)} fields, got {len(vals)}")
        return Struct(self, vals)

    def __repr__(self) -> str:
        return f"#<struct-type {self.name}>"


class Struct:
    """An instance of a `StructType`; immutable."""

    __slots__ = ("type", "vals")

    def __init__(self, type: StructType, vals: tuple[Any, ...]) -> None:
        self.type = type
        self.vals = vals

    def field(self, name: str) -> Any:
        i = self.type.field_index.get(name)
        if i is None:
            raise KeyError(name)
        return self.vals[i]

    def __eq__(self, other: object) -> bool:
        return equal(self, other)

    def __ne__(self, other: object) -> bool:
        return not equal(self, other)

    def __hash__(self) -> int:
        return hash((self.type.name, self.vals))

    def __repr__(self) -> str:
        if not self.vals:
            return f"({self.type.name})"
        return f"({self.type.name} " + " ".join(map(repr, self.vals)) + ")"


# --------------------------------------------------------------------------- mutable cells


class Ref:
    """A mutable reference cell made by `(ref v)`."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"#<ref {self.value!r}>"


class Box:
    """The location of a local variable that some code `set!`s.

    Boxes give Scheme's semantics to multi-shot continuations: a variable bound before a
    capture is one location shared by every resumption.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.value = value


class FileHandle:
    """An open file. Not serializable until a program gives it an instance."""

    __slots__ = ("path", "mode", "file")

    def __init__(self, path: str, mode: str, file: Any) -> None:
        self.path = path
        self.mode = mode
        self.file = file

    def __repr__(self) -> str:
        return f"#<file-handle {self.path}>"


# --------------------------------------------------------------------------- equality


def equal(a: Any, b: Any) -> bool:
    """Turmeric `=`: structural equality; booleans are never numbers; lists equal vectors
    with the same items, as in Clojure."""
    if a is b:
        return True
    ca = a.__class__
    cb = b.__class__
    if ca is bool or cb is bool:
        return False
    if ca in _SEQS and cb in _SEQS:
        if len(a) != len(b):
            return False
        return all(equal(x, y) for x, y in zip(a, b))
    if ca is TMap and cb is TMap:
        if len(a.d) != len(b.d):
            return False
        for k, v in a.d.items():  # both dicts hold keys made by mkey
            if k not in b.d or not equal(v, b.d[k]):
                return False
        return True
    if ca is Struct and cb is Struct:
        return a.type is b.type and len(a.vals) == len(b.vals) and all(
            equal(x, y) for x, y in zip(a.vals, b.vals)
        )
    if ca in _SEQS or cb in _SEQS or ca is TMap or cb is TMap or ca is Struct or cb is Struct:
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


_SEQS = (TList, TVector)


def truthy(v: Any) -> bool:
    """Only `nil` and `#f` are false."""
    return v is not None and v is not False
