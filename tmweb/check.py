"""`tmweb check DIR`: compile every module, report every error with its position.

`tmweb serve` runs the same checks (`tmweb.web.checks`) before it starts."""

from __future__ import annotations

import os
import sys

from .web.checks import find_problems, import_modules


def check_dir(root: str, imports: list[str] | None = None) -> int:
    if not os.path.isdir(root):
        print(f"error: no such folder: {root}", file=sys.stderr)
        return 1
    if imports:  # as `tmweb serve --import`: from the current folder
        sys.path.insert(0, os.getcwd())
        problem = import_modules(imports)
        if problem:
            print(problem, file=sys.stderr)
            return 1
    result = find_problems(root)
    if result.problems:
        print(result.report(), file=sys.stderr)
        return 1
    n = result.modules
    print(f"ok: {n} module{'s' if n != 1 else ''} compiled")
    return 0
