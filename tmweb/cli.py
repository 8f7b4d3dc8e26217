"""The `tmweb` command: run, repl, check (and, as the framework grows, serve, inspect)."""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Callable

from .lang.errors import TurmericError
from .lang.machine import ExitRequest, StepLimitExceeded

EXIT_ERROR = 1
EXIT_INTERNAL = 70


def _guard(fn: Callable[[], int]) -> int:
    """Run a command; user mistakes print a Turmeric message, bugs a labelled traceback."""
    try:
        return fn()
    except TurmericError as e:
        print(e.format(), file=sys.stderr)
        return EXIT_ERROR
    except ExitRequest as e:
        return e.code
    except StepLimitExceeded as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        print("internal error (this is a bug in tmweb; please report it):", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL


def cmd_run(args: argparse.Namespace) -> int:
    from .lang.builtins import sysio
    from .lang.modules import default_roots
    from .lang.runtime import Runtime

    path = args.file
    if not os.path.isfile(path):
        print(f"error: no such file: {path}", file=sys.stderr)
        return EXIT_ERROR

    def go() -> int:
        sysio.ARGS[:] = list(args.args)
        rt = Runtime(roots=default_roots(os.path.dirname(os.path.abspath(path))))
        rt.load_file(path)
        sys.stdout.flush()
        return 0

    return _guard(go)


def cmd_repl(args: argparse.Namespace) -> int:
    from .repl import repl

    return _guard(lambda: repl())


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_dir

    return _guard(lambda: check_dir(args.dir, args.imports))


def cmd_inspect(args: argparse.Namespace) -> int:
    from .inspect import InspectError, describe, fetch_token, token_of
    from .lang.modules import default_roots
    from .lang.runtime import Runtime

    target = args.target

    def go() -> int:
        try:
            if os.path.isfile(target):
                with open(target, "rb") as f:
                    data = f.read()
                rt = Runtime(roots=default_roots(args.root or os.path.dirname(os.path.abspath(target))))
            else:
                root = args.root or os.getcwd()
                data = fetch_token(token_of(target), root, args.store, args.secret_key)
                # a web continuation: its code was compiled with the web functions
                from .web.app import App
                from .web.errors import TmwebError

                try:
                    rt = App(root, store=args.store, secret_key=args.secret_key).rt
                except TmwebError as e:
                    raise InspectError(str(e)) from None
        except InspectError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_ERROR
        print(describe(data, rt))
        return 0

    return _guard(go)


def cmd_serve(args: argparse.Namespace) -> int:
    from .web.serve import serve

    return _guard(
        lambda: serve(
            args.app_dir,
            host=args.host,
            port=args.port,
            store=args.store,
            secret_key=args.secret_key,
            ttl=args.ttl,
            workers=args.workers,
            reload=args.reload,
            debug=args.debug,
            imports=args.imports,
            redirect_after_post=args.redirect_after_post,
            bind_to_session=args.bind_to_session,
            sensitive_headers=args.sensitive_headers,
            limits={
                "max_continuation_bytes": args.max_continuation_bytes,
                "session_max_continuations": args.session_max_continuations,
                "session_max_bytes": args.session_max_bytes,
                "store_max_bytes": args.store_max_bytes,
            },
        )
    )


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 1000**2, "mb": 1000**2,
          "mib": 1 << 20, "g": 1000**3, "gb": 1000**3, "gib": 1 << 30}  # fmt: skip


def byte_size(text: str) -> int:
    """A size from the command line: `262144`, `256KiB`, `8MiB`, `1GB` (case ignored)."""
    m = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if m is None or m.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: write e.g. 262144, 256KiB, 8MiB or 1GB")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tmweb", description="tmweb: continuation-based web framework and the Turmeric language."
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve a tmweb app folder over HTTP")
    s.add_argument("app_dir", help="the app folder (.tm modules, templates/, static/)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    s.add_argument("--store", default=None, help="redis://host:6379/0 or sqlite:///path (default: SQLite in APP_DIR/.tmweb; env TMWEB_STORE)")
    s.add_argument("--secret-key", default=None, help="signing key(s), comma-separated, newest first (env TMWEB_SECRET_KEY)")
    s.add_argument("--ttl", type=int, default=3600, help="seconds a continuation stays resumable")
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--reload", action="store_true", help="restart when .tm or template files change")
    s.add_argument("--debug", action="store_true", help="error pages with Turmeric stack traces (default unless TMWEB_ENV=production)")
    s.add_argument("--no-redirect-after-post", dest="redirect_after_post", action="store_false",
                   help="answer each POST with its page, not a 303 to a GET URL of it")
    s.add_argument("--no-session-binding", dest="bind_to_session", action="store_false",
                   help="let any browser holding a continuation URL resume it (default: only the browser session that made it)")
    s.add_argument("--sensitive-header", dest="sensitive_headers", action="append", default=[], metavar="NAME",
                   help="a request header that saved continuations must not keep, like Cookie and Authorization (repeatable)")
    s.add_argument("--max-continuation-bytes", type=byte_size, default=None, metavar="SIZE",
                   help="largest serialized continuation, checked while writing (default 256KiB)")
    s.add_argument("--session-max-continuations", type=int, default=None, metavar="N",
                   help="live continuations one browser session may keep; its oldest are evicted beyond (default 500)")
    s.add_argument("--session-max-bytes", type=byte_size, default=None, metavar="SIZE",
                   help="bytes of continuations one browser session may keep; its oldest are evicted beyond (default 8MiB)")
    s.add_argument("--store-max-bytes", type=byte_size, default=None, metavar="SIZE",
                   help="SQLite store only: the file's budget; the continuations closest to expiring are evicted beyond (default: none)")
    s.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="a Python module to import first; it registers Python functions with tmweb.lang.register_python (repeatable)")
    s.set_defaults(fn=cmd_serve)

    r = sub.add_parser("run", help="run a Turmeric program")
    r.add_argument("file", help="the main .tm file")
    r.add_argument("args", nargs=argparse.REMAINDER, help="arguments for (command-line-args)")
    r.set_defaults(fn=cmd_run)

    q = sub.add_parser("repl", help="an interactive Turmeric prompt")
    q.set_defaults(fn=cmd_repl)

    c = sub.add_parser("check", help="compile every module under DIR and report errors")
    c.add_argument("dir", help="an app or source folder")
    c.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="a Python module to import first, as `tmweb serve --import` does: the "
                        "functions it registers are not unbound symbols (repeatable)")
    c.set_defaults(fn=cmd_check)

    i = sub.add_parser("inspect", help="show a serialized continuation or value (a file, a token or a continuation URL)")
    i.add_argument("target", help="a file written with (write-file path (serialize v)), a continuation token, or its whole URL (http://host/k/TOKEN)")
    i.add_argument("--root", metavar="APP_DIR", help="the app folder (its modules, key and store) or, for a file, the folder of the modules whose code it holds (default: the file's folder, or the current folder for a token)")
    i.add_argument("--store", default=None, help="the store of a token: redis://... or sqlite:///... (default: TMWEB_STORE or the app's SQLite file)")
    i.add_argument("--secret-key", default=None, help="the key the token was signed with (default: TMWEB_SECRET_KEY or the app's dev key)")
    i.set_defaults(fn=cmd_inspect)

    from .workflow_cli import add_commands

    add_commands(sub, _guard)  # tmweb worker, tmweb workflow ...
    return p


def main(argv: list[str] | None = None) -> int:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    for stream in (sys.stdout, sys.stderr):  # a string with a lone surrogate still prints
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
