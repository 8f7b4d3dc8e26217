"""What `tmweb check` and `tmweb serve` find wrong with an app before it runs: every
module compiled (definitions only, top-level forms do not run), every syntax or compile
error and every symbol no module defines, each with its file:line:col."""

from __future__ import annotations

import importlib
import os
import traceback
from dataclasses import dataclass

from ..lang.errors import TurmericError, unbound
from ..lang.modules import default_roots, find_modules, module_name_for
from ..lang.runtime import Runtime
from . import builtins as web_builtins


class _CheckApp:
    """Stands in for a `tmweb.App` while checking: collects routes, serves nothing."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, str, object]] = []

    def add_route(self, method: object, path: object, fn: object) -> None:
        self.routes.append((str(method), str(path), fn))


def _with_web(rt: Runtime) -> None:
    """Give the checker the web functions and `defroute`, as `tmweb serve` would."""
    web_builtins.install(rt, _CheckApp())


@dataclass(frozen=True)
class Problem:
    """One mistake found by the check: `text` is what `tmweb check` prints (it starts with
    file:line:col), `error` the Turmeric error behind it (its position and trace)."""

    text: str
    error: TurmericError


@dataclass(frozen=True)
class CheckResult:
    problems: list[Problem]
    modules: int

    def summary(self) -> str:
        mods = f"{self.modules} module{'s' if self.modules != 1 else ''}"
        n = len(self.problems)
        return f"{n} problem{'s' if n != 1 else ''} in {mods}"

    def report(self) -> str:
        """Every problem, then the count: the text `tmweb check` and `tmweb serve` print."""
        return "\n".join([p.text for p in self.problems] + [self.summary()])


def find_problems(root: str) -> CheckResult:
    """Compile every module under `root` (definitions only: top-level forms do not run) and
    collect each syntax or compile error and each symbol no module defines."""
    files = find_modules(root)
    rt = Runtime(roots=default_roots(os.path.abspath(root)))
    _with_web(rt)
    problems: list[Problem] = []
    for path in files:
        name = module_name_for(path, root)
        if name in rt.modules:
            continue
        try:
            m = rt.load_module(name, defs_only=True)
        except TurmericError as e:
            text = e.format()
            if not (path in text or (e.pos and e.pos.file == path)):
                text = f"{path}: {text}"
            problems.append(Problem(text, e))
            continue
        for cell_name, pos in sorted(m.unresolved.items()):
            c = m.cells.get(cell_name)
            if c is not None and not c.bound and cell_name not in m.toplevel_names:
                where = f"{pos}" if pos else os.path.relpath(path)
                problems.append(Problem(f"{where}: unbound symbol {cell_name}", unbound(cell_name, pos)))
    return CheckResult(problems, len(files))


def import_modules(modules: list[str]) -> str | None:
    """Import each of `modules` (`--import`); the first failure as one line saying which
    module, what, and where in its file, or None."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as e:  # the user's Python module: say where, without a traceback
            where = ""
            tb = traceback.extract_tb(e.__traceback__)
            own = [f for f in tb if "importlib" not in f.filename and f.filename != __file__]
            if isinstance(e, SyntaxError) and e.filename:
                where = f" ({e.filename}:{e.lineno})"
            elif own:
                where = f" ({own[-1].filename}:{own[-1].lineno})"
            return f"error: --import {module}: {type(e).__name__}: {e}{where}"
    return None
