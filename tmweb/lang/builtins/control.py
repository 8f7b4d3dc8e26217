"""Built-ins that need the machine (continuations, throw, apply) and the `%` helpers the
expander's output calls (pattern tests, quasiquote)."""

from __future__ import annotations

from typing import Any

from .. import errors, machine
from ..code import MACHINE
from ..values import EMPTY, Struct, StructType, TList, TMap, TVector, tlist
from .colls import seq_items
from .registry import builtin

for _name, _fn, _lo, _hi in (
    ("%shift", machine.shift, 1, 1),
    ("cloneable-reset", machine.reset, 1, 1),
    ("resume", machine.resume, 1, 2),
    ("continue", machine.resume, 1, 2),
    ("%with-suspended", machine.with_suspended, 2, None),
    ("%try", machine.try_, 2, 2),
    ("try-with", machine.try_with, 2, 2),
    ("throw", machine.throw, 1, 1),
    ("apply", machine.apply_, 1, None),
):
    builtin(_name, MACHINE, _lo, _hi)(_fn)


@builtin("%concat")
def concat_lists(*parts: Any) -> TList:
    """Quasiquote's splice: every part is a sequence; the result is a list."""
    out: list[Any] = []
    for p in parts:
        if p is None:
            continue
        out.extend(seq_items("~@", p))
    return tlist(out)


@builtin("%vec")
def to_vector(xs: Any) -> TVector:
    return TVector(list(xs))


@builtin("%struct-of?")
def struct_of(x: Any, t: Any, n: Any = None) -> bool:
    """Pattern test `(name p...)`: is `x` a `t`, and does the pattern have its arity?"""
    if t.__class__ is not StructType:
        from ..printer import pr_str

        raise errors.type_error(f"match: {pr_str(t)} is not a struct type, so it cannot be a pattern")
    if n is not None and n != len(t.fields):
        raise errors.type_error(
            f"match: pattern ({t.name} ...) has {n} field{'s' if n != 1 else ''} "
            f"but {t.name} has {len(t.fields)}"
        )
    return x.__class__ is Struct and x.type is t


@builtin("%field-at")
def field_at(x: Struct, i: int) -> Any:
    return x.vals[i]


@builtin("%seq-len?")
def seq_len(x: Any, n: int, at_least: bool) -> bool:
    if x.__class__ not in (TList, TVector):
        return False
    return len(x) >= n if at_least else len(x) == n


@builtin("%nth")
def nth_unchecked(x: Any, i: int) -> Any:
    return x.nth(i) if x.__class__ is TList else x.items[i]


@builtin("%drop")
def drop_list(x: Any, n: int) -> TList:
    if x.__class__ is TList:
        for _ in range(n):
            x = x.tail
        return x
    return tlist(x.items[n : x.n])


@builtin("%seq")
def to_seq(x: Any) -> TList:
    """Any collection as a list, once, so Turmeric loops walk it with first/rest in O(1)."""
    if x.__class__ is TList:
        return x
    if x is None:
        return EMPTY
    return tlist(seq_items("seq", x))


@builtin("%map-entries")
def map_entries(m: TMap) -> TList:
    return tlist(TVector([k, v]) for k, v in m.items())


@builtin("%sort-by-keys")
def sort_by_keys(keys: Any, items: Any) -> TList:
    """`sort-by` after its key function ran in Turmeric: a stable sort on those keys."""
    import functools

    from .numbers import compare_values

    pairs = list(zip(list(keys), list(items)))
    cmp = functools.cmp_to_key(lambda a, b: compare_values("sort-by", a[0], b[0]))
    return tlist(p[1] for p in sorted(pairs, key=cmp))


@builtin("%collection?")
def is_collection(x: Any) -> bool:
    """Used by `for-each` to accept both (for-each f coll) and (for-each coll f)."""
    return x is None or x.__class__ in (TList, TVector, TMap, str)
