"""Compile Turmeric forms into `Code`: generated Python functions over heap frames.

Each Turmeric function becomes one Python function `fn(M, F, v)` whose body is a set of
numbered blocks. A block runs straight-line Python until it must call a Turmeric function;
then it records its resume point in the frame (`F[1]`), returns the callee's new frame to
the machine, and is re-entered at that block with the callee's value in `v`. Locals and
pending values live in the frame's slots, so a frame is plain data: code, resume point,
parent, closure, slots. Calls to pure built-ins are ordinary inline Python calls.

The generated text (without positions) is hashed into the function's code version, so
comments, whitespace and edits to other functions never change it.

Names used inside generated code (and only there; this is the one list of them):

| name | is |
|---|---|
| `M` | the `Machine` running the code |
| `F`, `L` | the running frame (a list; `L` is the same list, read as its slots): `F[0]` the code's `fn`, `F[1]` the resume point, `F[2]` the parent frame, `F[3]` the closure, `L[4]`... the local slots (`code.BASE` is the first) |
| `E` | the closure's captured variables, `F[3].env` (`E[i]`, a `Box` when boxed) |
| `v` | the value delivered on entry: the callee's result when a block resumes |
| `pc` | the block to run next, in a function with more than one block |
| `t1`, `t2`... | temporaries that live within one block |
| `K0`, `K1`... | constants of the code: literals, cells of globals, built-ins, nested `Code` |
| `Closure`, `Box`, `TVector`, `TMap`, `EMPTY`, `_gv`, `_field`, `_instance`, `_defclass` | runtime helpers, `special.RUNTIME_GLOBALS` |
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import special
from .code import BASE, NEST, PURE, Builtin, Closure, Code
from .errors import syntax_error
from .expander import DERIVED, head_name, strip_types
from .machine import CODE_FILES
from .modules import Cell
from .scopes import EFFECT, VALUE, Ctx, Free, Kind, Local
from .values import EMPTY, Keyword, Pos, Symbol, TList, TMap, TVector

COMPILER_VERSION = "1"

class FnGen:
    """Generates the code of one Turmeric function."""

    def __init__(self, mc: Any, parent: FnGen | None, symbol: str, name: str, pos: Pos | None):
        self.mc = mc
        self.parent = parent
        self.symbol = symbol
        self.name = name
        self.pos = pos
        self.cur_pos = pos
        self.blocks: list[list[list[Any]]] = [[]]
        self.cur = 0
        self.ind = 0
        self.slot_names: list[str] = []
        self.consts: list[Any] = []
        self.const_desc: list[str] = []
        self.const_ids: dict[Any, str] = {}
        self.free: list[tuple[Any, str]] = []  # (parent var, name)
        self.free_ids: dict[int, Free] = {}
        self.scopes: list[dict[str, Any]] = [{}]
        self.ntemps = 0
        self.ntail = 0
        self.callpos: dict[int, Pos | None] = {}
        self.children: dict[str, int] = {}
        self.set_names: set[str] = set()
        self.uses_env = False

    # -- emission --------------------------------------------------------------------
    def emit(self, text: str) -> None:
        self.blocks[self.cur].append([self.ind, text, self.cur_pos])

    def new_block(self) -> int:
        self.blocks.append([])
        return len(self.blocks) - 1

    def start_block(self, b: int) -> None:
        self.cur = b
        self.ind = 0

    def mark(self) -> tuple[int, int, int]:
        return (self.cur, len(self.blocks[self.cur]), self.ind)

    def insert(self, m: tuple[int, int, int], text: str) -> None:
        self.blocks[m[0]].insert(m[1], [m[2], text, self.cur_pos])

    def slot(self, name: str) -> int:
        """A new slot; its index counts from the frame's first slot (BASE)."""
        self.slot_names.append(name)
        return len(self.slot_names) - 1 + BASE

    def temp(self) -> str:
        self.ntemps += 1
        return f"t{self.ntemps}"

    def const(self, value: Any, desc: str | None = None) -> str:
        key = (type(value), id(value)) if not isinstance(value, (str, int, float)) else (type(value), value)
        name = self.const_ids.get(key)
        if name is None:
            name = f"K{len(self.consts)}"
            self.consts.append(value)
            self.const_desc.append(desc if desc is not None else _describe(value))
            self.const_ids[key] = name
        return name

    # -- scopes ----------------------------------------------------------------------
    def bind(self, name: str, boxed: bool) -> Local:
        loc = Local(self.slot(name), boxed, name)
        self.scopes[-1][name] = loc
        return loc

    def lookup_local(self, name: str) -> Any:
        for sc in reversed(self.scopes):
            v = sc.get(name)
            if v is not None:
                return v
        if self.parent is not None:
            pv = self.parent.lookup_local(name)
            if pv is not None:
                fv = self.free_ids.get(id(pv))
                if fv is None:
                    boxed = getattr(pv, "boxed", False)
                    fv = Free(len(self.free), boxed, name)
                    self.free.append((pv, name))
                    self.free_ids[id(pv)] = fv
                return fv
        return None

    def var_expr(self, var: Any) -> str:
        """Python expression for a local/free/self variable's *value*."""
        c = var.__class__
        if c is Local:
            return f"L[{var.slot}].value" if var.boxed else f"L[{var.slot}]"
        if c is Free:
            self.uses_env = True
            return f"E[{var.index}].value" if var.boxed else f"E[{var.index}]"
        return "F[3]"

    def var_cell_expr(self, var: Any) -> str:
        """Expression for what a closure captures: the box itself for boxed variables."""
        c = var.__class__
        if c is Local:
            return f"L[{var.slot}]"
        if c is Free:
            self.uses_env = True
            return f"E[{var.index}]"
        return "F[3]"

    # -- delivering values -----------------------------------------------------------
    def deliver(self, expr: str, ctx: Ctx) -> str | None:
        k = ctx.kind
        if k is Kind.VALUE:
            return expr
        if k is Kind.EFFECT:
            if "(" in expr or "[" in expr and "=" in expr:
                self.emit(expr)
            return None
        if k is Kind.TAIL:
            self.emit(f"M.v = {expr}")
            self.emit("return F[2]")
            return None
        self.emit(f"v = {expr}")
        self.emit(f"pc = {ctx.join}")
        self.emit("continue")
        return None

    # -- compiling -------------------------------------------------------------------
    def comp(self, x: Any, ctx: Ctx) -> str | None:
        c = x.__class__
        if c is Symbol:
            return self.deliver(self.ref(x), ctx)
        if c is TList:
            if not x.count:
                return self.deliver(self.const(EMPTY, "()"), ctx)
            saved = self.cur_pos
            if x.pos is not None:
                self.cur_pos = x.pos
            try:
                return self.comp_list(x, ctx)
            finally:
                self.cur_pos = saved
        if c is TVector or c is TMap:
            if _literal_data(x):  # immutable and known now: one constant
                from .printer import pr_str

                return self.deliver(self.const(x, "data:" + pr_str(x)), ctx)
            # its own statement, so nested literals never nest Python parentheses deeply
            t = self.temp()
            if c is TVector:
                self.emit(f"{t} = TVector([{', '.join(self.comp_seq(list(x)))}])")
            else:
                flat = []
                for k, v in x.d.items():
                    flat.extend((k, v))
                es = self.comp_seq(flat)
                pairs = ", ".join(f"({es[i]}, {es[i + 1]})" for i in range(0, len(es), 2))
                self.emit(f"{t} = TMap.of(({pairs},))")
            return self.deliver(t, ctx)
        return self.deliver(self.literal(x), ctx)

    def literal(self, x: Any) -> str:
        c = x.__class__
        if x is None or c is bool or c is int:
            return repr(x)
        if c is float:
            return repr(x) if x == x and x not in (float("inf"), float("-inf")) else self.const(x)
        if c is str and len(x) < 200:
            return repr(x)
        return self.const(x)

    def comp_list(self, x: TList, ctx: Ctx) -> str | None:
        h = x.head
        if h.__class__ is Symbol and self.lookup_local(h.name) is None:
            name = h.name
            sf = special.SPECIAL_FORMS.get(name)
            if sf is not None:
                return sf(self, x, ctx)
            expanded = self.mc.expand_head(x)
            if expanded is not x:
                return self.comp(expanded, ctx)
        return self.comp_call(x, ctx)

    def comp_seq(self, forms: list[Any]) -> list[str]:
        """Compile forms left to right; spill a value to a slot when a later form
        suspends the frame before the value is used."""
        exprs: list[str] = []
        marks: list[tuple[int, int, int]] = []
        for f in forms:
            exprs.append(self.comp(f, VALUE))  # type: ignore[arg-type]
            marks.append(self.mark())
        end_block = self.cur
        for i in range(len(forms) - 2, -1, -1):
            m = marks[i]
            e = exprs[i]
            if m[0] != end_block and not _is_constant(e):
                s = self.slot("%spill")
                self.insert(m, f"L[{s}] = {e}")
                exprs[i] = f"L[{s}]"
            elif m[0] == end_block:
                # later forms emitted statements in this block: keep evaluation order
                if len(self.blocks[m[0]]) > m[1] and not _is_stable(e):
                    t = self.temp()
                    self.insert(m, f"{t} = {e}")
                    exprs[i] = t
        return exprs

    def ref(self, s: Symbol) -> str:
        """Expression for the value of symbol `s`."""
        name = s.name
        var = self.lookup_local(name)
        if var is not None:
            return self.var_expr(var)
        r = self.mc.resolve_global(name, s.pos or self.cur_pos, self)
        if r is not None:
            return r
        # dotted field access: order.payment-info
        base, _, field = name.partition(".")
        if base and field and not name.endswith(".") and ".." not in name:
            parts = name.split(".")
            expr = self.ref(Symbol(parts[0], s.pos))
            for p in parts[1:]:
                expr = f"_field({expr}, {p!r})"
            return expr
        cell = self.mc.forward_cell(name, s.pos or self.cur_pos)
        return self.cell_read(cell, s.pos)

    def cell_read(self, cell: Cell, pos: Pos | None = None) -> str:
        k = self.const(cell, f"cell:{cell.module}.{cell.name}")
        if cell.bound:
            return f"{k}.value"
        # may be unbound when it runs: read it in its own statement, so the error names
        # the symbol's position
        saved = self.cur_pos
        self.cur_pos = pos or saved
        t = self.temp()
        self.emit(f"{t} = _gv({k})")
        self.cur_pos = saved
        return t

    def comp_call(self, x: TList, ctx: Ctx) -> str | None:
        h = x.head
        args = list(x)[1:]
        b = self.inline_builtin(h)
        if b is not None:
            if not b.arity_ok(len(args)):
                raise _arity_syntax(b, len(args), x.pos or self.cur_pos)
            es = self.comp_seq(args)
            fk = self.const(b.fn, f"builtin:{b.symbol}")
            # its own statement, so an error it raises maps to this call's position
            t = self.temp()
            self.emit(f"{t} = {special.inline_call(fk, b.name, es)}")
            return self.deliver(t, ctx)
        cell = self.global_callee(h)
        if cell is not None:
            # a named global function: read its cell at the call (the machine reports an
            # unbound callee itself, so no check is needed here)
            es = self.comp_seq(args)
            k = self.const(cell, f"cell:{cell.module}.{cell.name}")
            return self.call(f"{k}.value", es, ctx, x.pos)
        es = self.comp_seq([h, *args])
        return self.call(es[0], es[1:], ctx, x.pos)

    def global_callee(self, h: Any) -> Cell | None:
        if h.__class__ is not Symbol or self.lookup_local(h.name) is not None:
            return None
        if "." in h.name:
            return None
        cell = self.mc.global_cell(h.name)
        if cell is None:
            cell = self.mc.forward_cell(h.name, h.pos or self.cur_pos)
        return cell

    def inline_builtin(self, h: Any) -> Builtin | None:
        if h.__class__ is not Symbol or self.lookup_local(h.name) is not None:
            return None
        cell = self.mc.global_cell(h.name)
        if cell is None or cell.module != "core":
            return None
        b = cell.value
        if b.__class__ is Builtin and b.kind == PURE:
            return b
        return None

    def call(self, f: str, args: list[str], ctx: Ctx, pos: Pos | None) -> str | None:
        tup = f"({', '.join(args)},)" if args else "()"
        # the common case, a closure of the right arity, makes its frame right here
        t = self.temp()
        self.emit(f"{t} = {f}")
        f = t
        parent = "F[2]" if ctx.kind is Kind.TAIL else "F"
        fast = (f"if {t}.__class__ is Closure and {t}.code.fixed == {len(args)}: "
                f"{{setpc}}return [{t}.code.fn, 0, {parent}, {t}, {''.join(a + ', ' for a in args)}*{t}.code.pad]")
        if ctx.kind is Kind.TAIL:
            # the frame is replaced, but its call site is kept for error messages
            self.ntail += 1
            site = -self.ntail
            self.callpos[site] = pos or self.cur_pos
            self.emit(fast.replace("{setpc}", ""))
            self.emit(f"F[1] = {site}")
            self.emit(f"return M.tail(F, {f}, {tup})")
            return None
        if ctx.kind is Kind.JOIN:
            self.callpos[ctx.join] = pos or self.cur_pos
            self.emit(fast.replace("{setpc}", f"F[1] = {ctx.join}; "))
            self.emit(f"F[1] = {ctx.join}")
            self.emit(f"return M.call(F, {f}, {tup})")
            return None
        k = self.new_block()
        self.callpos[k] = pos or self.cur_pos
        self.emit(fast.replace("{setpc}", f"F[1] = {k}; "))
        self.emit(f"F[1] = {k}")
        self.emit(f"return M.call(F, {f}, {tup})")
        self.start_block(k)
        if ctx.kind is Kind.EFFECT:
            return None
        return "v"

    def comp_body(self, forms: list[Any], ctx: Ctx) -> str | None:
        """A body: `def`s in it are locals visible to the rest of it."""
        if not forms:
            return self.deliver("None", ctx)
        forms = [self.mc.expand_head(f) for f in forms]
        if not any(head_name(f) == "def" for f in forms):
            for f in forms[:-1]:
                self.comp(f, EFFECT)
            return self.comp(forms[-1], ctx)
        self.scopes.append({})
        try:
            early = _forward_referenced(forms)
            for name in early:
                loc = self.bind(name, True)
                self.emit(f"L[{loc.slot}] = Box()")
            for i, f in enumerate(forms):
                last = i == len(forms) - 1
                if head_name(f) == "def" and self.lookup_local("def") is None:
                    name, value = special.def_parts(f)
                    e = self.comp_named(value, name.name)
                    loc = self.scopes[-1].get(name.name) if name.name in early else None
                    if loc is None:
                        loc = self.bind(name.name, name.name in self.set_names)
                        self.emit(f"L[{loc.slot}] = Box({e})" if loc.boxed else f"L[{loc.slot}] = {e}")
                    else:
                        self.emit(f"L[{loc.slot}].value = {e}")
                    if last:
                        return self.deliver("None", ctx)
                else:
                    r = self.comp(f, ctx if last else EFFECT)
                    if last:
                        return r
            return None
        finally:
            self.scopes.pop()

    def comp_named(self, value: Any, name: str) -> str:
        """Compile a value that is being given a name (fn values take it as their own)."""
        value = self.mc.expand_head(value)
        if head_name(value) == "fn" and self.lookup_local("fn") is None:
            return special.comp_fn(self, value, VALUE, hint=name)  # type: ignore[return-value]
        return self.comp(value, VALUE)  # type: ignore[return-value]

    def child_symbol(self, name: str | None) -> str:
        """The symbol of a function nested in this one: `parent~name`, `parent~name#k` for
        the k-th of that name, `parent~fn#k` for the k-th anonymous one. Only the value of
        a top-level definition is `module.NAME` (the caller names those)."""
        base = name or "fn"
        n = self.children.get(base, 0) + 1
        self.children[base] = n
        leaf = f"fn#{n}" if name is None else name if n == 1 else f"{name}#{n}"
        return f"{self.symbol}{NEST}{leaf}"

    def child(self, symbol: str, name: str, pos: Pos | None) -> FnGen:
        """The generator of a function nested in this one."""
        return FnGen(self.mc, self, symbol, name, pos)

    # -- assembling ------------------------------------------------------------------
    def finish(self, nparams: int, rest: bool) -> Code:
        code = Code(self.symbol, self.mc.module.name, self.name, nparams, rest, len(self.slot_names), self.pos)
        nargs = nparams + (1 if rest else 0)
        code.pad = [None] * (len(self.slot_names) - nargs)
        code.slot_names = list(self.slot_names)
        code.free_names = [n for _, n in self.free]
        code.callpos = dict(self.callpos)
        code.nblocks = len(self.blocks)
        lines: list[str] = []
        linepos: dict[int, Pos] = {}
        head = ["def fn(M, F, v):", "    L = F"]
        if self.uses_env:
            head.append("    E = F[3].env")
        multi = len(self.blocks) > 1
        if multi:
            head.append("    pc = F[1]")
            head.append("    while True:")
        lines.extend(head)
        for bi, block in enumerate(self.blocks):
            if multi:
                lines.append(f"        {'if' if bi == 0 else 'elif'} pc == {bi}:")
                base = 12
            else:
                base = 4
            if not block:
                block = [[0, "pass", None]]
            for ind, text, pos in block:
                lines.append(" " * (base + 4 * ind) + text)
                if pos is not None:
                    linepos[len(lines) + len(self.consts) + 1] = pos
        body = "\n".join(lines)
        hasher = hashlib.sha256()
        hasher.update(COMPILER_VERSION.encode())
        hasher.update(f"{nparams}/{rest}/{len(self.slot_names)}\n".encode())
        hasher.update(body.encode())
        for d in self.const_desc:
            hasher.update(b"\0" + d.encode())
        code.version = hasher.hexdigest()[:16]
        filename = f"<tm {self.symbol} {code.version}>"
        knames = [f"K{i}" for i in range(len(self.consts))]
        src_lines = ["def __make(__K):"]
        for kn_i, kn in enumerate(knames):
            src_lines.append(f"    {kn} = __K[{kn_i}]")
        src_lines.extend("    " + ln for ln in body.split("\n"))
        src_lines.append("    return fn")
        src = "\n".join(src_lines) + "\n"
        code.source = src
        code.linepos = linepos
        try:
            py = compile(src, filename, "exec")
        except SyntaxError as e:  # pragma: no cover - a compiler bug, shown with its text
            raise RuntimeError(f"internal compiler error in {self.symbol}: {e}\n{src}") from e
        ns = dict(special.RUNTIME_GLOBALS)
        exec(py, ns)
        code.fn = ns["__make"](tuple(self.consts))
        code.py_code = py
        CODE_FILES[filename] = code
        return code


def _is_constant(e: str) -> bool:
    return e in ("None", "True", "False") or e.startswith("K") and e[1:].isdigit() or _is_num(e) or (
        e[:1] in "'\"" and e[-1:] in "'\""
    )


def _literal_data(x: Any) -> bool:
    """A vector or map of numbers, strings, keywords, booleans and nil, at any depth."""
    stack = [x]
    while stack:
        y = stack.pop()
        c = y.__class__
        if c is TVector:
            stack.extend(y)
        elif c is TMap:
            stack.extend(y.d.keys())
            stack.extend(y.d.values())
        elif not (y is None or c in (bool, int, float, str, Keyword)):
            return False
    return True


def _is_stable(e: str) -> bool:
    """An expression no later statement of the same evaluation can change: a constant,
    a temp (assigned once), an unboxed slot (assigned only where it is bound)."""
    if _is_constant(e) or e == "F[3]":
        return True
    if e[:1] == "t" and e[1:].isdigit():
        return True
    return e[:2] in ("L[", "E[") and e.endswith("]") and e[2:-1].isdigit()


def _is_num(e: str) -> bool:
    try:
        float(e)
        return True
    except ValueError:
        return False


def _forward_referenced(forms: list[Any]) -> list[str]:
    """Body `def` names used inside a nested function before (or in) their own def:
    these must exist as boxes from the start of the body (mutual recursion)."""
    out = []
    for i, f in enumerate(forms):
        if head_name(f) != "def" or f.count < 2 or f.tail.head.__class__ is not Symbol:
            continue
        name = f.tail.head.name
        if any(_used_in_fn(g, name, False) for g in forms[: i + 1]):
            out.append(name)
    return out


_FN_HEADS = {"fn", "defn", "defn-", "cloneable-shift"}


def _used_in_fn(x: Any, name: str, inside: bool) -> bool:
    stack = [(x, inside)]
    while stack:
        y, ins = stack.pop()
        c = y.__class__
        if c is Symbol:
            if ins and (y.name == name or y.name.startswith(name + ".")):
                return True
        elif c is TList:
            h = head_name(y)
            if h == "quote":
                continue
            now = ins or h in _FN_HEADS
            stack.extend((z, now) for z in y)
        elif c is TVector:
            stack.extend((z, ins) for z in y)
        elif c is TMap:
            for k, v in y.d.items():
                stack.append((k, ins))
                stack.append((v, ins))
    return False


def _describe(value: Any) -> str:
    c = value.__class__
    if c is Code:
        return f"code:{value.symbol}"
    if c is Closure:
        return f"closure:{value.code.symbol}"
    if c is Keyword:
        return f"kw:{value.name}"
    from .printer import pr_str

    try:
        return f"{c.__name__}:{pr_str(value)}"
    except Exception:  # pragma: no cover
        return c.__name__


def _arity_syntax(b: Builtin, n: int, pos: Pos | None) -> Exception:
    from .machine import _arity_value

    v = _arity_value(b.name, b.min_args, b.max_args, n)
    from .errors import TurmericError

    return TurmericError(v, pos)


__all__ = ["FnGen", "strip_types", "syntax_error", "DERIVED"]
