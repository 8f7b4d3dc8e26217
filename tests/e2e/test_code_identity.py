"""Code identity across processes: a continuation saved by one `tmweb run` resumes in
another whenever the code did not change, whatever else the program holds or loads first.
"""

from __future__ import annotations

from pathlib import Path

from .test_cli import no_python_traceback, tmweb, write


def test_a_nested_fn_named_like_a_top_level_function_does_not_take_its_symbol(tmp_path: Path) -> None:
    # the program of issue 9: the inner `(fn helper ...)` used to be named m.helper too
    write(
        tmp_path / "m.tm",
        """
        (defn helper [n] (+ n (cloneable-shift [k] (write-file "k.bin" (serialize k)) 0)))
        (def xs [(fn helper [] :inner)])
        (if (= (first (command-line-args)) "save")
          (println (cloneable-reset (fn [] (helper 1))))
          (println (resume (deserialize (read-file "k.bin")) 41)))
        """,
    )
    p = tmweb("run", "m.tm", "save", cwd=tmp_path)
    assert (p.returncode, p.stdout) == (0, "0\n"), p.stderr
    p = tmweb("run", "m.tm", "load", cwd=tmp_path)
    no_python_traceback(p)
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr


# Two modules whose macros make fresh names: `x#` in a quasiquote, and `(gensym)` called
# while the macro expands. The names reach code versions (a quoted gensym is a constant of
# the function) and a global's name, so they must not depend on which module came first.
GENSYM_MODULE = """
(defmacro tagged [v] (let [g (gensym "t")] `(let [~g ~v] [(quote ~g) ~g])))
(defmacro twice [e] `(let [v# ~e] (+ v# v#)))
(defmacro defcounter [] `(def ~(gensym "counter") 0))
(defcounter)
(defn {name}-step [n]
  (let [r (twice (+ n (cloneable-shift [k] k)))]
    (tagged r)))
"""


def test_modules_with_gensym_macros_resume_when_loaded_in_the_other_order(tmp_path: Path) -> None:
    write(tmp_path / "alpha.tm", GENSYM_MODULE.format(name="alpha"))
    write(tmp_path / "beta.tm", GENSYM_MODULE.format(name="beta"))
    write(
        tmp_path / "save.tm",
        """
        (import alpha)
        (import beta)
        (def ka (cloneable-reset (fn [] (alpha.alpha-step 1))))
        (def kb (cloneable-reset (fn [] (beta.beta-step 2))))
        (write-file "k.bin" (serialize [ka kb]))
        (println (second (resume ka 10)) (second (resume kb 20)))
        """,
    )
    write(
        tmp_path / "load.tm",
        """
        (import beta)
        (import alpha)
        (def ks (deserialize (read-file "k.bin")))
        (println (second (resume (first ks) 10)) (second (resume (second ks) 20)))
        """,
    )
    p = tmweb("run", "save.tm", cwd=tmp_path)
    assert (p.returncode, p.stdout) == (0, "22 44\n"), p.stderr
    p = tmweb("run", "load.tm", cwd=tmp_path)
    no_python_traceback(p)
    assert (p.returncode, p.stdout) == (0, "22 44\n"), p.stderr


def test_imported_macros_expand_in_the_importing_module_and_resume_elsewhere(tmp_path: Path) -> None:
    write(
        tmp_path / "util.tm",
        """
        (defn pause [tag] (cloneable-shift [k] (write-file (str tag ".bin") (serialize k)) :paused))
        (defmacro with-checkpoint [tag & body]
          `(let [r# (do ~@body)]
             (+ r# (util.pause ~tag))))
        """,
    )
    write(
        tmp_path / "app.tm",
        """
        (import util :as u)
        (defn work [n] (u.with-checkpoint "w" (* n 10)))
        (defn work2 [n] (util.with-checkpoint "v" (* n 100)))
        (if (= (first (command-line-args)) "save")
          (println (cloneable-reset (fn [] (work 4))) (cloneable-reset (fn [] (work2 4))))
          (println (resume (deserialize (read-file "w.bin")) 2)
                   (resume (deserialize (read-file "v.bin")) 3)))
        """,
    )
    p = tmweb("run", "app.tm", "save", cwd=tmp_path)
    assert (p.returncode, p.stdout) == (0, ":paused :paused\n"), p.stderr
    p = tmweb("run", "app.tm", "load", cwd=tmp_path)
    no_python_traceback(p)
    assert (p.returncode, p.stdout) == (0, "42 403\n"), p.stderr


def test_two_pieces_of_code_with_one_symbol_are_refused_with_both_positions(tmp_path: Path) -> None:
    # a macro can build any name with (symbol ...): here the one a nested fn already has
    write(
        tmp_path / "clash.tm",
        """
        (defn f [] (fn g [] 1))
        (defmacro def-odd [] `(defn ~(symbol "f~g") [] 2))
        (def-odd)
        (println "ran")
        """,
    )
    for cmd in (("run", "clash.tm"), ("check", ".")):
        p = tmweb(*cmd, cwd=tmp_path)
        no_python_traceback(p)
        assert p.returncode == 1, p.stdout
        assert "ran" not in p.stdout
        assert "two pieces of code would both be named clash.f~g" in p.stderr, p.stderr
        assert "clash.tm:1:12" in p.stderr and "clash.tm:3:1" in p.stderr, p.stderr
