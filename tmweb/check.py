"""`tmweb check DIR`: compile every module, report every error with its position.

`tmweb serve` runs the same checks (`tmweb.web.checks`) before it starts."""

from __future__ import annotations

import os
import sys

from .web.checks import find_problems


def check_dir(root: str) -> int:
    if not os.path.isdir(root):
        print(f"error: no such folder: {root}", file=sys.stderr)
        return 1
    result = find_problems(root)
    if result.problems:
        print(result.report(), file=sys.stderr)
        return 1
    n = result.modules
    print(f"ok: {n} module{'s' if n != 1 else ''} compiled")
    return 0
