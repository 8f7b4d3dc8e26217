"""`tmweb repl`: read forms (across lines), print their values, survive errors."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from .lang.errors import TurmericError
from .lang.machine import ExitRequest, StepLimitExceeded
from .lang.printer import pr_str
from .lang.reader import incomplete, read_all
from .lang.runtime import Runtime

HISTORY = os.path.expanduser("~/.tmweb_history")
PROMPT = "tm> "
MORE = "... "


def _incomplete(text: str) -> bool:
    """True while the text so far ends inside an open list, vector, map or string."""
    return incomplete(text)


def _setup_history() -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return
    try:
        readline.read_history_file(HISTORY)
    except OSError:
        pass
    import atexit

    atexit.register(_save_history, readline)


def _save_history(readline: object) -> None:
    try:
        readline.write_history_file(HISTORY)  # type: ignore[attr-defined]
    except OSError:
        pass


def repl(stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run the REPL until end of input or `(exit)`."""
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    interactive = stdin.isatty()
    if interactive:
        _setup_history()
        print("Turmeric REPL. Ctrl-D to quit.", file=out)
    rt = Runtime()
    module = rt.module("user")
    buf = ""
    while True:
        prompt = MORE if buf else PROMPT
        try:
            if interactive:
                line = input(prompt)
            else:
                out.write(prompt)
                out.flush()
                line = stdin.readline()
                if not line:
                    raise EOFError
                line = line.rstrip("\n")
        except EOFError:
            out.write("\n")
            if buf.strip():
                try:
                    read_all(buf, "<repl>", indentation=False)
                except TurmericError as e:
                    print(e.format(), file=sys.stderr if stdout is None else out)
                    return 1
            return 0
        except KeyboardInterrupt:
            out.write("\n")
            buf = ""
            continue
        buf += line + "\n"
        if not buf.strip() or _incomplete(buf):
            if not buf.strip():
                buf = ""
            continue
        text, buf = buf, ""
        try:
            forms = read_all(text, "<repl>", indentation=False)
            for f in forms:
                from .lang.runtime import ModuleCompiler

                v = ModuleCompiler(rt, module).run_form(f)
                out.write(pr_str(v) + "\n")
        except TurmericError as e:
            sys.stdout.flush()
            print(e.format(), file=sys.stderr if stdout is None else out)
        except StepLimitExceeded as e:
            print(f"error: {e}", file=sys.stderr if stdout is None else out)
        except ExitRequest as e:
            return e.code
        out.flush()
