"""`tmweb check DIR`: compile every module, report every error with its position."""

from __future__ import annotations

import os
import sys

from .lang.errors import TurmericError
from .lang.modules import default_roots, find_modules, module_name_for
from .lang.runtime import Runtime
from .web import builtins as web_builtins


class _CheckApp:
    """Stands in for a `tmweb.App` while checking: collects routes, serves nothing."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, str, object]] = []

    def add_route(self, method: object, path: object, fn: object) -> None:
        self.routes.append((str(method), str(path), fn))


def _with_web(rt: Runtime) -> None:
    """Give the checker the web functions and `defroute`, as `tmweb serve` would."""
    web_builtins.install(rt, _CheckApp())


def check_dir(root: str) -> int:
    if not os.path.isdir(root):
        print(f"error: no such folder: {root}", file=sys.stderr)
        return 1
    files = find_modules(root)
    rt = Runtime(roots=default_roots(os.path.abspath(root)))
    _with_web(rt)
    problems = 0
    for path in files:
        name = module_name_for(path, root)
        if name in rt.modules:
            continue
        try:
            m = rt.load_module(name, defs_only=True)
        except TurmericError as e:
            problems += 1
            text = e.format()
            print(text if path in text or (e.pos and e.pos.file == path) else f"{path}: {text}", file=sys.stderr)
            continue
        for cell_name, pos in sorted(m.unresolved.items()):
            c = m.cells.get(cell_name)
            if c is not None and not c.bound and cell_name not in m.toplevel_names:
                problems += 1
                where = f"{pos}" if pos else os.path.relpath(path)
                print(f"{where}: unbound symbol {cell_name}", file=sys.stderr)
    if problems:
        mods = f"{len(files)} module{'s' if len(files) != 1 else ''}"
        print(f"{problems} problem{'s' if problems != 1 else ''} in {mods}", file=sys.stderr)
        return 1
    print(f"ok: {len(files)} module{'s' if len(files) != 1 else ''} compiled")
    return 0
