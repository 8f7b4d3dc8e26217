"""The core forms the compiler knows, one function each, and the names generated code uses.

Each `comp_X(g, form, ctx)` checks the shape of its form, emits Python into the function
being generated (`g`, a `FnGen`) and delivers its value to `ctx`.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .classes import BUILTIN_TYPES, add_instance, defclass
from .code import Closure
from .errors import syntax_error
from .expander import head_name, strip_types
from .modules import Unbound
from .scopes import EFFECT, VALUE, Ctx, Free, Kind, Local, Loop, SelfRef
from .values import EMPTY, Box, Keyword, Struct, Symbol, TList, TMap, TVector

# --------------------------------------------------------------------------- runtime helpers


def _gv(cell: Any) -> Any:
    """Read a global that was not yet defined when the code was compiled."""
    v = cell.value
    if v.__class__ is Unbound:
        raise errors.unbound(v.name)
    return v


def _field(x: Any, name: str) -> Any:
    """`x.name`: a struct field or a map entry under the keyword `:name`."""
    c = x.__class__
    if c is Struct:
        i = x.type.field_index.get(name)
        if i is None:
            raise errors.type_error(f"{x.type.name} has no field {name} (fields: {' '.join(x.type.fields)})")
        return x.vals[i]
    if c is TMap:
        return x.d.get(Keyword(name))
    if x is None:
        return None
    from .printer import pr_str

    raise errors.type_error(f"cannot read field {name} of {pr_str(x)}: not a struct or map")


def _instance(cls: Any, key: Any, impls: dict[str, Any]) -> None:
    add_instance(cls, key, impls)


RUNTIME_GLOBALS: dict[str, Any] = {
    "Closure": Closure,
    "Box": Box,
    "TVector": TVector,
    "TMap": TMap,
    "EMPTY": EMPTY,
    "_gv": _gv,
    "_field": _field,
    "_instance": _instance,
    "_defclass": defclass,
}

#: Built-ins whose result is always a Python bool, so `if` can test it directly.
BOOL_BUILTINS = {
    "=", "not=", "<", ">", "<=", ">=", "not", "empty?", "nil?", "zero?", "pos?", "neg?",
    "even?", "odd?", "contains?", "identical?", "number?", "string?", "keyword?", "symbol?",
    "map?", "vector?", "list?", "fn?", "some?", "none?", "%struct-of?", "%seq-len?",
    "int?", "float?", "seq?", "coll?", "ref?", "bytes?", "file-exists?", "starts-with?",
    "ends-with?", "includes?",
}  # fmt: skip


def inline_call(fk: str, name: str, es: list[str]) -> str:
    """Python for an inline call of pure built-in `name` (bound to constant `fk`).

    Arithmetic and comparison on two ints - the hot path of most loops - run as Python
    operators; anything else goes through the built-in, which checks types.
    """
    if len(es) == 2:
        a, b = es
        op = _FAST_INT_OPS.get(name)
        if op is not None and _simple(a) and _simple(b):
            checks = [f"{x}.__class__ is int" for x in (a, b) if not _is_int_lit(x)]
            if not checks:
                return f"({a} {op} {b})"
            return f"({a} {op} {b} if {' and '.join(checks)} else {fk}({a}, {b}))"
    if len(es) == 1 and name in ("inc", "dec") and _simple(es[0]):
        a = es[0]
        op = "+" if name == "inc" else "-"
        if _is_int_lit(a):
            return f"({a} {op} 1)"
        return f"({a} {op} 1 if {a}.__class__ is int else {fk}({a}))"
    return f"{fk}({', '.join(es)})"


def _is_int_lit(e: str) -> bool:
    try:
        int(e)
        return True
    except ValueError:
        return False


_FAST_INT_OPS = {"+": "+", "-": "-", "*": "*", "<": "<", ">": ">", "<=": "<=", ">=": ">=", "=": "=="}


def _simple(e: str) -> bool:
    """An expression cheap and safe to evaluate twice (a slot, temp, constant or v)."""
    if e == "v" or (e.startswith("t") and e[1:].isdigit()):
        return True
    if e.startswith("L[") and e.endswith("]") and e[2:-1].isdigit():
        return True
    if e.startswith("E[") and e.endswith("]") and e[2:-1].isdigit():
        return True
    try:
        int(e)
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------- forms


def _shape(cond: bool, msg: str, x: Any) -> None:
    if not cond:
        raise syntax_error(msg, getattr(x, "pos", None))


def comp_quote(g: Any, x: TList, ctx: Any) -> Any:
    _shape(x.count == 2, "(quote form) takes exactly one form", x)
    v = x.tail.head
    if v is None or v.__class__ in (bool, int, str):
        return g.deliver(g.literal(v), ctx)
    from .printer import pr_str

    return g.deliver(g.const(v, "quote:" + pr_str(v)), ctx)


def comp_if(g: Any, x: TList, ctx: Any) -> Any:
    xs = list(x)
    _shape(len(xs) in (3, 4), "(if test then else?) expected", x)
    test = g.comp(xs[1], VALUE)
    if _is_bool_test(g, xs[1]):
        cond = test
    else:
        t = g.temp()
        cond = f"({t} := {test}) is not None and {t} is not False"
    other = xs[3] if len(xs) == 4 else None
    b0, i0 = g.cur, g.ind
    g.emit(f"if {cond}:")
    g.ind += 1
    g.emit("pass")
    if ctx.kind in (Kind.TAIL, Kind.JOIN):
        g.comp(xs[2], ctx)
        g.cur, g.ind = b0, i0
        g.comp(other, ctx)
        return None
    inner = VALUE if ctx.kind is Kind.VALUE else EFFECT
    ra = g.comp(xs[2], inner)
    a_split = g.cur != b0
    a_end = (g.cur, g.ind, g.mark())
    g.cur, g.ind = b0, i0
    g.emit("else:")
    g.ind += 1
    g.emit("pass")
    rb = g.comp(other, inner)
    b_split = g.cur != b0
    b_end = (g.cur, g.ind, g.mark())
    if not a_split and not b_split:
        if ctx.kind is Kind.VALUE:
            t = g.temp()
            g.insert(a_end[2], f"{t} = {ra}")
            g.emit(f"{t} = {rb}")
            g.cur, g.ind = b0, i0
            return t
        if ra is not None and "(" in ra:
            g.insert(a_end[2], ra)
        if rb is not None and "(" in rb:
            g.emit(rb)
        g.cur, g.ind = b0, i0
        return None
    join = g.new_block()
    for split, end, r in ((a_split, a_end, ra), (b_split, b_end, rb)):
        val = r if (ctx.kind is Kind.VALUE and r is not None) else "None"
        lines = [f"v = {val}", f"pc = {join}", "continue"]
        if ctx.kind is Kind.EFFECT and r is not None and "(" in r:
            lines[0] = f"v = {r}"
        if split:
            g.cur, g.ind = end[0], end[1]
            for ln in lines:
                g.emit(ln)
        else:
            for ln in reversed(lines):
                g.insert(end[2], ln)
    g.start_block(join)
    return "v" if ctx.kind is Kind.VALUE else None


def _is_bool_test(g: Any, form: Any) -> bool:
    if form.__class__ is not TList or not form.count:
        return False
    b = g.inline_builtin(form.head)
    return b is not None and b.name in BOOL_BUILTINS


def comp_do(g: Any, x: TList, ctx: Any) -> Any:
    return g.comp_body(list(x)[1:], ctx)


def _pairs(vec: Any, what: str, x: Any) -> list[tuple[Symbol, Any]]:
    _shape(vec.__class__ is TVector, f"{what}: expected a binding vector like [a 1 b 2]", x)
    items = strip_types(list(vec))
    _shape(len(items) % 2 == 0, f"{what}: the binding vector needs name/value pairs", x)
    out = []
    for i in range(0, len(items), 2):
        name = items[i]
        _shape(name.__class__ is Symbol, f"{what}: binding names must be symbols, got {name!r}", x)
        out.append((name, items[i + 1]))
    return out


def comp_let(g: Any, x: TList, ctx: Any) -> Any:
    xs = list(x)
    _shape(len(xs) >= 2, "(let [name value ...] body...) expected", x)
    pairs = _pairs(xs[1], "let", x)
    g.scopes.append({})
    try:
        for name, val in pairs:
            e = g.comp_named(val, name.name)
            loc = g.bind(name.name, name.name in g.set_names)
            g.emit(f"L[{loc.slot}] = Box({e})" if loc.boxed else f"L[{loc.slot}] = {e}")
        return g.comp_body(xs[2:], ctx)
    finally:
        g.scopes.pop()


def parse_params(params: Any, x: Any) -> tuple[list[str], str | None]:
    _shape(params.__class__ is TVector, "fn: expected a parameter vector like [x y]", x)
    ps = strip_types(list(params))
    names: list[str] = []
    rest = None
    i = 0
    while i < len(ps):
        p = ps[i]
        _shape(p.__class__ is Symbol, f"fn: parameters must be symbols, got {p!r}", x)
        if p.name == "&":
            _shape(i + 2 == len(ps) and ps[i + 1].__class__ is Symbol, "fn: `&` takes one name for the rest", x)
            rest = ps[i + 1].name
            break
        names.append(p.name)
        i += 1
    return names, rest


def comp_fn(g: Any, x: TList, ctx: Any, hint: str | None = None, symbol: str | None = None) -> Any:
    """A closure over the function `x`; `hint` is the name it is being bound to, `symbol`
    its code symbol when the caller names it (a top-level definition or an instance)."""

    xs = list(x)
    i = 1
    selfname = None
    if len(xs) > 1 and xs[1].__class__ is Symbol:
        selfname = xs[1].name
        i = 2
    _shape(len(xs) > i, "(fn [params] body...) expected", x)
    names, rest = parse_params(xs[i], x)
    body = xs[i + 1 :]
    if len(body) >= 2 and body[0].__class__ is Symbol and body[0].name == ":":
        body = body[2:]
    if symbol is None:
        symbol = g.child_symbol(hint or selfname)
    child = g.child(symbol, hint or selfname or "fn", x.pos or g.cur_pos)
    child.set_names = set_targets(body, g.mc.expand_head)
    if selfname:
        child.scopes[0][selfname] = SelfRef(selfname)
    params = [child.bind(n, n in child.set_names) for n in names]
    if rest is not None:
        params.append(child.bind(rest, rest in child.set_names))
    for p in params:
        if p.boxed:
            child.emit(f"L[{p.slot}] = Box(L[{p.slot}])")
    child.comp_body(body, Ctx(Kind.TAIL, loop=Loop(0, params)))
    code = child.finish(len(names), rest is not None)
    g.mc.register(code)
    kc = g.const(code, f"code:{code.symbol}")
    if not child.free:
        clo = Closure(code, ())
        return g.deliver(g.const(clo, f"closure:{code.symbol}"), ctx)
    caps = ", ".join(g.var_cell_expr(pv) for pv, _ in child.free)
    return g.deliver(f"Closure({kc}, ({caps},))", ctx)


def set_targets(forms: Any, expand: Any = None) -> set[str]:
    """Names assigned by `set!` anywhere in `forms` (nested functions included), after
    macro expansion, so a macro that expands to `set!` boxes its target too."""
    out: set[str] = set()
    stack = list(forms)
    while stack:
        y = stack.pop()
        c = y.__class__
        if c is TList:
            if expand is not None and y.count and y.head.__class__ is Symbol:
                try:
                    y = expand(y)
                except Exception:  # reported with its position when the form compiles
                    pass
                if y.__class__ is not TList:
                    stack.append(y)
                    continue
            h = head_name(y)
            if h == "set!" and y.count >= 2 and y.tail.head.__class__ is Symbol:
                out.add(y.tail.head.name)
            if h != "quote":
                stack.extend(y)
        elif c is TVector:
            stack.extend(y)
        elif c is TMap:
            stack.extend(y.d.keys())
            stack.extend(y.d.values())
    return out


def def_parts(x: TList) -> tuple[Symbol, Any]:
    xs = list(x)
    _shape(
        len(xs) in (2, 3, 4) and xs[1].__class__ is Symbol,
        "(def name value) expected",
        x,
    )
    if len(xs) == 4:  # (def name "doc" value) or (def name : type value)
        return xs[1], xs[3]
    return xs[1], xs[2] if len(xs) == 3 else None


def comp_def(g: Any, x: TList, ctx: Any) -> Any:
    raise syntax_error(
        "def must be at the top level or directly in a body (fn, let, do...); here it would define nothing",
        x.pos or g.cur_pos,
    )


def comp_set(g: Any, x: TList, ctx: Any) -> Any:
    xs = list(x)
    _shape(len(xs) == 3 and xs[1].__class__ is Symbol, "(set! name value) expected", x)
    name = xs[1].name
    var = g.lookup_local(name)
    e = g.comp(xs[2], VALUE)
    t = g.temp()
    g.emit(f"{t} = {e}")
    if var is not None:
        if var.__class__ is Local and var.boxed:
            g.emit(f"L[{var.slot}].value = {t}")
        elif var.__class__ is Free and var.boxed:
            g.uses_env = True
            g.emit(f"E[{var.index}].value = {t}")
        else:
            raise syntax_error(f"set!: cannot assign {name} here", x.pos)
        return g.deliver(t, ctx)
    cell = g.mc.settable_cell(name, x.pos)
    k = g.const(cell, f"cell:{cell.module}.{cell.name}")
    g.emit(f"{k}.value = {t}")
    return g.deliver(t, ctx)


def comp_loop(g: Any, x: TList, ctx: Any) -> Any:
    xs = list(x)
    _shape(len(xs) >= 2, "(loop [name init ...] body...) expected", x)
    pairs = _pairs(xs[1], "loop", x)
    g.scopes.append({})
    try:
        locs = []
        for name, val in pairs:
            e = g.comp(val, VALUE)
            loc = g.bind(name.name, name.name in g.set_names)
            g.emit(f"L[{loc.slot}] = Box({e})" if loc.boxed else f"L[{loc.slot}] = {e}")
            locs.append(loc)
        head = g.new_block()
        g.emit(f"pc = {head}")
        g.emit("continue")
        g.start_block(head)
        lp = Loop(head, locs)
        if ctx.kind is Kind.TAIL:
            g.comp_body(xs[2:], Ctx(Kind.TAIL, loop=lp))
            return None
        if ctx.kind is Kind.JOIN:
            g.comp_body(xs[2:], Ctx(Kind.JOIN, ctx.join, lp))
            return None
        after = g.new_block()
        g.comp_body(xs[2:], Ctx(Kind.JOIN, after, lp))
        g.start_block(after)
        return "v" if ctx.kind is Kind.VALUE else None
    finally:
        g.scopes.pop()


def comp_recur(g: Any, x: TList, ctx: Any) -> Any:
    lp = ctx.loop
    if lp is None or ctx.kind not in (Kind.TAIL, Kind.JOIN):
        raise syntax_error("recur must be in tail position of a loop or fn", x.pos or g.cur_pos)
    args = list(x)[1:]
    if len(args) != len(lp.slots):
        raise syntax_error(f"recur: expected {len(lp.slots)} values, got {len(args)}", x.pos or g.cur_pos)
    es = g.comp_seq(args)
    if es:
        targets = ", ".join(f"L[{loc.slot}]" for loc in lp.slots)
        vals = ", ".join(f"Box({e})" if loc.boxed and lp.head != 0 else e for loc, e in zip(lp.slots, es))
        g.emit(f"{targets}, = {vals},")
    g.emit(f"F[1] = {lp.head}")
    g.emit("return F")
    return None


def comp_import(g: Any, x: TList, ctx: Any) -> Any:
    if not g.mc.is_toplevel(g):
        raise syntax_error("import must be at the top level of a module", x.pos or g.cur_pos)
    g.mc.do_import(x)
    return g.deliver("None", ctx)


def comp_struct_type(g: Any, x: TList, ctx: Any) -> Any:
    xs = list(x)
    t = g.mc.make_struct_type(xs[1].name, tuple(f.name for f in xs[2]))
    return g.deliver(g.const(t, f"struct:{t.module}.{t.name}({' '.join(t.fields)})"), ctx)


def comp_defclass(g: Any, x: TList, ctx: Any) -> Any:
    xs = list(x)
    _shape(len(xs) == 3, "(defclass Name [a] (method [x]) ...) expected", x)
    mk = g.const(g.mc.module, f"module:{g.mc.module.name}")
    methods = ", ".join(repr(m.name) for m in xs[2])
    return g.deliver(f"_defclass({mk}, {xs[1].name!r}, ({methods},))", ctx)


def comp_instance(g: Any, x: TList, ctx: Any) -> Any:
    xs = list(x)
    cls, typ = xs[1], xs[2]
    if typ is None:  # the reader reads `nil` as the value; here it names the type
        typ = Symbol("nil", x.pos)
    cls_e = g.comp(cls, VALUE)
    cell = g.mc.global_cell(typ.name) if typ.__class__ is Symbol else None
    if (
        typ.__class__ is Symbol
        and typ.name in BUILTIN_TYPES
        and g.lookup_local(typ.name) is None
        and (cell is None or cell.module == "core")  # `vector` the type, not the function
    ):
        key_e = repr(typ.name)
    else:
        key_e = g.comp(typ, VALUE)
    impls = []
    rest = xs[3:]
    for i in range(0, len(rest), 2):
        m = rest[i].name
        leaf = f"{cls.name}@{getattr(typ, 'name', typ)}.{m}"
        # at the top level a method is named like a definition: `module.Show@point.show`
        sym = f"{g.mc.module.name}.{leaf}" if g.mc.is_toplevel(g) else None
        fe = comp_fn(g, rest[i + 1], VALUE, hint=leaf, symbol=sym)
        impls.append(f"{m!r}: {fe}")
    g.emit(f"_instance({cls_e}, {key_e}, {{{', '.join(impls)}}})")
    return g.deliver("None", ctx)


SPECIAL_FORMS = {
    "quote": comp_quote,
    "if": comp_if,
    "do": comp_do,
    "let": comp_let,
    "let*": comp_let,
    "fn": comp_fn,
    "def": comp_def,
    "set!": comp_set,
    "loop": comp_loop,
    "recur": comp_recur,
    "import": comp_import,
    "%struct-type": comp_struct_type,
    "%defclass": comp_defclass,
    "%instance": comp_instance,
}

__all__ = ["SPECIAL_FORMS", "RUNTIME_GLOBALS", "inline_call", "def_parts", "comp_fn"]
