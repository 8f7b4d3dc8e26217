"""`tmweb serve`: run an app folder under uvicorn, with workers and reload.

Configuration travels to worker processes through TMWEB_* environment variables, so
`--workers N` and `--reload` (which start fresh processes) see the same settings.

Before it starts, serve runs the checks of `tmweb check` and compiles the app: a problem
makes it exit 1 with every problem listed. With `--reload` (development) it starts anyway,
and each worker that cannot load the app serves the error page instead (load_error.py).
"""

from __future__ import annotations

import copy
import logging
import os
import re
import socket
import sys
from typing import Any

_TOKEN_IN_PATH = re.compile(r"((?:/k/|[?&]token=)[^/?&\s]{8})[^/?&\s]*")


class RedactTokens(logging.Filter):
    """Access logs show only the first characters of a continuation token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_PATH.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = _TOKEN_IN_PATH.sub(r"\1…", record.msg)
        return True


def log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg.setdefault("filters", {})["redact_tokens"] = {"()": "tmweb.web.serve.RedactTokens"}
    cfg["handlers"]["access"].setdefault("filters", []).append("redact_tokens")
    cfg["loggers"]["tmweb"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return cfg


def tcp_listener(sock: socket.socket) -> socket.socket:
    """`sock`, a listening TCP socket, made to say it is TCP (`proto` 6), so that asyncio
    turns Nagle's algorithm off (`TCP_NODELAY`) on the connections it accepts.

    asyncio sets `TCP_NODELAY` only on a socket whose `proto` is `IPPROTO_TCP`, and an
    accepted socket inherits `proto` from the listener. uvicorn before the fix of its issue
    3149 binds the socket of `--workers N` (and `--reload`) with `proto` 0, so there every
    response whose body is written after its headers waits for the client's delayed ACK:
    about 40 ms per request (docs/decisions.md). One worker is not affected: asyncio makes
    that listener itself, from `getaddrinfo`."""
    if (
        sock.family in (socket.AF_INET, socket.AF_INET6)
        and sock.type == socket.SOCK_STREAM
        and sock.proto != socket.IPPROTO_TCP
    ):
        inheritable = sock.get_inheritable()
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        sock.set_inheritable(inheritable)
    return sock


def _listen_with_nodelay() -> None:
    """Make uvicorn's `Config.bind_socket` (the socket of several workers) go through
    `tcp_listener`, whatever uvicorn version is installed. `uvicorn.run` builds its own
    `Config`, so this is the one place to reach that socket."""
    from uvicorn.config import Config

    bind = Config.bind_socket
    if getattr(bind, "tmweb_tcp_listener", False):
        return

    def bind_socket(self: Config) -> socket.socket:
        return tcp_listener(bind(self))

    bind_socket.tmweb_tcp_listener = True  # type: ignore[attr-defined]
    Config.bind_socket = bind_socket  # type: ignore[method-assign]


def app_from_env() -> Any:
    """The ASGI app for uvicorn's factory mode, configured from TMWEB_* variables."""
    from ..lang.errors import TurmericError

    if os.environ.get("TMWEB_RELOAD") == "1" and os.environ.get("TMWEB_DEBUG") == "1":
        from .load_error import load_or_explain

        return load_or_explain(os.environ["TMWEB_APP_DIR"], _app_from_env)
    try:
        return _app_from_env()
    except TurmericError as e:  # changed since serve checked it: exit, as at the start
        print(e.format(), file=sys.stderr)
        raise SystemExit(1) from None


def served_app_from_env() -> Any:
    """What `tmweb serve`'s processes run: `app_from_env()` with a workflow worker started
    by the server's lifespan (docs/workflows.md), unless TMWEB_WORKFLOWS=0."""
    from ..workflow import DEFAULT_LEASE, with_worker

    app = app_from_env()
    engine = getattr(app, "workflows", None)  # none on the error page of --reload
    if engine is None or os.environ.get("TMWEB_WORKFLOWS", "1") == "0":
        return app
    lease = float(os.environ.get("TMWEB_WORKFLOW_LEASE", DEFAULT_LEASE))
    return with_worker(app, lambda: engine, lease=lease)


def _app_from_env() -> Any:
    from .app import App

    return App(
        os.environ["TMWEB_APP_DIR"],
        store=os.environ.get("TMWEB_STORE") or None,
        secret_key=None,
        debug=os.environ.get("TMWEB_DEBUG") == "1",
        ttl=int(os.environ.get("TMWEB_TTL", "3600")),
        redirect_after_post=os.environ.get("TMWEB_REDIRECT_AFTER_POST", "1") != "0",
        bind_to_session=os.environ.get("TMWEB_BIND_TO_SESSION", "1") != "0",
        sensitive_headers=[h for h in os.environ.get("TMWEB_SENSITIVE_HEADERS", "").split(",") if h],
        **limits_from_env(),
    )


#: App keyword -> the TMWEB_* variable that carries it to worker processes.
_LIMITS = {
    "max_continuation_bytes": "TMWEB_MAX_CONTINUATION_BYTES",
    "session_max_continuations": "TMWEB_SESSION_MAX_CONTINUATIONS",
    "session_max_bytes": "TMWEB_SESSION_MAX_BYTES",
    "store_max_bytes": "TMWEB_STORE_MAX_BYTES",
}


def limits_from_env() -> dict[str, int]:
    """The size limits and budgets set by `tmweb serve` flags (absent: App's defaults)."""
    return {name: int(os.environ[var]) for name, var in _LIMITS.items() if os.environ.get(var)}


def serve(
    app_dir: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    store: str | None = None,
    secret_key: str | None = None,
    ttl: int = 3600,
    workers: int = 1,
    reload: bool = False,
    debug: bool = False,
    imports: list[str] | None = None,
    redirect_after_post: bool = True,
    bind_to_session: bool = True,
    sensitive_headers: list[str] | None = None,
    limits: dict[str, int | None] | None = None,
) -> int:
    import uvicorn

    from ..lang.errors import TurmericError
    from .app import App, resolve_secret_keys
    from .checks import find_problems, import_modules
    from .errors import TmwebError

    app_dir = os.path.abspath(app_dir)
    if not os.path.isdir(app_dir):
        print(f"error: no such app folder: {app_dir}", file=sys.stderr)
        return 1
    production = os.environ.get("TMWEB_ENV") == "production"
    try:
        keys = resolve_secret_keys(secret_key, app_dir)
    except TmwebError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    os.environ["TMWEB_APP_DIR"] = app_dir
    os.environ["TMWEB_SECRET_KEY"] = ",".join(keys)
    os.environ["TMWEB_TTL"] = str(ttl)
    os.environ["TMWEB_DEBUG"] = "1" if (debug or not production) else "0"
    os.environ["TMWEB_REDIRECT_AFTER_POST"] = "1" if redirect_after_post else "0"
    os.environ["TMWEB_BIND_TO_SESSION"] = "1" if bind_to_session else "0"
    os.environ["TMWEB_SENSITIVE_HEADERS"] = ",".join(sensitive_headers or [])
    for name, var in _LIMITS.items():
        value = (limits or {}).get(name)
        if value is not None:
            os.environ[var] = str(value)
    os.environ["TMWEB_RELOAD"] = "1" if reload else "0"
    if store:
        os.environ["TMWEB_STORE"] = store
    if imports:
        os.environ["TMWEB_IMPORTS"] = ",".join(imports)
        sys.path.insert(0, os.getcwd())
        os.environ["PYTHONPATH"] = os.pathsep.join([os.getcwd(), *filter(None, [os.environ.get("PYTHONPATH")])])
        problem = import_modules(imports)  # they register Python functions the checks must know
        if problem:
            print(problem, file=sys.stderr)
            return 1
    # check and compile the app once here, so mistakes are reported before the server
    # starts; in development with --reload the workers show them as a page instead
    error_page = reload and os.environ["TMWEB_DEBUG"] == "1"
    result = find_problems(app_dir)
    if result.problems and not error_page:
        print(result.report(), file=sys.stderr)
        return 1
    try:
        if not result.problems:
            App(app_dir, store=os.environ.get("TMWEB_STORE") or None, ttl=ttl, **limits_from_env())
    except TurmericError as e:
        if not error_page:
            print(e.format(), file=sys.stderr)
            return 1
    except TmwebError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    _listen_with_nodelay()
    uvicorn.run(
        "tmweb.web.serve:served_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers if not reload else None,
        reload=reload,
        reload_dirs=[app_dir] if reload else None,
        reload_includes=["*.tm", "*.html", "*.css"] if reload else None,
        log_config=log_config(),
        timeout_graceful_shutdown=5,
    )
    return 0
