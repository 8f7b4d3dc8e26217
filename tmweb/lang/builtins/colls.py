"""Collection built-ins over persistent lists, vectors, maps, structs and refs.

Nothing here mutates an argument: a captured continuation may still hold the old value.
Sequence functions accept lists, vectors, strings (as one-character strings), bytes (as
ints), maps (as `[k v]` vectors) and nil (as empty), and return lists unless noted.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

from .. import errors
from ..code import Builtin, Closure
from ..values import (
    EMPTY,
    Keyword,
    Ref,
    Struct,
    StructType,
    TList,
    TMap,
    TVector,
    equal,
    tlist,
    ukey,
)
from .numbers import MISSING, compare_values, expected, integer, show, type_name
from .registry import builtin

#: The option structs `(Some x)` and `(None)`, registered as globals by the core module.
SOME = StructType("Some", ("value",), "core")
NONE_T = StructType("None", (), "core")

_SEQ_WORDS = "a list, vector, map, string or nil"


def seq_items(fname: str, coll: Any) -> Sequence[Any]:
    """The items of a seqable value as something sized and indexable-by-iteration."""
    c = coll.__class__
    if c is TList or c is TVector:
        return coll
    if coll is None:
        return ()
    if c is TMap:
        return [TVector([k, v]) for k, v in coll.items()]
    if c is str:
        return list(coll)
    if c is bytes:
        return list(coll)
    raise expected(fname, _SEQ_WORDS, coll)


def _index_error(fname: str, i: int, coll: Any) -> errors.TurmericError:
    return errors.err(
        errors.INDEX_ERROR,
        f"{fname}: index {i} out of range for a {type_name(coll)} of {len(coll)} items",
    )


# --------------------------------------------------------------------------- constructors


@builtin("list")
def list_(*xs: Any) -> TList:
    return tlist(xs)


@builtin("vector")
def vector(*xs: Any) -> TVector:
    return TVector(list(xs))


@builtin("hash-map")
def hash_map(*kvs: Any) -> TMap:
    """A map from alternating keys and values."""
    if len(kvs) % 2:
        raise errors.user_error(f"hash-map: expected key/value pairs, got {len(kvs)} arguments")
    return TMap.of((kvs[i], kvs[i + 1]) for i in range(0, len(kvs), 2))


@builtin("vec")
def vec(coll: Any) -> TVector:
    if coll.__class__ is TVector:
        return coll
    return TVector(list(seq_items("vec", coll)))


# --------------------------------------------------------------------------- lookup


def _lookup(fname: str, coll: Any, k: Any, default: Any) -> Any:
    """`get` on one level: maps by key, vectors/lists/strings by index, structs by field."""
    c = coll.__class__
    if c is TMap:
        return coll.get(k, default)
    if coll is None:
        return default
    if c is Struct:
        if k.__class__ is Keyword:
            i = coll.type.field_index.get(k.name)
            if i is not None:
                return coll.vals[i]
        return default
    if c is TVector or c is str or c is TList:
        if k.__class__ is int and 0 <= k < len(coll):
            return coll.nth(k) if c is TList else coll[k]
        return default
    raise expected(fname, "a map, vector, struct or nil", coll)


@builtin("get")
def get(coll: Any, k: Any, default: Any = None) -> Any:
    """`(get m k)`, `(get m k default)`; also `(get struct :field)` and `(get vec i)`."""
    return _lookup("get", coll, k, default)


@builtin("get-in")
def get_in(coll: Any, ks: Any, default: Any = None) -> Any:
    """Follow the keys in `ks` down nested collections; `default` if any step is missing."""
    for k in seq_items("get-in", ks):
        coll = _lookup("get-in", coll, k, MISSING)
        if coll is MISSING:
            return default
    return coll


@builtin("contains?")
def contains(coll: Any, k: Any) -> bool:
    """Whether a map has key `k`, a vector index `k`, or a struct field named `k`."""
    c = coll.__class__
    if c is TMap:
        return coll.contains(k)
    if coll is None:
        return False
    if c is TVector or c is str:
        return k.__class__ is int and 0 <= k < len(coll)
    if c is Struct:
        return k.__class__ is Keyword and k.name in coll.type.field_index
    raise expected("contains?", "a map, vector, struct or nil", coll)


# --------------------------------------------------------------------------- update


def _assoc1(fname: str, coll: Any, k: Any, v: Any) -> Any:
    c = coll.__class__
    if c is TMap:
        return coll.assoc(k, v)
    if coll is None:
        return TMap.of([(k, v)])
    if c is TVector:
        if k.__class__ is not int:
            raise expected(fname, "an integer index for a vector", k)
        n = len(coll)
        if k == n:
            return coll.conj(v)
        if not 0 <= k < n:
            raise _index_error(fname, k, coll)
        items = coll.as_list()
        items[k] = v
        return TVector(items)
    if c is Struct:
        i = coll.type.field_index.get(k.name) if k.__class__ is Keyword else None
        if i is None:
            raise errors.type_error(f"{fname}: {coll.type.name} has no field {show(k)}")
        vals = list(coll.vals)
        vals[i] = v
        return Struct(coll.type, tuple(vals))
    raise expected(fname, "a map, vector, struct or nil", coll)


@builtin("assoc")
def assoc(coll: Any, k: Any, v: Any, *kvs: Any) -> Any:
    """A copy of `coll` with `k` set to `v` (and any further key/value pairs)."""
    if len(kvs) % 2:
        raise errors.user_error("assoc: expected key/value pairs after the collection")
    coll = _assoc1("assoc", coll, k, v)
    for i in range(0, len(kvs), 2):
        coll = _assoc1("assoc", coll, kvs[i], kvs[i + 1])
    return coll


@builtin("assoc-in")
def assoc_in(coll: Any, ks: Any, v: Any) -> Any:
    """Set a value at a key path, creating maps for missing levels."""
    path = list(seq_items("assoc-in", ks))
    if not path:
        raise errors.user_error("assoc-in: the key path is empty")
    inner = _lookup("assoc-in", coll, path[0], None)
    if len(path) > 1:
        v = assoc_in(inner, tlist(path[1:]), v)
    return _assoc1("assoc-in", coll, path[0], v)


@builtin("dissoc")
def dissoc(coll: Any, *ks: Any) -> Any:
    """A copy of map `coll` without the keys `ks`."""
    if coll is None:
        return None
    if coll.__class__ is not TMap:
        raise expected("dissoc", "a map or nil", coll)
    for k in ks:
        coll = coll.dissoc(k)
    return coll


def _map_entry(fname: str, x: Any) -> tuple[Any, Any]:
    if x.__class__ in (TVector, TList) and len(x) == 2:
        k, v = x
        return k, v
    raise expected(fname, "a [key value] pair", x)


def _conj1(fname: str, coll: Any, x: Any) -> Any:
    c = coll.__class__
    if c is TVector:
        return coll.conj(x)
    if c is TList:
        return coll.cons(x)
    if coll is None:
        return EMPTY.cons(x)
    if c is TMap:
        if x.__class__ is TMap:
            d = coll.d.copy()
            d.update(x.d)
            return TMap(d)
        if x is None:
            return coll
        k, v = _map_entry(fname, x)
        return coll.assoc(k, v)
    raise expected(fname, "a list, vector, map or nil", coll)


@builtin("conj")
def conj(coll: Any, *xs: Any) -> Any:
    """Add items where they are cheap: end of a vector, front of a list, pairs to a map."""
    for x in xs:
        coll = _conj1("conj", coll, x)
    return coll


@builtin("into")
def into(to: Any, frm: Any) -> Any:
    """`conj` every item of `frm` onto `to`."""
    for x in seq_items("into", frm):
        to = _conj1("into", to, x)
    return to


@builtin("cons")
def cons(x: Any, coll: Any) -> TList:
    """A list of `x` followed by the items of `coll`."""
    if coll.__class__ is TList:
        return coll.cons(x)
    return tlist([x, *seq_items("cons", coll)])


@builtin("merge")
def merge(*maps: Any) -> Any:
    """Maps merged left to right (later keys win); nil arguments are skipped, as in Clojure."""
    out: dict[Any, Any] | None = None
    for m in maps:
        if m is None:
            continue
        if m.__class__ is not TMap:
            raise expected("merge", "a map or nil", m)
        if out is None:
            out = m.d.copy()
        else:
            out.update(m.d)
    return None if out is None else TMap(out)


# --------------------------------------------------------------------------- sequences


@builtin("first")
def first(coll: Any) -> Any:
    c = coll.__class__
    if c is TList:
        return coll.head if coll.count else None
    if c is TVector:
        return coll[0] if len(coll) else None
    items = seq_items("first", coll)
    return items[0] if items else None


def _item(items: Sequence[Any], i: int, default: Any = None) -> Any:
    """Item `i` of `seq_items` output, or `default` when out of range."""
    if not 0 <= i < len(items):
        return default
    return items.nth(i) if items.__class__ is TList else items[i]  # type: ignore[attr-defined]


@builtin("second")
def second(coll: Any) -> Any:
    return _item(seq_items("second", coll), 1)


@builtin("last")
def last(coll: Any) -> Any:
    items = seq_items("last", coll)
    return _item(items, len(items) - 1)


@builtin("rest")
def rest(coll: Any) -> TList:
    """Everything after the first item, as a list (`(rest nil)` is `()`)."""
    if coll.__class__ is TList:
        return coll.tail if coll.count else EMPTY  # type: ignore[return-value]
    items = seq_items("rest", coll)
    return tlist(list(items)[1:])


@builtin("nth")
def nth(coll: Any, i: Any, default: Any = MISSING) -> Any:
    """Item `i` (from 0); an index-error when out of range unless a default is given."""
    x = _item(seq_items("nth", coll), integer("nth", i), MISSING)
    if x is not MISSING:
        return x
    if default is not MISSING:
        return default
    raise _index_error("nth", i, coll if coll is not None else EMPTY)


def _count(fname: str, coll: Any) -> int:
    c = coll.__class__
    if c in (TList, TVector, TMap, str, bytes):
        return len(coll)
    if coll is None:
        return 0
    raise expected(fname, _SEQ_WORDS, coll)


@builtin("count")
def count(coll: Any) -> int:
    return _count("count", coll)


@builtin("empty?")
def is_empty(coll: Any) -> bool:
    return _count("empty?", coll) == 0


def _map_dict(fname: str, m: Any) -> dict[Any, Any]:
    if m is None:
        return {}
    if m.__class__ is not TMap:
        raise expected(fname, "a map or nil", m)
    return m.d


@builtin("keys")
def keys(m: Any) -> TList:
    return tlist([ukey(k) for k in _map_dict("keys", m)])


@builtin("vals")
def vals(m: Any) -> TList:
    return tlist(list(_map_dict("vals", m).values()))


@builtin("range")
def range_(a: Any, b: Any = MISSING, step: Any = MISSING) -> TList:
    """`(range end)`, `(range start end)`, `(range start end step)` as a list of numbers."""
    start, end = (0, a) if b is MISSING else (a, b)
    step = 1 if step is MISSING else step
    for x in (start, end, step):
        if x.__class__ is not int and x.__class__ is not float:
            raise expected("range", "a number", x)
    if step == 0:
        raise errors.user_error("range: step must not be zero")
    if start.__class__ is int and end.__class__ is int and step.__class__ is int:
        return tlist(range(start, end, step))
    out = []
    i = 0
    x = start
    while (step > 0 and x < end) or (step < 0 and x > end):
        out.append(x)
        i += 1
        x = start + i * step
    return tlist(out)


@builtin("concat")
def concat(*colls: Any) -> TList:
    out: list[Any] = []
    for c in colls:
        out.extend(seq_items("concat", c))
    return tlist(out)


@builtin("reverse")
def reverse(coll: Any) -> TList:
    out = EMPTY
    for x in seq_items("reverse", coll):
        out = out.cons(x)
    return out


@builtin("sort")
def sort(coll: Any) -> TList:
    """Ascending order: numbers, strings, keywords by name; mixing types is a type-error."""
    key = functools.cmp_to_key(lambda a, b: compare_values("sort", a, b))
    return tlist(sorted(seq_items("sort", coll), key=key))


@builtin("take")
def take(n: Any, coll: Any) -> TList:
    """The first `n` items (fewer if there are not that many)."""
    n = max(integer("take", n), 0)
    return tlist(itertools.islice(seq_items("take", coll), n))


@builtin("drop")
def drop(n: Any, coll: Any) -> TList:
    """All but the first `n` items; a list shares its tail rather than copying."""
    n = max(integer("drop", n), 0)
    items = seq_items("drop", coll)
    if items.__class__ is TList:
        node: Any = items
        while n > 0 and node.count:
            node, n = node.tail, n - 1
        return node
    return tlist(itertools.islice(items, n, None))


@builtin("distinct")
def distinct(coll: Any) -> TList:
    """Items in first-seen order with `=` duplicates removed."""
    seen: set[Any] = set()
    slow: list[Any] = []  # values Python cannot hash, compared one by one
    out: list[Any] = []
    for x in seq_items("distinct", coll):
        key = ("bool", x) if x.__class__ is bool else x  # True must not collide with 1
        try:
            if key in seen:
                continue
            seen.add(key)
        except TypeError:
            if any(equal(x, y) for y in slow):
                continue
            slow.append(x)
        out.append(x)
    return tlist(out)


# --------------------------------------------------------------------------- predicates


def _class_pred(name: str, classes: tuple[type, ...]) -> None:
    """Register `name` as a test of whether a value's exact class is one of `classes`."""

    def pred(x: Any) -> bool:
        return x.__class__ in classes

    pred.__name__ = pred.__qualname__ = "is_" + name.rstrip("?").replace("-", "_")
    pred.__doc__ = f"Whether the argument is a {' or '.join(c.__name__ for c in classes)}."
    builtin(name)(pred)


for _name, _classes in (
    ("list?", (TList,)),
    ("seq?", (TList,)),  # lists only, as in Clojure
    ("vector?", (TVector,)),
    ("map?", (TMap,)),
    ("coll?", (TList, TVector, TMap)),
    ("nil?", (type(None),)),
    ("bytes?", (bytes,)),
    ("ref?", (Ref,)),
    ("fn?", (Closure, Builtin, StructType)),  # a struct type is its constructor
):
    _class_pred(_name, _classes)


@builtin("identical?")
def identical(a: Any, b: Any) -> bool:
    return a is b


@builtin("some?")
def is_some(x: Any) -> bool:
    """True for the option `(Some x)` (not Clojure's not-nil test)."""
    return x.__class__ is Struct and x.type is SOME


@builtin("none?")
def is_none(x: Any) -> bool:
    """True for the option `(None)`."""
    return x.__class__ is Struct and x.type is NONE_T


# --------------------------------------------------------------------------- refs


@builtin("ref")
def ref(v: Any) -> Ref:
    return Ref(v)


@builtin("deref")
def deref(r: Any) -> Any:
    if r.__class__ is not Ref:
        raise expected("deref", "a ref", r)
    return r.value


@builtin("ref-set!")
def ref_set(r: Any, v: Any) -> Any:
    """Store `v` in the ref and return it."""
    if r.__class__ is not Ref:
        raise expected("ref-set!", "a ref", r)
    r.value = v
    return v
