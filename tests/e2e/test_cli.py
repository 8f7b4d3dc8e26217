"""End-to-end tests of the `tmweb` command: `run`, `check` and `repl` as real subprocesses.

Every test writes its Turmeric program into `tmp_path` and runs
`python -m tmweb.cli ...` (the same `main` the `tmweb` console script calls) with
`TURMERIC_PATH` removed from the environment unless the test sets it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TRACEBACK = "Traceback (most recent call last)"


def tmweb(
    *args: str,
    cwd: Path,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `tmweb ARGS...` in `cwd` and capture its exit status, stdout and stderr."""
    full_env = {k: v for k, v in os.environ.items() if k != "TURMERIC_PATH"}
    full_env["PYTHONUNBUFFERED"] = "1"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tmweb.cli", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def write(path: Path, src: str) -> Path:
    """Write dedented Turmeric source to `path`, creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(src).lstrip("\n"), encoding="utf-8")
    return path


def no_python_traceback(p: subprocess.CompletedProcess[str]) -> None:
    assert TRACEBACK not in p.stderr, p.stderr
    assert TRACEBACK not in p.stdout, p.stdout
    assert "internal error" not in p.stderr, p.stderr


# -- tmweb run: output, arguments, exit status -------------------------------------------


def test_run_prints_and_gets_command_line_args(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.tm",
        """
        (println "hello")
        (println (command-line-args))
        (println (count (command-line-args)) (first (command-line-args)))
        """,
    )
    p = tmweb("run", "prog.tm", "a", "b", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == 'hello\n["a" "b"]\n2 a\n'
    assert p.stderr == ""


def test_a_lone_surrogate_prints_escaped_and_survives_serialization(tmp_path: Path) -> None:
    write(
        tmp_path / "save.tm",
        r"""
        (def s "a\ud800b")
        (println s)
        (write-file "s.bin" (serialize [s :k]))
        """,
    )
    write(tmp_path / "load.tm", '(println (= (first (deserialize (read-file "s.bin"))) "a\\ud800b"))\n')
    p = tmweb("run", "save.tm", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "a\\ud800b\n"
    p = tmweb("run", "load.tm", cwd=tmp_path)
    no_python_traceback(p)
    assert p.stdout == "#t\n", p.stderr


def test_run_passes_option_like_args_through(tmp_path: Path) -> None:
    write(tmp_path / "prog.tm", "(println (command-line-args))\n")
    p = tmweb("run", "prog.tm", "-v", "--name=x", "two words", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == '["-v" "--name=x" "two words"]\n'


def test_run_without_args_gives_empty_args(tmp_path: Path) -> None:
    write(tmp_path / "prog.tm", "(println (command-line-args))\n")
    p = tmweb("run", "prog.tm", cwd=tmp_path)
    assert (p.returncode, p.stdout) == (0, "[]\n"), p.stderr


def test_run_absolute_path_from_another_folder(tmp_path: Path) -> None:
    prog = write(tmp_path / "src" / "prog.tm", '(println (str "x" 1))\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    p = tmweb("run", str(prog), cwd=elsewhere)
    assert (p.returncode, p.stdout) == (0, "x1\n"), p.stderr


def test_run_missing_file(tmp_path: Path) -> None:
    p = tmweb("run", "nope.tm", cwd=tmp_path)
    assert p.returncode == 1
    assert "nope.tm" in p.stderr
    no_python_traceback(p)


def test_exit_status(tmp_path: Path) -> None:
    write(tmp_path / "prog.tm", '(println "out")\n(exit 3)\n(println "not reached")\n')
    p = tmweb("run", "prog.tm", cwd=tmp_path)
    assert p.returncode == 3
    assert p.stdout == "out\n"
    no_python_traceback(p)


def test_exit_from_inside_a_function_is_not_caught_by_try(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.tm",
        """
        (defn quit [] (exit 5))
        (try (quit) (catch [e] (println "caught")))
        (println "not reached")
        """,
    )
    p = tmweb("run", "prog.tm", cwd=tmp_path)
    assert p.returncode == 5
    assert p.stdout == ""


# -- tmweb run: errors --------------------------------------------------------------------

FRAME = re.compile(r"^\s*at (\S+) \((.+?):(\d+):(\d+)\)\s*$", re.M)


def frames(stderr: str) -> list[tuple[str, str, int, int]]:
    """The Turmeric stack trace lines: (symbol, file, line, column), innermost first."""
    return [(s, f, int(ln), int(c)) for s, f, ln, c in FRAME.findall(stderr)]


ERROR_PROG = """
(defn h [x]
  (nth [1 2] x))
(defn g [x] (* 2 (h x)))
(defn f [x] (+ 1 (g x)))
(println "before")
(f 10)
(println "not reached")
"""


def test_uncaught_error_prints_turmeric_trace_and_exits_1(tmp_path: Path) -> None:
    write(tmp_path / "prog.tm", ERROR_PROG)
    p = tmweb("run", "prog.tm", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stdout == "before\n"
    no_python_traceback(p)
    assert "out of range" in p.stderr
    fs = frames(p.stderr)
    syms = [s for s, *_ in fs]
    assert syms[:3] == ["prog.h", "prog.g", "prog.f"], p.stderr
    for _, file, _, _ in fs[:3]:
        assert Path(file).name == "prog.tm"
    # each frame is at the call it is waiting on (or, innermost, the failing form)
    assert fs[0][2:] == (2, 3)
    assert fs[1][2:] == (3, 18)
    assert fs[2][2:] == (4, 18)


def test_innermost_position_is_the_failing_builtin_call(tmp_path: Path) -> None:
    write(tmp_path / "prog.tm", "(defn h [x] (let [y (nth [1 2] x)] y))\n(h 5)\n")
    p = tmweb("run", "prog.tm", cwd=tmp_path)
    assert p.returncode == 1
    no_python_traceback(p)
    assert frames(p.stderr)[0][:1] + frames(p.stderr)[0][2:] == ("prog.h", 1, 21), p.stderr


def test_error_in_imported_module_names_its_symbol_and_file(tmp_path: Path) -> None:
    write(tmp_path / "shop" / "cart.tm", "(defn add-item [cart item]\n  (conj cart item))\n")
    write(tmp_path / "main.tm", "(import shop.cart :as cart)\n(println (cart.add-item 1 2))\n")
    p = tmweb("run", "main.tm", cwd=tmp_path)
    assert p.returncode == 1
    no_python_traceback(p)
    assert "type-error" in p.stderr
    sym, file, line, col = frames(p.stderr)[0]
    assert sym == "shop.cart.add-item"
    assert file.replace(os.sep, "/").endswith("shop/cart.tm")
    assert (line, col) == (2, 3)


def test_thrown_non_error_value_exits_1_without_traceback(tmp_path: Path) -> None:
    write(tmp_path / "prog.tm", "(defn f [] (throw 42))\n(f)\n")
    p = tmweb("run", "prog.tm", cwd=tmp_path)
    assert p.returncode == 1
    assert "42" in p.stderr
    no_python_traceback(p)


def test_error_inside_higher_order_callback(tmp_path: Path) -> None:
    write(tmp_path / "prog.tm", "(defn f [xs]\n  (map (fn [x] (quot x 0)) xs))\n(f [1 2])\n")
    p = tmweb("run", "prog.tm", cwd=tmp_path)
    assert p.returncode == 1
    no_python_traceback(p)
    fs = frames(p.stderr)
    assert fs, p.stderr
    assert fs[0][1].endswith("prog.tm") and fs[0][2] == 2, p.stderr


def test_deep_error_trace_is_truncated(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.tm",
        "(defn d [n] (if (= n 0) (car 1) (+ 1 (d (- n 1)))))\n(d 100000)\n",
    )
    p = tmweb("run", "prog.tm", cwd=tmp_path)
    assert p.returncode == 1
    no_python_traceback(p)
    assert "car" in p.stderr
    assert len(p.stderr.splitlines()) < 200


@pytest.mark.parametrize(
    ("src", "where", "words"),
    [
        ('(println "x")\n(println (+ 1 2)\n', "prog.tm:2:1", "unclosed"),
        ("(println 1)\n(def x 1.2.3)\n", "prog.tm:2:8", "1.2.3"),
        ('(println "abc)\n', "prog.tm:1:10", "string"),
        ("(println 1))\n", "prog.tm:1:12", ")"),
    ],
    ids=["unclosed-paren", "bad-number", "unclosed-string", "extra-paren"],
)
def test_reader_error_exits_1_naming_position(
    tmp_path: Path, src: str, where: str, words: str
) -> None:
    write(tmp_path / "prog.tm", src)
    p = tmweb("run", "prog.tm", cwd=tmp_path)
    assert p.returncode == 1
    no_python_traceback(p)
    assert where in p.stderr, p.stderr
    assert words in p.stderr, p.stderr
    assert p.stdout == ""  # the whole file is read before anything runs


# -- modules ------------------------------------------------------------------------------

CART = """
(defn add-item [cart item] (conj cart item))
(defn total [cart] (reduce + 0 cart))
"""


def test_import_with_alias(tmp_path: Path) -> None:
    write(tmp_path / "shop" / "cart.tm", CART)
    write(
        tmp_path / "main.tm",
        """
        (import shop.cart :as cart)
        (println (cart.add-item [1 2] 3))
        (println (cart.total (cart.add-item [1 2] 3)))
        """,
    )
    p = tmweb("run", "main.tm", cwd=tmp_path)
    assert (p.returncode, p.stdout) == (0, "[1 2 3]\n6\n"), p.stderr


def test_import_by_full_name(tmp_path: Path) -> None:
    write(tmp_path / "shop" / "cart.tm", CART)
    write(
        tmp_path / "main.tm",
        "(import shop.cart)\n(println (shop.cart.add-item [] :x))\n",
    )
    p = tmweb("run", "main.tm", cwd=tmp_path)
    assert (p.returncode, p.stdout) == (0, "[:x]\n"), p.stderr


def test_modules_found_from_main_files_folder_not_cwd(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app / "shop" / "cart.tm", CART)
    write(app / "main.tm", "(import shop.cart :as c)\n(println (c.total [4 5]))\n")
    p = tmweb("run", str(app / "main.tm"), cwd=tmp_path)
    assert (p.returncode, p.stdout) == (0, "9\n"), p.stderr


def test_module_imports_another_module(tmp_path: Path) -> None:
    write(tmp_path / "shop" / "tax.tm", "(defn with-tax [n] (* n 2))\n")
    write(
        tmp_path / "shop" / "cart.tm",
        "(import shop.tax :as tax)\n(defn total [xs] (tax.with-tax (reduce + 0 xs)))\n",
    )
    write(tmp_path / "main.tm", "(import shop.cart :as cart)\n(println (cart.total [1 2]))\n")
    p = tmweb("run", "main.tm", cwd=tmp_path)
    assert (p.returncode, p.stdout) == (0, "6\n"), p.stderr


def test_module_found_via_turmeric_path(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    other = tmp_path / "other"
    write(lib / "util" / "strs.tm", '(defn shout [s] (str (upper s) "!"))\n')
    write(other / "greet.tm", "(defn hi [] :hi)\n")
    app = tmp_path / "app"
    write(
        app / "main.tm",
        """
        (import util.strs :as s)
        (import greet)
        (println (s.shout "hi") (greet.hi))
        """,
    )
    env = {"TURMERIC_PATH": os.pathsep.join([str(lib), str(other)])}
    p = tmweb("run", str(app / "main.tm"), cwd=app, env=env)
    assert (p.returncode, p.stdout) == (0, "HI! :hi\n"), p.stderr
    # ... and without TURMERIC_PATH it is not found
    p = tmweb("run", str(app / "main.tm"), cwd=app)
    assert p.returncode == 1
    assert "util.strs" in p.stderr


def test_missing_module_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path / "main.tm", '(println "start")\n(import no.such.mod)\n(println "after")\n')
    p = tmweb("run", "main.tm", cwd=tmp_path)
    assert p.returncode == 1
    no_python_traceback(p)
    assert "no.such.mod" in p.stderr
    assert "TURMERIC_PATH" in p.stderr
    assert "main.tm:2:1" in p.stderr
    assert "after" not in p.stdout


def test_missing_member_of_module(tmp_path: Path) -> None:
    write(tmp_path / "shop" / "cart.tm", CART)
    write(tmp_path / "main.tm", "(import shop.cart :as cart)\n(cart.remove-item [] 1)\n")
    p = tmweb("run", "main.tm", cwd=tmp_path)
    assert p.returncode == 1
    no_python_traceback(p)
    assert "remove-item" in p.stderr
    assert "main.tm:2:" in p.stderr


# -- tmweb check ----------------------------------------------------------------------------


def test_check_good_folder(tmp_path: Path) -> None:
    write(tmp_path / "app" / "shop" / "cart.tm", CART)
    write(
        tmp_path / "app" / "main.tm",
        """
        (import shop.cart :as cart)
        (defn main [] (cart.total [1 2]))
        (println "SIDE EFFECT")
        """,
    )
    p = tmweb("check", "app", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "ok" in p.stdout
    assert "2 modules" in p.stdout
    assert "SIDE EFFECT" not in p.stdout  # check compiles; it does not run top-level forms
    no_python_traceback(p)


def test_check_syntax_error(tmp_path: Path) -> None:
    write(tmp_path / "app" / "good.tm", "(defn ok [] 1)\n")
    write(tmp_path / "app" / "bad.tm", "(defn f [x]\n  (+ x 1))\n(def y 1.2.3)\n")
    p = tmweb("check", "app", cwd=tmp_path)
    assert p.returncode == 1
    no_python_traceback(p)
    assert "bad.tm:3:8" in p.stderr, p.stderr
    assert "good.tm" not in p.stderr


def test_check_unbound_symbol(tmp_path: Path) -> None:
    write(tmp_path / "app" / "a.tm", "(defn f [x]\n  (+ x (undefined-thing 1)))\n")
    p = tmweb("check", "app", cwd=tmp_path)
    assert p.returncode == 1
    no_python_traceback(p)
    assert "a.tm:2:9" in p.stderr, p.stderr
    assert "undefined-thing" in p.stderr


def test_check_reports_every_problem(tmp_path: Path) -> None:
    write(tmp_path / "app" / "a.tm", "(defn f [] (nope-a))\n")
    write(tmp_path / "app" / "b.tm", "(defn g [] (+ 1 2)\n")
    p = tmweb("check", "app", cwd=tmp_path)
    assert p.returncode == 1
    assert "nope-a" in p.stderr and "a.tm:1:13" in p.stderr
    assert "b.tm:1:1" in p.stderr
    assert "2 problems" in p.stderr


def test_check_forward_reference_is_not_unbound(tmp_path: Path) -> None:
    write(tmp_path / "app" / "a.tm", "(defn f [] (g))\n(defn g [] 1)\n")
    p = tmweb("check", "app", cwd=tmp_path)
    assert p.returncode == 0, p.stderr


def test_check_imports_the_python_modules_the_app_calls(tmp_path: Path) -> None:
    write(tmp_path / "app" / "a.tm", '(defroute GET "/" [req] (shop.shout "hi"))\n')
    write(tmp_path / "shop_funcs.py",
          'import tmweb.lang\ntmweb.lang.register_python("shop.shout", str.upper)\n')  # fmt: skip
    write(tmp_path / "broken_funcs.py", "import tmweb.lang\n\nraise ValueError('no config')\n")
    p = tmweb("check", "app", cwd=tmp_path)
    assert p.returncode == 1 and "a.tm:1:26: unbound symbol shop" in p.stderr
    p = tmweb("check", "app", "--import", "shop_funcs", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    for args in (["check", "app"], ["serve", "app", "--port", "1"]):
        p = tmweb(*args, "--import", "broken_funcs", cwd=tmp_path)
        assert p.returncode == 1
        no_python_traceback(p)
        assert "error: --import broken_funcs: ValueError: no config (" in p.stderr
        assert "broken_funcs.py:3)" in p.stderr
        p = tmweb(*args, "--import", "no_such_module", cwd=tmp_path)
        assert p.returncode == 1
        no_python_traceback(p)
        assert "No module named 'no_such_module'" in p.stderr


def test_check_missing_folder(tmp_path: Path) -> None:
    p = tmweb("check", "nope", cwd=tmp_path)
    assert p.returncode == 1
    assert "nope" in p.stderr


# -- tmweb repl -----------------------------------------------------------------------------

PROMPTS = re.compile(r"(?:tm> |\.\.\. )")


def repl_values(stdout: str) -> list[str]:
    """What the REPL printed, prompts removed, one entry per non-empty line."""
    return [ln.strip() for ln in PROMPTS.sub("", stdout).splitlines() if ln.strip()]


def test_repl_multiline_form(tmp_path: Path) -> None:
    p = tmweb("repl", cwd=tmp_path, input="(+ 1\n2)\n")
    assert p.returncode == 0, p.stderr
    assert repl_values(p.stdout) == ["3"]


def test_repl_survives_errors(tmp_path: Path) -> None:
    p = tmweb("repl", cwd=tmp_path, input='(car 1)\n(/ 1 0)\n)\n(str "a" "b")\n')
    assert p.returncode == 0
    no_python_traceback(p)
    assert "car" in p.stderr
    assert "divide by zero" in p.stderr
    assert repl_values(p.stdout)[-1] == '"ab"'


def test_repl_def_then_use(tmp_path: Path) -> None:
    p = tmweb("repl", cwd=tmp_path, input="(def x 5)\nx\n(defn sq [n]\n  (* n n))\n(sq x)\n")
    assert p.returncode == 0, p.stderr
    vals = repl_values(p.stdout)
    assert vals[1] == "5"
    assert vals[-1] == "25"


def test_repl_exit(tmp_path: Path) -> None:
    p = tmweb("repl", cwd=tmp_path, input='(exit 2)\n(println "no")\n')
    assert p.returncode == 2
    assert "no" not in repl_values(p.stdout)


# -- deep recursion and tail calls ----------------------------------------------------------


def test_run_deep_non_tail_recursion(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.tm",
        """
        (defn deep [n] (if (= n 0) 0 (+ 1 (deep (- n 1)))))
        (println (deep 1000000))
        """,
    )
    p = tmweb("run", "prog.tm", cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout == "1000000\n"
    assert "RecursionError" not in p.stderr


def test_run_tail_recursive_loop(tmp_path: Path) -> None:
    write(
        tmp_path / "prog.tm",
        """
        (defn lp [i acc] (if (= i 0) acc (lp (- i 1) (+ acc 1))))
        (println (lp 300000 0))
        """,
    )
    p = tmweb("run", "prog.tm", cwd=tmp_path, timeout=120)
    assert (p.returncode, p.stdout) == (0, "300000\n"), p.stderr[-2000:]


# -- the console script -------------------------------------------------------------------


def test_console_script_if_installed(tmp_path: Path) -> None:
    exe = shutil.which("tmweb")
    if exe is None:
        pytest.skip("the tmweb console script is not on PATH")
    write(tmp_path / "prog.tm", "(println (command-line-args))\n(exit 7)\n")
    p = subprocess.run(
        [exe, "run", "prog.tm", "z"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (p.returncode, p.stdout) == (7, '["z"]\n'), p.stderr
