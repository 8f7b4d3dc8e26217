"""`tmweb repl`: read forms (across lines), print their values, survive errors."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from .lang.errors import UNBOUND_SYMBOL, TurmericError
from .lang.machine import ExitRequest, StepLimitExceeded
from .lang.printer import pr_str
from .lang.reader import incomplete, read_all
from .lang.runtime import Runtime
from .lang.values import Symbol, TList

HISTORY = os.path.expanduser("~/.tmweb_history")
PROMPT = "tm> "
MORE = "... "

#: The web functions that need a running request. The REPL is plain Turmeric: it has none
#: of tmweb's web functions, and says where they work instead of just "unbound symbol".
REQUEST_FUNCTIONS = frozenset({
    "send/suspend", "send/suspend/dispatch", "send/forward", "send/finish", "send/back",
    "redirect/get", "current-request", "save-continuation", "load-continuation",
    "expire-flow", "continuation-url",
})
#: The other functions (and error structs) an app's modules have.
APP_FUNCTIONS = frozenset({
    "render", "html", "raw", "json", "redirect", "response", "response?", "url-for",
    "path-param", "query-param", "form-data", "parse-form-data", "request-method",
    "request-path", "header", "cookie", "continuation-expired", "continuation-too-large",
    # durable workflows (tmweb/workflow/): an app runs them in its store
    "checkpoint", "workflow/start", "workflow/status", "workflow/signal", "workflow/step",
    "workflow/step-key", "workflow/id", "workflow/sleep", "workflow/await-signal",
    "workflow/migrate",
})


def web_hint(e: TurmericError, form: Any = None) -> str | None:
    """A line that says where a web function works, when `e` is the REPL not knowing one
    (or `form` is a `defroute`); None for any other error."""
    v = e.value
    if getattr(v, "type", None) is not UNBOUND_SYMBOL:
        return None
    name = str(v.vals[0])
    if form.__class__ is TList and len(form) and form.head == Symbol("defroute"):
        name = "defroute"
    if name in REQUEST_FUNCTIONS:
        return (
            f"hint: {name} works inside a request handler: define a route with defroute in "
            "a .tm file of an app folder and serve the app with `tmweb serve APP_DIR`; the "
            "REPL runs no request, so it has none of the send/... functions"
        )
    if name == "defroute":
        return (
            "hint: defroute defines a route of a tmweb app: put it in a .tm file of an app "
            "folder and serve the app with `tmweb serve APP_DIR` (the REPL is plain Turmeric)"
        )
    if name in APP_FUNCTIONS:
        return (
            f"hint: {name} is one of tmweb's web functions: it works in the modules of an app "
            "folder served with `tmweb serve APP_DIR` (the REPL is plain Turmeric)"
        )
    return None


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
        f: Any = None
        try:
            forms = read_all(text, "<repl>", indentation=False)
            for f in forms:
                from .lang.runtime import ModuleCompiler

                v = ModuleCompiler(rt, module).run_form(f)
                out.write(pr_str(v) + "\n")
        except TurmericError as e:
            sys.stdout.flush()
            print(e.format(), file=sys.stderr if stdout is None else out)
            hint = web_hint(e, f)
            if hint:
                print(hint, file=sys.stderr if stdout is None else out)
        except StepLimitExceeded as e:
            print(f"error: {e}", file=sys.stderr if stdout is None else out)
        except ExitRequest as e:
            return e.code
        out.flush()
