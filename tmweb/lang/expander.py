"""Derived forms: each rewrites one form into simpler ones, keeping its position.

The compiler knows only the core forms (quote if do def fn let set! loop recur and a few
`%` forms); everything else a user writes - `defn`, `when`, `cond`, `match`, `try`,
`struct`, quasiquote... - is rewritten here first. One function per form, each checking
the shape it accepts and naming the position when the shape is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import syntax_error
from .gensyms import next_number
from .values import EMPTY, Keyword, Pos, Symbol, TList, TMap, TVector, tlist

Expander = Callable[[TList], Any]
DERIVED: dict[str, Expander] = {}


def derived(*names: str) -> Callable[[Expander], Expander]:
    def deco(fn: Expander) -> Expander:
        for n in names:
            DERIVED[n] = fn
        return fn

    return deco


def sym(name: str, pos: Pos | None = None) -> Symbol:
    """The symbol `name` at `pos` (expansions carry the position of the form they replace)."""
    return Symbol(name, pos)


def lst(pos: Pos | None, *items: Any) -> TList:
    """The list form `(items...)` at `pos`."""
    return tlist(items, pos)


def gensym(prefix: str = "g") -> Symbol:
    """A local name no user symbol can equal (`%` prefix), numbered per compiling module."""
    return Symbol(f"%{prefix}{next_number()}")


def head_name(form: Any) -> str | None:
    if form.__class__ is TList and form.count and form.head.__class__ is Symbol:
        return form.head.name
    return None


def items(form: TList) -> list[Any]:
    return list(form)


def strip_types(xs: list[Any]) -> list[Any]:
    """Drop `: type` annotations from a parameter or binding list."""
    out = []
    i = 0
    while i < len(xs):
        x = xs[i]
        if x.__class__ is Symbol and x.name == ":":
            i += 2
            continue
        out.append(x)
        i += 1
    return out


def _need(cond: bool, msg: str, form: Any) -> None:
    if not cond:
        raise syntax_error(msg, getattr(form, "pos", None))


def _body_after_params(xs: list[Any], i: int) -> list[Any]:
    """Skip a `: return-type` annotation after a parameter vector."""
    if i < len(xs) and xs[i].__class__ is Symbol and xs[i].name == ":":
        return xs[i + 2 :]
    return xs[i:]


# --------------------------------------------------------------------------- definitions


@derived("defn", "defn-")
def _defn(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 3 and xs[1].__class__ is Symbol, f"({xs[0]} name [params] body...) expected", form)
    name = xs[1]
    i = 2
    if i < len(xs) and isinstance(xs[i], str) and i + 1 < len(xs):
        i += 1  # docstring
    if i < len(xs) and xs[i].__class__ is TMap:
        i += 1  # attribute map
    _need(
        i < len(xs) and xs[i].__class__ is TVector,
        f"{xs[0]} {name.name}: expected a parameter vector like [x y]",
        form,
    )
    params = xs[i]
    body = _body_after_params(xs, i + 1)
    return lst(form.pos, sym("def", form.pos), name, lst(form.pos, sym("fn", form.pos), params, *body))


@derived("struct")
def _struct(form: TList) -> Any:
    xs = items(form)
    _need(
        len(xs) == 3 and xs[1].__class__ is Symbol and xs[2].__class__ is TVector,
        "(struct name [field : type ...]) expected",
        form,
    )
    name = xs[1]
    fields = strip_types(list(xs[2]))
    for f in fields:
        _need(f.__class__ is Symbol, f"struct {name.name}: field names must be symbols", form)
    p = form.pos
    x = gensym("x")
    return lst(
        p,
        sym("do", p),
        lst(p, sym("def", p), name, lst(p, sym("%struct-type", p), name, TVector(fields))),
        lst(
            p,
            sym("def", p),
            sym(name.name + "?", p),
            lst(p, sym("fn", p), TVector([x]), lst(p, sym("%struct-of?", p), x, name)),
        ),
        lst(p, sym("quote", p), name),
    )


@derived("defclass")
def _defclass(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 3 and xs[1].__class__ is Symbol, "(defclass Name [a] (method [x : a]) ...) expected", form)
    sigs = [x for x in xs[2:] if x.__class__ is TList]
    methods = []
    for s in sigs:
        _need(s.count and s.head.__class__ is Symbol, "defclass: each method is (name [params])", s)
        methods.append(s.head)
    return lst(form.pos, sym("%defclass", form.pos), xs[1], TVector(methods))


@derived("instance")
def _instance(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 3 and xs[1].__class__ is Symbol, "(instance Class type (method [x] body) ...) expected", form)
    cls, typ = xs[1], xs[2]
    if typ.__class__ is TList:  # (Pair a b): a parameterized type, named by its head
        _need(typ.count and typ.head.__class__ is Symbol, "instance: bad type", form)
        typ = typ.head
    rest = xs[3:]
    if rest and rest[0].__class__ is TVector:  # constraints [Serializable a, ...]: accepted
        rest = rest[1:]
    impls: list[Any] = []
    for m in rest:
        if m.__class__ is Symbol and m.name == "...":
            continue  # `(instance Serializable int64 ...)`: provided by the runtime
        _need(
            m.__class__ is TList and m.count >= 2 and m.head.__class__ is Symbol,
            "instance: each method is (name [params] body...)",
            m,
        )
        mx = items(m)
        _need(mx[1].__class__ is TVector, f"instance: method {mx[0].name} needs a parameter vector", m)
        impls.append(mx[0])
        impls.append(lst(m.pos, sym("fn", m.pos), mx[1], *_body_after_params(mx, 2)))
    if not impls:  # only `...`: a declaration of an instance the runtime provides
        return None
    return lst(form.pos, sym("%instance", form.pos), cls, typ, *impls)


# --------------------------------------------------------------------------- control


@derived("when")
def _when(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 2, "(when test body...) expected", form)
    return lst(form.pos, sym("if", form.pos), xs[1], lst(form.pos, sym("do", form.pos), *xs[2:]), None)


@derived("unless", "when-not")
def _unless(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 2, f"({xs[0]} test body...) expected", form)
    return lst(form.pos, sym("if", form.pos), xs[1], None, lst(form.pos, sym("do", form.pos), *xs[2:]))


@derived("if-not")
def _if_not(form: TList) -> Any:
    xs = items(form)
    _need(3 <= len(xs) <= 4, "(if-not test then else?) expected", form)
    return lst(form.pos, sym("if", form.pos), xs[1], xs[3] if len(xs) == 4 else None, xs[2])


@derived("cond")
def _cond(form: TList) -> Any:
    xs = items(form)[1:]
    _need(len(xs) % 2 == 0, "cond needs test/expression pairs", form)
    out: Any = None
    for test, expr in reversed(list(zip(xs[::2], xs[1::2]))):
        if test.__class__ is Keyword or (test.__class__ is Symbol and test.name == "else"):
            out = expr
        else:
            out = lst(getattr(test, "pos", form.pos) or form.pos, sym("if", form.pos), test, expr, out)
    return out


@derived("and")
def _and(form: TList) -> Any:
    xs = items(form)[1:]
    if not xs:
        return True
    if len(xs) == 1:
        return xs[0]
    t = gensym("and")
    p = form.pos
    return lst(p, sym("let", p), TVector([t, xs[0]]), lst(p, sym("if", p), t, lst(p, sym("and", p), *xs[1:]), t))


@derived("or")
def _or(form: TList) -> Any:
    xs = items(form)[1:]
    if not xs:
        return None
    if len(xs) == 1:
        return xs[0]
    t = gensym("or")
    p = form.pos
    return lst(p, sym("let", p), TVector([t, xs[0]]), lst(p, sym("if", p), t, t, lst(p, sym("or", p), *xs[1:])))


@derived("if-let", "when-let")
def _if_let(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 3 and xs[1].__class__ is TVector and len(xs[1]) == 2, f"({xs[0]} [x expr] ...) expected", form)
    name, expr = list(xs[1])
    p = form.pos
    if xs[0].name == "when-let":
        then, other = lst(p, sym("do", p), *xs[2:]), None
    else:
        then, other = xs[2], (xs[3] if len(xs) > 3 else None)
    return lst(p, sym("let", p), TVector([name, expr]), lst(p, sym("if", p), name, then, other))


@derived("case")
def _case(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 2, "(case expr value result ... default?) expected", form)
    p = form.pos
    t = gensym("case")
    pairs = xs[2:]
    default: Any = lst(p, sym("throw", p), lst(p, sym("match-error", p), t))
    if len(pairs) % 2:
        default = pairs[-1]
        pairs = pairs[:-1]
    out = default
    for val, res in reversed(list(zip(pairs[::2], pairs[1::2]))):
        vals = list(val) if val.__class__ is TList else [val]
        tests = [lst(p, sym("=", p), t, lst(p, sym("quote", p), v)) for v in vals]
        out = lst(p, sym("if", p), lst(p, sym("or", p), *tests), res, out)
    return lst(p, sym("let", p), TVector([t, xs[1]]), out)


@derived("->")
def _thread_first(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 2, "(-> x forms...) expected", form)
    acc = xs[1]
    for f in xs[2:]:
        if f.__class__ is TList and f.count:
            fx = items(f)
            acc = lst(f.pos or form.pos, fx[0], acc, *fx[1:])
        else:
            acc = lst(form.pos, f, acc)
    return acc


@derived("->>")
def _thread_last(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 2, "(->> x forms...) expected", form)
    acc = xs[1]
    for f in xs[2:]:
        if f.__class__ is TList and f.count:
            acc = lst(f.pos or form.pos, *items(f), acc)
        else:
            acc = lst(form.pos, f, acc)
    return acc


@derived("dotimes")
def _dotimes(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 2 and xs[1].__class__ is TVector and len(xs[1]) == 2, "(dotimes [i n] body...) expected", form)
    i, n = list(xs[1])
    lim = gensym("n")
    p = form.pos
    body = lst(p, sym("do", p), *xs[2:], lst(p, sym("recur", p), lst(p, sym("inc", p), i), lim))
    return lst(p, sym("loop", p), TVector([i, 0, lim, n]), lst(p, sym("if", p), lst(p, sym("<", p), i, lim), body, None))


@derived("while")
def _while(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 2, "(while test body...) expected", form)
    p = form.pos
    return lst(p, sym("loop", p), TVector([]), lst(p, sym("if", p), xs[1], lst(p, sym("do", p), *xs[2:], lst(p, sym("recur", p))), None))


@derived("doseq")
def _doseq(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 2 and xs[1].__class__ is TVector and len(xs[1]) == 2, "(doseq [x coll] body...) expected", form)
    x, coll = list(xs[1])
    p = form.pos
    return lst(p, sym("for-each", p), lst(p, sym("fn", p), TVector([x]), *xs[2:]), coll)


@derived("comment")
def _comment(form: TList) -> Any:
    return None


@derived("cloneable-shift")
def _shift(form: TList) -> Any:
    xs = items(form)
    _need(
        len(xs) >= 2 and xs[1].__class__ is TVector and len(xs[1]) == 1 and xs[1][0].__class__ is Symbol,
        "(cloneable-shift [k] body...) expected",
        form,
    )
    p = form.pos
    return lst(p, sym("%shift", p), lst(p, sym("fn", p), xs[1], *xs[2:]))


@derived("try")
def _try(form: TList) -> Any:
    xs = items(form)[1:]
    body, catch, fin = [], None, None
    for x in xs:
        h = head_name(x)
        if h == "catch":
            _need(catch is None, "try: only one catch clause is allowed", x)
            cx = items(x)
            _need(
                len(cx) >= 2 and cx[1].__class__ is TVector and len(strip_types(list(cx[1]))) == 1,
                "(catch [e] handler...) expected",
                x,
            )
            catch = (TVector(strip_types(list(cx[1]))), cx[2:])
        elif h == "finally":
            fin = items(x)[1:]
        else:
            _need(catch is None and fin is None, "try: body forms must come before catch and finally", x)
            body.append(x)
    p = form.pos
    inner: Any = lst(p, sym("do", p), *body)
    if catch is not None:
        inner = lst(
            p,
            sym("%try", p),
            lst(p, sym("fn", p), TVector([]), *body),
            lst(p, sym("fn", p), catch[0], *catch[1]),
        )
    if fin is None:
        return inner
    r, e = gensym("r"), gensym("e")
    guarded = lst(
        p,
        sym("%try", p),
        lst(p, sym("fn", p), TVector([]), inner),
        lst(p, sym("fn", p), TVector([e]), *fin, lst(p, sym("throw", p), e)),
    )
    return lst(p, sym("let", p), TVector([r, guarded]), *fin, r)


# --------------------------------------------------------------------------- match


@derived("match")
def _match(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) >= 2, "(match expr pattern -> result ...) expected", form)
    clauses = xs[2:]
    pairs = []
    i = 0
    while i < len(clauses):
        pat = clauses[i]
        _need(i + 2 < len(clauses), "match: each clause is `pattern -> result`", form)
        arrow = clauses[i + 1]
        _need(arrow.__class__ is Symbol and arrow.name == "->", "match: expected `->` after a pattern", form)
        pairs.append((pat, clauses[i + 2]))
        i += 3
    p = form.pos
    t = gensym("m")
    out: Any = lst(p, sym("throw", p), lst(p, sym("match-error", p), t))
    for pat, res in reversed(pairs):
        tests: list[Any] = []
        binds: list[Any] = []
        _pattern(pat, t, tests, binds, p)
        body = lst(p, sym("let", p), TVector(binds), res) if binds else res
        test = tests[0] if len(tests) == 1 else lst(p, sym("and", p), *tests) if tests else True
        out = body if test is True else lst(p, sym("if", p), test, body, out)
    return lst(p, sym("let", p), TVector([t, xs[1]]), out)


def _pattern(pat: Any, acc: Any, tests: list[Any], binds: list[Any], p: Pos | None) -> None:
    c = pat.__class__
    if c is Symbol:
        if pat.name != "_":
            binds.extend([pat, acc])
        return
    if c is TList and pat.count and pat.head.__class__ is Symbol and pat.head.name == "quote":
        tests.append(lst(p, sym("=", p), acc, pat))
        return
    if c is TList:
        _need(pat.count > 0 and pat.head.__class__ is Symbol, "match: a constructor pattern is (name pattern...)", pat)
        sub = items(pat)[1:]
        tests.append(lst(p, sym("%struct-of?", p), acc, pat.head, len(sub)))
        for i, sp in enumerate(sub):
            _pattern(sp, lst(p, sym("%field-at", p), acc, i), tests, binds, p)
        return
    if c is TVector:
        sub = list(pat)
        rest = None
        if len(sub) >= 2 and sub[-2].__class__ is Symbol and sub[-2].name == "&":
            rest = sub[-1]
            sub = sub[:-2]
        tests.append(lst(p, sym("%seq-len?", p), acc, len(sub), rest is not None))
        for i, sp in enumerate(sub):
            _pattern(sp, lst(p, sym("%nth", p), acc, i), tests, binds, p)
        if rest is not None:
            _pattern(rest, lst(p, sym("%drop", p), acc, len(sub)), tests, binds, p)
        return
    if c is TMap:
        raise syntax_error("match: map patterns are not supported; match a struct or vector", pat.pos)
    tests.append(lst(p, sym("=", p), acc, pat))


# --------------------------------------------------------------------------- quasiquote


@derived("quasiquote")
def _quasiquote(form: TList) -> Any:
    xs = items(form)
    _need(len(xs) == 2, "quasiquote takes one form", form)
    return _qq(xs[1], {}, form.pos, 1)


def _qq(x: Any, autos: dict[str, Symbol], p: Pos | None, depth: int) -> Any:
    """Expand a quasiquoted form; `depth` counts nested quasiquotes, as in Racket."""
    c = x.__class__
    if c is Symbol:
        if x.name.endswith("#") and len(x.name) > 1:
            if x.name not in autos:
                autos[x.name] = Symbol(f"{x.name[:-1]}__{next_number()}__auto")
            x = autos[x.name]
        return lst(p, sym("quote", p), x)
    if c is TList:
        if not x.count:
            return lst(p, sym("quote", p), EMPTY)
        h = head_name(x)
        if h == "unquote":
            if depth == 1:
                return x.tail.head
            return _qq_wrap("unquote", x.tail.head, autos, p, depth - 1)
        if h == "quasiquote":
            return _qq_wrap("quasiquote", x.tail.head, autos, p, depth + 1)
        if h == "unquote-splicing" and depth == 1:
            raise syntax_error("~@ must be inside a list or vector", x.pos or p)
        return lst(x.pos or p, sym("%concat", p), *_qq_parts(x, autos, p, depth))
    if c is TVector:
        return lst(p, sym("%vec", p), lst(p, sym("%concat", p), *_qq_parts(x, autos, p, depth)))
    if c is TMap:
        kv: list[Any] = []
        for k, v in x.d.items():
            kv.append(_qq(k, autos, p, depth))
            kv.append(_qq(v, autos, p, depth))
        return lst(p, sym("hash-map", p), *kv)
    return x


def _qq_wrap(name: str, inner: Any, autos: dict[str, Symbol], p: Pos | None, depth: int) -> Any:
    """`(name inner)` rebuilt as data, with `inner` expanded at `depth`."""
    return lst(p, sym("list", p), lst(p, sym("quote", p), sym(name, p)), _qq(inner, autos, p, depth))


def _qq_parts(x: Any, autos: dict[str, Symbol], p: Pos | None, depth: int) -> list[Any]:
    parts = []
    for item in x:
        if head_name(item) == "unquote-splicing":
            if depth == 1:
                parts.append(item.tail.head)
            else:
                parts.append(lst(p, sym("list", p), _qq_wrap("unquote-splicing", item.tail.head, autos, p, depth - 1)))
        else:
            parts.append(lst(p, sym("list", p), _qq(item, autos, p, depth)))
    return parts


def macroexpand_derived(form: Any) -> Any:
    """Expand derived forms at the head of `form` until it is a core form or a call."""
    while True:
        h = head_name(form)
        fn = DERIVED.get(h) if h else None
        if fn is None:
            return form
        new = fn(form)
        if new.__class__ is TList and new.pos is None and form.pos is not None:
            new.pos = form.pos
        form = new


__all__ = ["DERIVED", "derived", "macroexpand_derived", "gensym", "strip_types", "head_name", "sym", "lst", "EMPTY"]
