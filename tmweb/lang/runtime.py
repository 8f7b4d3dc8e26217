"""The runtime: the core module, loading modules from the module path, and running forms.

Each top-level form is compiled to its own code object and run under a halt frame, which
is also the implicit delimiter of its value expression. A module loaded only to resolve
the code of a deserialized continuation is loaded *definitions-only*: every form is
compiled (so its code symbols exist) but only definitions run.
"""

from __future__ import annotations

import os
from typing import Any

from . import errors, gensyms, special
from .code import NEST, Closure, Code
from .compiler import FnGen
from .errors import TurmericError, syntax_error
from .expander import DERIVED, head_name
from .machine import Machine
from .modules import Cell, Module, default_roots, find_module_file, module_name_for
from .reader import read_all
from .scopes import TAIL, VALUE
from .special import SPECIAL_FORMS, def_parts, set_targets
from .values import Keyword, Pos, StructType, Symbol, TList, TMap, TVector

_PRELUDE = os.path.join(os.path.dirname(__file__), "prelude.tm")

#: How deeply the compiler may recurse (a few calls per level of nesting in the source).
COMPILE_DEPTH = 50_000

#: Heads of top-level forms that always count as definitions.
DEFINITION_HEADS = {"%defclass", "%instance", "import", "defmacro"}


class ModuleCompiler:
    """Compiles the top-level forms of one module."""

    def __init__(self, rt: Runtime, module: Module) -> None:
        self.rt = rt
        self.module = module
        self.top: FnGen | None = None
        self._expanded: dict[int, tuple[Any, Any]] = {}
        #: every code symbol this compilation unit (one file load, one REPL input) made,
        #: with its position: two pieces of code with one symbol are refused
        self.unit_symbols: dict[str, Pos | None] = {}
        #: how often each top-level name or form was seen in this unit (`#k` suffixes)
        self._seen: dict[str, int] = {}

    # -- names -----------------------------------------------------------------------
    def global_cell(self, name: str) -> Cell | None:
        m = self.module
        c = m.cells.get(name)
        if c is not None or name in m.toplevel_names:
            return m.cell(name)
        if m is self.rt.core:
            return None
        return self.rt.core.cells.get(name)

    def resolve_global(self, name: str, pos: Pos | None, g: FnGen) -> str | None:
        c = self.global_cell(name)
        if c is not None:
            return g.cell_read(c, pos)
        if "." in name and not name.startswith(".") and not name.endswith("."):
            from .builtins.registry import BY_SYMBOL

            py = BY_SYMBOL.get(name)
            if py is not None and py.symbol.partition(".")[0] not in ("core",):
                return g.const(py, f"builtin:{py.symbol}")
            mod, member = self.module_member(name)
            if mod is not None:
                cell = mod.cells.get(member)
                if cell is None:
                    raise syntax_error(f"module {mod.name} has no definition named {member}", pos)
                return g.cell_read(cell, pos)
        return None

    def module_member(self, name: str) -> tuple[Module | None, str]:
        parts = name.split(".")
        for i in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:i])
            mod = self.module.aliases.get(prefix)
            if mod is not None:
                return mod, ".".join(parts[i:])
        return None, name

    def forward_cell(self, name: str, pos: Pos | None) -> Cell:
        """A global used before any definition: it may be defined later in the module."""
        self.module.unresolved.setdefault(name, pos)
        return self.module.cell(name)

    def settable_cell(self, name: str, pos: Pos | None) -> Cell:
        c = self.global_cell(name)
        if c is not None and c.module == "core" and self.module.name != "core":
            raise syntax_error(f"set!: {name} is a core definition and cannot be assigned", pos)
        return c if c is not None else self.module.cell(name)

    def is_toplevel(self, g: FnGen) -> bool:
        return g is self.top

    def register(self, code: Code) -> None:
        """Add `code` to the registry, refusing a symbol that names other code.

        The same symbol from a later unit (a REPL redefinition, a module loaded again)
        replaces the old code; within one unit, or across modules, it is a clash that would
        make a stored continuation resume the wrong code, so the program is refused.
        """
        symbol = code.symbol
        if symbol in self.unit_symbols:
            raise syntax_error(_clash(symbol, self.unit_symbols[symbol]), code.pos)
        other = self.rt.codes.get(symbol)
        if other is not None and other.module != code.module:
            raise syntax_error(_clash(symbol, other.pos), code.pos)
        self.unit_symbols[symbol] = code.pos
        self.module.codes[symbol] = code
        self.rt.codes[symbol] = code
        self.rt.code_generation += 1

    def unit_name(self, name: str) -> str:
        """`name` the first time this unit uses it, then `name#2`, `name#3`..."""
        n = self._seen.get(name, 0) + 1
        self._seen[name] = n
        return name if n == 1 else f"{name}#{n}"

    def make_struct_type(self, name: str, fields: tuple[str, ...]) -> StructType:
        t = StructType(name, fields, self.module.name)
        self.rt.structs[t.qualified] = t
        return t

    # -- macros ----------------------------------------------------------------------
    def expand_head(self, form: Any) -> Any:
        """Expand derived forms and macros at the head of `form` (memoized: the boxing
        analysis and the compiler both ask for the same forms)."""
        if form.__class__ is not TList:
            return form
        hit = self._expanded.get(id(form))
        if hit is not None and hit[0] is form:
            return hit[1]
        out = self._expand_head(form)
        self._expanded[id(form)] = (form, out)
        return out

    def _expand_head(self, form: Any) -> Any:
        with gensyms.compiling(self.module.gensyms):
            while form.__class__ is TList and form.count and form.head.__class__ is Symbol:
                name = form.head.name
                if name in SPECIAL_FORMS:
                    return form
                fn = DERIVED.get(name)
                if fn is not None:
                    new = fn(form)
                else:
                    mac = self.macro(name)
                    if mac is None:
                        return form
                    try:
                        new = self.rt.machine.apply(mac, tuple(form)[1:])
                    except TurmericError as e:
                        if e.pos is None:
                            e.pos = form.pos
                        e.trace.append((f"(expanding macro {name})", form.pos))
                        raise
                    _stamp(new, form.pos)
                if new.__class__ is TList and new.pos is None:
                    new.pos = form.pos
                form = new
            return form

    def macro(self, name: str) -> Closure | None:
        """The macro `name` names here: this module's, the core's, or an imported
        module's by its alias (`u.with-loop` after `(import util :as u)`)."""
        mac = self.module.macros.get(name) or self.rt.core.macros.get(name)
        if mac is None and "." in name and self.module.aliases:
            mod, member = self.module_member(name)
            if mod is not None:
                mac = mod.macros.get(member)
        return mac

    def do_import(self, x: TList) -> None:
        xs = list(x)
        if len(xs) < 2 or xs[1].__class__ is not Symbol:
            raise syntax_error("(import module.name) or (import module.name :as alias) expected", x.pos)
        name = xs[1].name
        alias = name
        if len(xs) == 4 and xs[2] is Keyword("as") and xs[3].__class__ is Symbol:
            alias = xs[3].name
        elif len(xs) != 2:
            raise syntax_error("(import module.name :as alias) expected", x.pos)
        mod = self.rt.load_module(name, defs_only=self.module.defs_only, pos=x.pos)
        self.module.aliases[alias] = mod
        self.module.aliases.setdefault(name, mod)

    # -- top-level forms -------------------------------------------------------------
    def compile_toplevel(self, form: Any, symbol: str, fn_symbol: str | None = None) -> Code:
        """Compile one top-level form as the code `symbol`. With `fn_symbol` the form is a
        `fn` (a definition's value) and its own code is named `fn_symbol`."""
        import sys

        g = FnGen(self, None, symbol, symbol.rpartition(NEST)[2], getattr(form, "pos", None))
        limit = sys.getrecursionlimit()
        # the compiler recurses once per nesting level (Python-to-Python calls only)
        sys.setrecursionlimit(max(limit, COMPILE_DEPTH))
        self.top = g
        try:
            g.set_names = set_targets([form], self.expand_head)
            if fn_symbol is not None:
                name = fn_symbol.rpartition(".")[2] if NEST not in fn_symbol else None
                g.deliver(special.comp_fn(g, form, VALUE, hint=name, symbol=fn_symbol), TAIL)
            else:
                g.comp(form, TAIL)
            code = g.finish(0, False)
        except RecursionError:
            raise syntax_error(
                "this form is nested too deeply to compile; split it into smaller functions",
                getattr(form, "pos", None),
            ) from None
        finally:
            self.top = None
            sys.setrecursionlimit(limit)
        self.register(code)
        return code

    def run_form(self, form: Any) -> Any:
        """Compile and (unless definitions-only) run one top-level form."""
        m = self.module
        written = form
        form = self.expand_head(form)
        h = head_name(form)
        if h == "do":
            result = None
            for sub in list(form)[1:]:
                result = self.run_form(sub)
            return result
        if h == "defmacro":
            return self.define_macro(form)
        if h == "import":
            self.do_import(form)
            return None
        if h == "def":
            name, value = def_parts(form)
            value = self.expand_head(value)
            m.toplevel_names.add(name.name)
            leaf = self.unit_name(name.name)
            fn_symbol = f"{m.name}.{leaf}" if head_name(value) == "fn" else None
            code = self.compile_toplevel(value, f"{m.name}{NEST}def:{leaf}", fn_symbol)
            if m.defs_only and not _definition_like(value):
                return None
            val = self.rt.run_code(code)
            m.define(name.name, val)
            return Symbol(name.name)
        code = self.compile_toplevel(form, f"{m.name}{NEST}{self.unit_name(_form_leaf(written))}")
        if m.defs_only and h not in DEFINITION_HEADS and h not in self.rt.definition_heads:
            return None
        return self.rt.run_code(code)

    def define_macro(self, form: TList) -> Any:
        xs = list(form)
        if len(xs) < 3 or xs[1].__class__ is not Symbol:
            raise syntax_error("(defmacro name [params] body...) expected", form.pos)
        name = xs[1].name
        body = xs[2:]
        if isinstance(body[0], str) and len(body) > 1:
            body = body[1:]
        fn_form = TList(Symbol("fn", form.pos), TList(body[0], _tl(body[1:]), len(body)), len(body) + 1, form.pos)
        leaf = self.unit_name(f"macro:{name}")
        m = self.module.name
        code = self.compile_toplevel(fn_form, f"{m}{NEST}defmacro:{leaf}", f"{m}{NEST}{leaf}")
        self.module.macros[name] = self.rt.run_code(code)
        return Symbol(name)


def _clash(symbol: str, first: Pos | None) -> str:
    where = f"at {first}" if first is not None else "elsewhere"
    return (
        f"two pieces of code would both be named {symbol} (the other one is {where}), so a "
        "saved continuation could resume the wrong one; rename one of them"
    )


def _form_leaf(form: Any) -> str:
    """The leaf of a top-level expression's symbol: a hash of the form as read, so adding
    or removing other forms, comments or blank lines never renames it."""
    import hashlib

    from .printer import pr_str

    try:
        text = pr_str(form)
    except Exception:  # a macro put an unprintable value in the form
        text = repr(type(form))
    return "toplevel:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _tl(xs: list[Any]) -> TList:
    from .values import tlist

    return tlist(xs)


def _definition_like(value: Any) -> bool:
    """`def` values that run even in definitions-only loading: literals and functions."""
    c = value.__class__
    if value is None or c in (bool, int, float, str, bytes, Keyword):
        return True
    if c is TList:
        h = head_name(value)
        return h in ("fn", "quote", "%struct-type", "%defclass")
    if c is TVector:
        return all(_definition_like(x) for x in value)
    if c is TMap:
        return all(_definition_like(k) and _definition_like(v) for k, v in value.d.items())
    return False


def _stamp(form: Any, pos: Pos | None) -> None:
    """Give macro output without positions the position of the macro call."""
    if pos is None:
        return
    stack = [form]
    seen = 0
    while stack and seen < 100000:
        seen += 1
        x = stack.pop()
        c = x.__class__
        if c is TList:
            if x.count and x.pos is None:
                x.pos = pos
            stack.extend(x)
        elif c is TVector:
            stack.extend(x)


class Runtime:
    """One Turmeric world: modules, code registry, machine."""

    def __init__(self, roots: list[str] | None = None, max_steps: int | None = None) -> None:
        self.machine = Machine(max_steps)
        self.machine.rt = self
        self.modules: dict[str, Module] = {}
        self.codes: dict[str, Code] = {}
        #: counts registrations in `codes`, so a cache of resolved code can tell it is current
        self.code_generation = 0
        self.structs: dict[str, StructType] = {}
        self.roots = roots if roots is not None else default_roots(None)
        self.definition_heads: set[str] = set()
        self.version_cache: str | None = None
        self.loading: list[str] = []
        self.core = self._make_core()

    def _make_core(self) -> Module:
        from . import builtins as _b  # noqa: F401  (registers every built-in)
        from .builtins.colls import NONE_T, SOME
        from .builtins.registry import REGISTRY
        from .classes import make_method, predeclared

        core = Module("core")
        self.modules["core"] = core
        self.core = core
        for name, b in REGISTRY.items():
            core.define(name, b)
        for name, t in errors.ERROR_TYPES.items():
            core.define(name, t)
            self.structs[t.qualified] = t
        for t in (SOME, NONE_T):
            core.define(t.name, t)
            self.structs[t.qualified] = t
        classes = predeclared()
        for name, cls in classes.items():
            core.define(name, cls)
        self.serializable = classes["Serializable"]
        self.resource_serializable = classes["Resource-Serializable"]
        for m in self.resource_serializable.methods:
            core.define(m, make_method(self.resource_serializable, m))
        with open(_PRELUDE, encoding="utf-8") as f:
            self.exec_text(f.read(), core, _PRELUDE)
        return core

    # -- running ---------------------------------------------------------------------
    def run_code(self, code: Code) -> Any:
        M = self.machine
        return M.run(M.start(Closure(code, ())))

    def exec_text(self, text: str, module: Module, file: str) -> Any:
        mc = ModuleCompiler(self, module)
        forms = read_all(text, file)
        if module is not self.core:
            import hashlib

            from .printer import pr_str

            digest = hashlib.sha256(module.form_hash.encode())
            for f in forms:
                digest.update(pr_str(f).encode("utf-8", "surrogatepass") + b"\0")
            module.form_hash = digest.hexdigest()[:16]
            self.version_cache = None  # the program version changes with it
        for f in forms:  # macros are visible to the whole module, wherever defined
            if head_name(f) == "defmacro":
                mc.define_macro(f)
        result = None
        for f in forms:
            if head_name(f) == "defmacro":
                continue
            result = mc.run_form(f)
        return result

    def eval_text(self, text: str, module: Module | None = None, file: str = "<string>") -> Any:
        """Read and run every form of `text` in `module` (a fresh `user` module if None)."""
        m = module or self.module("user")
        return self.exec_text(text, m, file)

    def module(self, name: str, path: str | None = None) -> Module:
        m = self.modules.get(name)
        if m is None:
            m = self.modules[name] = Module(name, path)
        return m

    # -- loading ---------------------------------------------------------------------
    def load_file(self, path: str, defs_only: bool = False) -> Module:
        """Load `path` as a main file: its folder is the first module root."""
        root = os.path.dirname(os.path.abspath(path))
        if root not in self.roots:
            self.roots.insert(0, root)
        name = module_name_for(path, root)
        return self._load(name, path, defs_only)

    def load_module(self, name: str, defs_only: bool = False, pos: Pos | None = None) -> Module:
        m = self.modules.get(name)
        if m is not None:
            return m
        path = find_module_file(name, self.roots)
        if path is None:
            raise errors.err(
                errors.ERROR,
                f"cannot find module {name} (looked for {name.replace('.', '/')}.tm in "
                + ", ".join(self.roots) + "; add its folder to TURMERIC_PATH)",
                pos=pos,
            )
        return self._load(name, path, defs_only)

    def _load(self, name: str, path: str, defs_only: bool) -> Module:
        if name in self.loading:
            raise errors.user_error(f"circular import: {' -> '.join([*self.loading, name])}")
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise errors.err(errors.IO_ERROR, f"cannot read {path}: {e.strerror}") from None
        m = self.modules.get(name)
        if m is None:
            m = self.modules[name] = Module(name, path)
        m.defs_only = defs_only
        m.gensyms = gensyms.GensymCounter()  # a fresh compile numbers its names from 1 again
        self.loading.append(name)
        try:
            self.exec_text(text, m, path)
        finally:
            self.loading.pop()
            m.defs_only = False
        return m

    def find_code(self, symbol: str) -> Code | None:
        """The code for `symbol`, loading its module definitions-only if needed."""
        code = self.codes.get(symbol)
        if code is not None:
            return code
        # its module is a dotted prefix of the part before any derived leaf: try the longest
        # one first (`shop.cart~toplevel:...` is module shop.cart, `shop.total` module shop)
        parts = symbol.split(NEST, 1)[0].split(".")
        for i in range(len(parts), 0, -1):
            modname = ".".join(parts[:i])
            if modname not in self.modules:
                if not find_module_file(modname, self.roots):
                    continue
                self.load_module(modname, defs_only=True)
            code = self.codes.get(symbol)
            if code is not None:
                return code
        return None


__all__ = ["Runtime", "ModuleCompiler"]
