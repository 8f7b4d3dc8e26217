"""Code symbols: unique within a program, and the same in every runtime that loads the
same source, whatever the load order, the way a module was loaded, or what ran before.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmweb.lang import Runtime, TurmericError


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def symbols(rt: Runtime, module: str) -> dict[str, str]:
    """Every code symbol of `module` with its version."""
    return {s: c.version for s, c in rt.modules[module].codes.items()}


def load(folder: Path, main: str, *first: str, defs_only: bool = False) -> Runtime:
    """A fresh runtime that loads the modules `first` and then `main` (from `folder`)."""
    rt = Runtime(roots=[str(folder)])
    for m in first:
        rt.load_module(m)
    rt.load_file(str(folder / f"{main}.tm"), defs_only=defs_only)
    return rt


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("(defn outer [] (fn inner [] 1))", {"m.outer", "m.outer~inner", "m~def:outer"}),
        ("(defn outer [] [(fn [] 1) (fn [] 2)])", {"m.outer", "m.outer~fn#1", "m.outer~fn#2"}),
        ("(defn outer [] (let [h (fn [] 1)] h))", {"m.outer", "m.outer~h"}),
        ("(defn outer [] (defn h [] 1) (defn h2 [] (fn [] 2)) h2)", {"m.outer~h", "m.outer~h2~fn#1"}),
        # a nested fn named like a top-level function is not that function
        ("(defn helper [] 1) (def xs [(fn helper [] 2)])", {"m.helper", "m~def:xs~helper"}),
        ("(defn helper [] 1) (let [helper (fn [] 2)] helper)", {"m.helper"}),
        # a top-level name with a slash never meets a nested name
        ("(defn outer [] (fn inner [] 1)) (defn outer/inner [] 2)", {"m.outer~inner", "m.outer/inner"}),
        ("(defn f [] 1) (defn f [] 2)", {"m.f", "m.f#2", "m~def:f", "m~def:f#2"}),
        ("(def rate 3) (def rate 4)", {"m~def:rate", "m~def:rate#2"}),
        ("(defmacro twice [e] `(do ~e ~e))", {"m~macro:twice", "m~defmacro:macro:twice"}),
        ("(struct point [x y]) (defclass Show [a] (show [x])) (instance Show point (show [p] 1))",
         {"m.Show@point.show"}),
    ],
)  # fmt: skip
def test_code_symbols(tmp_path: Path, src: str, expected: set[str]) -> None:
    write(tmp_path, "m.tm", src + "\n")
    got = set(symbols(load(tmp_path, "m"), "m"))
    assert expected <= got, sorted(got)


def test_a_top_level_expression_is_named_by_its_text_not_its_place(tmp_path: Path) -> None:
    write(tmp_path / "a", "m.tm", "(println 1)\n(defn f [] 1)\n(def r (cloneable-reset (fn [] 1)))\n")
    write(tmp_path / "b", "m.tm", ";; new\n(println 0)\n\n(defn g [] 2)\n(println   1)\n(defn f [] 1)\n")
    a, b = (symbols(load(tmp_path / d, "m"), "m") for d in ("a", "b"))
    common = [s for s in a if "~toplevel:" in s]
    assert len(common) == 1 and common[0] in b and a[common[0]] == b[common[0]]


def test_a_redefinition_in_a_later_input_replaces_the_code(tmp_path: Path) -> None:
    rt = Runtime(roots=[str(tmp_path)])
    m = rt.module("user")
    rt.eval_text("(defn f [] 1)", m)
    first = rt.codes["user.f"]
    assert rt.eval_text("(defn f [] 2) (f)", m) == 2
    assert rt.codes["user.f"] is not first and "user.f#2" not in rt.codes


def test_the_same_symbol_from_two_modules_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.tm", "(defn b.c [] 1)\n")
    write(tmp_path / "a", "b.tm", "(defn c [] 2)\n")
    write(tmp_path, "main.tm", "(import a)\n(import a.b)\n")
    with pytest.raises(TurmericError) as info:
        load(tmp_path, "main")
    msg = str(info.value)
    assert "two pieces of code would both be named a.b.c" in msg
    assert "a.tm:1:1" in msg and "b.tm:1:1" in msg


def test_run_time_gensyms_do_not_move_compile_time_names(tmp_path: Path) -> None:
    # (gensym) runs in a full load but not in a definitions-only one; the macro after it
    # must number its names the same either way
    write(
        tmp_path,
        "m.tm",
        "(def g (gensym))\n(println (gensym) (gensym))\n"
        "(defmacro q [] `(quote ~(gensym \"z\")))\n(defn f [] [(q) (q)])\n",
    )
    full = load(tmp_path, "m")
    defs = load(tmp_path, "m", defs_only=True)
    assert symbols(full, "m") == symbols(defs, "m")
    call = "(import m)\n(m.f)"
    assert full.eval_text(call, full.module("user")) == defs.eval_text(call, defs.module("user"))


# -- property: random nestings of named and anonymous fns and macros ----------------------

NAMES = ["helper", "f", "g", "outer", "outer/inner", "h#2", "fn"]
MACROS = """
(defmacro twice [e] `(let [v# ~e] [v# v#]))
(defmacro thunk [e] (let [n (gensym "n")] `(fn [] (let [~n ~e] ~n))))
"""

# An expression: (source text, number of functions it compiles to)
leaf = st.sampled_from(["1", ":k", '"s"', "x"]).map(lambda s: (s, 0))


def _extend(inner: st.SearchStrategy[tuple[str, int]]) -> st.SearchStrategy[tuple[str, int]]:
    name = st.sampled_from(NAMES[:-1])
    return st.one_of(
        st.tuples(inner).map(lambda t: (f"(fn [x] {t[0][0]})", t[0][1] + 1)),
        st.tuples(name, inner).map(lambda t: (f"(fn {t[0]} [x] {t[1][0]})", t[1][1] + 1)),
        st.tuples(name, inner).map(lambda t: (f"(let [{t[0]} (fn [x] {t[1][0]})] {t[0]})", t[1][1] + 1)),
        st.tuples(name, inner).map(lambda t: (f"(do (defn {t[0]} [x] {t[1][0]}) {t[0]})", t[1][1] + 1)),
        st.tuples(inner).map(lambda t: (f"(twice {t[0][0]})", t[0][1])),
        st.tuples(inner).map(lambda t: (f"(thunk {t[0][0]})", t[0][1] + 1)),
        st.lists(inner, min_size=1, max_size=3).map(
            lambda xs: ("[" + " ".join(s for s, _ in xs) + "]", sum(n for _, n in xs))
        ),
    )


expr = st.recursive(leaf, _extend, max_leaves=12)
toplevel = st.one_of(
    st.tuples(st.sampled_from(NAMES[:-1]), expr).map(lambda t: (f"(defn {t[0]} [x] {t[1][0]})", t[1][1] + 2)),
    st.tuples(st.sampled_from(NAMES[:-1]), expr).map(lambda t: (f"(def {t[0]} (let [x 0] {t[1][0]}))", t[1][1] + 1)),
    expr.map(lambda t: (f"(let [x 0] {t[0]})", t[1] + 1)),
)


# each example builds three runtimes (~0.2 s): a quarter of the profile's examples
@settings(deadline=None, max_examples=max(10, settings().max_examples // 4))
@given(st.lists(toplevel, min_size=1, max_size=6))
def test_symbols_are_distinct_and_the_same_in_every_runtime(forms: list[tuple[str, int]]) -> None:
    src = MACROS + "\n".join(s for s, _ in forms) + "\n"
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        write(folder, "prog.tm", src)
        write(folder, "noise.tm", MACROS + "(defn noise [x] (thunk (twice (thunk x))))\n")
        plain = load(folder, "prog")
        # another process history: a module that makes fresh names is compiled first
        noisy = load(folder, "prog", "noise")
        defs = load(folder, "prog", "noise", defs_only=True)
    ours = symbols(plain, "prog")
    # every compiled function got its own symbol: none replaced another
    assert len(ours) == 4 + sum(n for _, n in forms), sorted(ours)
    assert symbols(noisy, "prog") == ours
    assert symbols(defs, "prog") == ours
