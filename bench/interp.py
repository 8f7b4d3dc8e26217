"""Interpreter benchmark: Turmeric against the equivalent CPython code, in one run.

Run from anywhere:

    python bench/interp.py              # best of 5, writes docs/benchmarks.md
    python bench/interp.py --repeat 3   # best of 3
    python bench/interp.py --no-write   # print the table only

Each benchmark is run once as a warm-up, then `--repeat` times; the best (smallest) wall
time of those runs is reported, for Turmeric and for CPython alike. The Turmeric program is
compiled once before timing; each timed run evaluates one call expression through the
public `Runtime.eval_text` API (compiling that one-form expression is negligible).

The table is written into docs/benchmarks.md between the markers
`<!-- interp:start -->` and `<!-- interp:end -->`; the rest of that file belongs to other
benchmarks and is left alone. Timings are informational: nothing here asserts on them.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from bench.docsection import machine_info, write_section  # noqa: E402
from tmweb.lang import Runtime  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"

FIB_N = 25
LOOP_N = 1_000_000
SHIFT_N = 100_000

#: The bar for fib(25): Turmeric time / CPython time.
FIB_BAR = 60.0
FIB_GOAL = 3.0

TURMERIC_SRC = """
(defn fib [n]
  (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))

(defn lp [i acc]
  (if (= i 0) acc (lp (- i 1) (+ acc 1))))

(defn shift-loop [n]
  (loop [i 0 acc 0]
    (if (= i n)
      acc
      (recur (+ i 1)
             (+ acc (cloneable-reset
                      (fn [] (+ 1 (cloneable-shift [k] (resume k i))))))))))
"""


# -- CPython baselines ----------------------------------------------------------------


def py_fib(n: int) -> int:
    return n if n < 2 else py_fib(n - 1) + py_fib(n - 2)


def py_loop(i: int, acc: int) -> int:
    while i != 0:
        i, acc = i - 1, acc + 1
    return acc


def _one_plus_hole():
    # The generator is the captured continuation `(+ 1 _)`: it suspends at the
    # hole (the shift point) and is resumed with the hole's value.
    v = yield
    return 1 + v


def py_shift_loop(n: int) -> int:
    acc = 0
    for i in range(n):
        k = _one_plus_hole()
        next(k)  # run up to the capture point
        try:
            k.send(i)  # resume k with i
        except StopIteration as done:
            acc += done.value
    return acc


# -- timing ---------------------------------------------------------------------------


def best_of(fn: Callable[[], Any], repeat: int, expected: Any) -> float:
    """Warm up once, then the best wall time of `repeat` runs; checks the answer."""
    got = fn()
    if got != expected:
        raise SystemExit(f"benchmark returned {got!r}, expected {expected!r}")
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(repeat: int) -> list[tuple[str, float, float]]:
    rt = Runtime()
    mod = rt.module("bench")
    rt.eval_text(TURMERIC_SRC, mod, "bench.tm")

    def tm(expr: str) -> Callable[[], Any]:
        return lambda: rt.eval_text(expr, mod, "<bench>")

    shift_expected = SHIFT_N * (SHIFT_N - 1) // 2 + SHIFT_N
    cases = [
        (
            f"fib({FIB_N}) (non-tail recursion)",
            tm(f"(fib {FIB_N})"),
            lambda: py_fib(FIB_N),
            py_fib(FIB_N),
        ),
        (
            f"tail-recursive loop, {LOOP_N:,} iterations",
            tm(f"(lp {LOOP_N} 0)"),
            lambda: py_loop(LOOP_N, 0),
            LOOP_N,
        ),
        (
            f"shift/resume loop, {SHIFT_N:,} captures",
            tm(f"(shift-loop {SHIFT_N})"),
            lambda: py_shift_loop(SHIFT_N),
            shift_expected,
        ),
    ]
    rows = []
    for name, tm_fn, py_fn, expected in cases:
        t_tm = best_of(tm_fn, repeat, expected)
        t_py = best_of(py_fn, repeat, expected)
        rows.append((name, t_tm, t_py))
        print(f"  {name}: Turmeric {t_tm:.4f} s, CPython {t_py:.4f} s", file=sys.stderr)
    return rows


# -- report ---------------------------------------------------------------------------




def render(rows: list[tuple[str, float, float]], repeat: int) -> str:
    today = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "### Interpreter: Turmeric vs CPython (`python bench/interp.py`)",
        "",
        f"- Date: {today}",
        f"- Machine: {machine_info()}",
        f"- Method: one warm-up, then best of {repeat} wall-clock runs (`time.perf_counter`), "
        "each side in the same process run.",
        "",
        "| benchmark | Turmeric s | CPython s | ratio |",
        "|---|---:|---:|---:|",
    ]
    fib_ratio = None
    for name, t_tm, t_py in rows:
        ratio = t_tm / t_py if t_py > 0 else float("inf")
        if name.startswith("fib"):
            fib_ratio = ratio
        lines.append(f"| {name} | {t_tm:.4f} | {t_py:.4f} | {ratio:.1f}x |")
    lines.append("")
    bar = f"Bar: fib({FIB_N}) at most {FIB_BAR:g}x CPython; goal {FIB_GOAL:g}x."
    if fib_ratio is not None:
        verdict = (
            "meets the goal"
            if fib_ratio <= FIB_GOAL
            else "within the bar"
            if fib_ratio <= FIB_BAR
            else "OVER the bar"
        )
        bar += f" This run: {fib_ratio:.1f}x ({verdict})."
    lines.append(bar)
    lines.append(
        "The CPython shift/resume baseline is a generator per iteration: `next` runs it to "
        "the capture point, `send(i)` resumes it."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per benchmark (best kept)")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    rows = run(max(1, args.repeat))
    section = render(rows, max(1, args.repeat))
    print(section)
    if not args.no_write:
        write_section("interp", "Interpreter", section)
        print(f"\nwrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
