"""`tmweb.App`: an ASGI app serving a folder of Turmeric modules.

Every request runs its handler on a fresh machine under a delimiter. `send/suspend`
stores the rest of the handler and answers with a page; `/k/{token}` loads it back and
resumes it with the request's data. Continuations are saved and loaded by one
`Continuations` service (continuations.py). Endpoints raise, and Starlette's exception
handlers answer each error with one of tmweb's pages; two ASGI middlewares add the
security headers and limit the request body. Everything the app needs is set up in
`__init__` (Starlette does not run a mounted app's lifespan); the store opens on first use.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    TemplateNotFound,
    select_autoescape,
)
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from .. import workflow
from ..lang.builtins.registry import REGISTRY
from ..lang.code import Continuation
from ..lang.errors import TurmericError, type_error, user_error
from ..lang.machine import Machine, StepLimitExceeded
from ..lang.modules import default_roots, find_modules, module_name_for
from ..lang.printer import pr_str
from ..lang.runtime import Runtime
from ..lang.values import Keyword, Struct, TMap
from . import answers, pages
from . import builtins as web_builtins
from .builtins import CURRENT, RESPONSE, RequestCtx
from .continuations import Continuations, is_step
from .convert import multi_to_map
from .errors import (
    ConfigError,
    ContinuationExpired,
    ContinuationForbidden,
    ContinuationInvalid,
    ContinuationUnloadable,
    RequestTooLarge,
    StoreUnavailable,
)
from .middleware import BodyLimit, SecurityHeaders, SessionCookie
from .recent import Page, RecentPages
from .stores import OwnerLimits, Store, open_store, private_folder
from .tokens import Tokens, redact

log = logging.getLogger("tmweb")

#: Headers a saved request never keeps, whatever the app adds (`sensitive_headers`).
SENSITIVE_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})

#: The `resume` built-in: a resumed continuation runs as `(resume k data)` under a fresh
#: delimiter, as any other call a request starts.
RESUME = REGISTRY["resume"]
#: Builds a step's page again: an error's trace goes on with the suspended handler's frames.
WITH_SUSPENDED = REGISTRY["%with-suspended"]


class App:
    """An ASGI app for the tmweb app in `app_dir`.

    `clock` (seconds since the epoch, `time.time` by default) is the time tokens are signed
    and checked with, and that the embedded SQLite store expires rows by; tests pass a fake
    one to let continuations expire without waiting.
    """

    def __init__(
        self,
        app_dir: str,
        store: str | Store | None = None,
        secret_key: str | list[str] | None = None,
        debug: bool = False,
        ttl: int = 3600,
        *,
        max_body_bytes: int = 1 << 20,
        max_continuation_bytes: int = 256 << 10,
        max_steps: int = 10_000_000,
        imports: list[str] | None = None,
        clock: Callable[[], float] = time.time,
        redirect_after_post: bool = True,
        bind_to_session: bool = True,
        sensitive_headers: list[str] | None = None,
        session_max_continuations: int = 500,
        session_max_bytes: int = 8 << 20,
        store_max_bytes: int | None = None,
    ) -> None:
        self.app_dir = os.path.abspath(app_dir)
        if not os.path.isdir(self.app_dir):
            raise ConfigError(f"app folder not found: {app_dir}")
        self.debug = debug
        self.ttl = int(ttl)
        self.max_body_bytes = max_body_bytes
        self.max_continuation_bytes = max_continuation_bytes
        self.max_steps = max_steps
        #: A POST that resumes a step and reaches the next one answers 303 to its URL.
        self.redirect_after_post = redirect_after_post
        #: Continuations are bound to the browser session that made them (403 for others).
        self.bind_to_session = bind_to_session
        #: Headers a saved request never keeps (lower case); the handler reads them from
        #: the current request.
        self.sensitive_headers = SENSITIVE_HEADERS | {h.strip().lower() for h in sensitive_headers or () if h.strip()}
        keys = resolve_secret_keys(secret_key, self.app_dir)
        tokens = Tokens(keys, clock=clock)
        limits = _session_limits(session_max_continuations, session_max_bytes, max_continuation_bytes)
        if store_max_bytes is not None and store_max_bytes < 4 * max_continuation_bytes + (1 << 20):
            raise ConfigError(
                f"store_max_bytes={store_max_bytes} is too small: give the store at least "
                f"1 MiB plus four continuations of the largest size ({max_continuation_bytes} bytes)"
            )
        store_url = (store or os.environ.get("TMWEB_STORE")) if store is None or isinstance(store, str) else None
        if store is None or isinstance(store, str):
            store = open_store(
                store or os.environ.get("TMWEB_STORE"), self.app_dir, clock=clock, max_bytes=store_max_bytes
            )
        elif store_max_bytes is not None:
            raise ConfigError("store_max_bytes applies to a store the app opens from a URL, not to a store object")
        self.routes: list[tuple[str, str, Any]] = []
        for module in imports or [m for m in os.environ.get("TMWEB_IMPORTS", "").split(",") if m]:
            importlib.import_module(module)  # registers Python functions for the app's code
        self.rt = Runtime(roots=default_roots(self.app_dir))
        self.continuations = Continuations(
            store, tokens, self.rt, ttl=self.ttl, max_bytes=max_continuation_bytes, limits=limits
        )
        #: The app's durable workflows, in its store (opened on first use).
        self.workflows = workflow.for_store(self.rt, store_url, store, self.app_dir)
        web_builtins.install(self.rt, self)
        self.jinja = self._make_jinja()
        #: pages built by a POST that answered 303, for the GET that follows
        self.recent = RecentPages()
        for path in find_modules(self.app_dir):
            if os.sep + "templates" + os.sep in path or os.sep + "static" + os.sep in path:
                continue
            self.rt.load_module(module_name_for(path, self.app_dir))
        self.starlette = Starlette(
            debug=False,
            routes=self._routes(),
            middleware=[Middleware(BodyLimit, max_bytes=max_body_bytes)],
            exception_handlers=self._exception_handlers(),
        )
        # outside Starlette's own error middleware, so its bare 500 carries them too
        production = os.environ.get("TMWEB_ENV") == "production"
        self._asgi = SecurityHeaders(SessionCookie(self.starlette, keys, secure=production))

    @property
    def tokens(self) -> Tokens:
        return self.continuations.tokens

    @property
    def store(self) -> Store:
        """Opened (and its URL checked) in __init__; it connects on first use."""
        return self.continuations.store

    # -- setup -----------------------------------------------------------------------
    def add_route(self, method: Any, path: Any, fn: Any) -> None:
        """Called by `(defroute ...)` as a module loads."""
        self.routes.append((str(method), str(path), fn))

    def _routes(self) -> list[Any]:
        out: list[Any] = []
        by_path: dict[str, dict[str, Any]] = {}
        for method, path, fn in self.routes:
            by_path.setdefault(path, {})[method] = fn
        for path, methods in by_path.items():
            out.append(Route(path, self._endpoint(methods), methods=list(methods)))
        out.append(Route("/k/{token}", self._resume_endpoint, methods=["GET", "POST"]))
        static = os.path.join(self.app_dir, "static")
        if os.path.isdir(static):
            out.append(Mount("/static", app=StaticFiles(directory=static), name="static"))
        return out

    def _make_jinja(self) -> Environment:
        loaders: list[Any] = []
        app_templates = os.path.join(self.app_dir, "templates")
        if os.path.isdir(app_templates):
            loaders.append(FileSystemLoader(app_templates))
        loaders.append(PrefixLoader({"tmweb": FileSystemLoader(pages.PAGES_DIR)}))
        env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(default=True, default_for_string=True),
            # a template edited in development shows on the next request; in production
            # templates change only with a deploy, so no stat() of the file per render
            auto_reload=self.debug or os.environ.get("TMWEB_ENV") != "production",
        )
        env.globals["url_for"] = web_builtins.url_for
        return env

    def render_template(self, name: str, ctx: dict[str, Any]) -> str:
        # `{:next-url u}` is also `next_url` in the template: a dash is subtraction in Jinja
        ctx = {**{k.replace("-", "_"): v for k, v in ctx.items() if isinstance(k, str)}, **ctx}
        try:
            return self.jinja.get_template(name).render(**ctx)
        except TemplateNotFound:
            folder = os.path.join(self.app_dir, "templates")
            raise user_error(f"render: template {name} not found in {folder}") from None

    # -- ASGI ------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)

    def _endpoint(self, methods: dict[str, Any]) -> Any:
        async def endpoint(request: Request) -> Response:
            # Starlette answers HEAD on GET routes: run the GET handler, send no body
            handler = methods.get(request.method) or methods["GET"]
            # a request to a route starts a flow: what it saves belongs together
            flow = secrets.token_hex(16)
            return await self.run(
                request, handler, (await self.request_value(request),), flow, url_path(request.scope)
            )

        return endpoint

    async def _resume_endpoint(self, request: Request) -> Response:
        record = self.continuations.check(request.path_params["token"])  # before the body
        if self.bind_to_session:  # before the store too: the owner's link stays usable
            self.continuations.check_session(record, request.scope.get("tmweb.session"))
        if request.method == "GET":  # right after the POST that built the page?
            kept = self.recent.take(request.path_params["token"], request.scope.get("tmweb.session", ""))
            if kept is not None:
                return _Replay(kept)
        if request.method == "HEAD":  # headers only: nothing runs, nothing is used up
            await self.continuations.peek(record)
            return Response(status_code=200, media_type="text/html")
        req = await self.request_value(request)
        get = request.method == "GET"
        # a POST resumes whatever the step is, so a one-shot is taken in the same read; a
        # GET looks first (it may only show the page, or ask whether to continue)
        taken = record.once and not get
        value = await self.continuations.load(record, take=taken)
        # the resumed handler goes on in the continuation's flow (a token made before flows
        # existed starts a new one)
        flow = record.flow if record.flow is not None else secrets.token_hex(16)
        start = record.start or url_path(request.scope)
        data = req.d[Keyword("query")] if get else req.d[Keyword("form")]
        if is_step(value):
            k, make_page, method = value.vals
            if get and method == "POST":
                # a reload, a new tab, a bookmark or a prefetch: show the step's page again
                return await self.run(request, WITH_SUSPENDED, (k, make_page, url_path(request.scope)), flow, start)
            target, args = (RESUME, (k, data)) if k.__class__ is Continuation else (k, (data,))
        elif value.__class__ is Continuation:
            target, args = RESUME, (value, data)
        else:
            target, args = value, (data,)
        if record.once and not taken:
            if not _sent_by_a_person(request):
                # a link preview or prefetch must not use up a one-shot link: ask first
                return self.page(request, "confirm.html", 200, action=url_path(request.scope))
            await self.continuations.take(record)  # of two concurrent takes, one wins
        request.scope[answers.RESUMING] = True
        return await self.run(request, target, args, flow, start)

    async def request_value(self, request: Request) -> TMap:
        """The request as a Turmeric map: plain data, so it serializes with the handler.
        It keeps no secrets: no cookies, and none of the app's `sensitive_headers`
        (Cookie, Authorization, Proxy-Authorization...); the whole map, with them, is kept
        for this request only (`(current-request)`, `cookie`, `header`).

        The body of a POST, PUT, PATCH or DELETE is read whole (the `BodyLimit` middleware
        stops it at `max_body_bytes`), and a form body parsed."""
        form = _EMPTY
        method = request.method
        if method in _BODY_METHODS:
            body = await request.body()
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("application/x-www-form-urlencoded"):
                # read whole already: parsed as Starlette's parser would (latin-1, then
                # %-escapes as UTF-8), without its streaming parser's callbacks per byte run
                try:
                    pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, max_num_fields=_MAX_FIELDS)
                except ValueError:
                    raise HTTPException(400, f"Too many fields. Maximum number of fields is {_MAX_FIELDS}.") from None
                form = multi_to_map(pairs)
            elif ctype.startswith("multipart/form-data"):
                form = multi_to_map((await request.form()).multi_items())
        scope = request.scope
        # from the ASGI scope directly: Starlette's Headers, URL and QueryParams objects
        # cost more than the handler's own work on a small step
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"")
        sensitive = self.sensitive_headers
        saved = {
            _K_METHOD: method,
            _K_PATH: url_path(scope),
            _K_ROOT_PATH: scope.get("root_path", ""),
            _K_PATH_PARAMS: TMap(dict(scope.get("path_params", ()))),
            _K_QUERY: multi_to_map(parse_qsl(query.decode("latin-1"), keep_blank_values=True)) if query else _EMPTY,
            _K_HEADERS: TMap({k: v for k, v in headers.items() if k not in sensitive}),
            _K_FORM: form,
        }
        cookies = TMap(dict(request.cookies)) if "cookie" in headers else _EMPTY
        scope["tmweb.request"] = TMap({**saved, _K_HEADERS: TMap(headers), _K_COOKIES: cookies})
        return TMap(saved)

    async def run(
        self, request: Request, fn: Any, args: tuple[Any, ...], flow: str | None = None, start: str = ""
    ) -> Response:
        """Run `fn(*args)` under a delimiter on a fresh machine, in `flow`, and turn the
        result into a response. Failures propagate to the exception handlers."""
        machine = Machine(self.max_steps)
        machine.rt = self.rt
        ctx = RequestCtx(request.scope.get("root_path", ""), flow, start, dry_run=request.method == "HEAD")
        ctx.owner = request.scope.get("tmweb.session", "")
        if self.bind_to_session:
            ctx.session = ctx.owner
        ctx.request = request.scope.get("tmweb.request")  # set by request_value
        ctx_token = CURRENT.set(ctx)
        try:
            result = await machine.run_async(machine.start(fn, args))
        finally:
            CURRENT.reset(ctx_token)
        step = ctx.last_step
        if (
            self.redirect_after_post
            and request.method == "POST"
            and step is not None
            and result is step[1]
            and step[2] == "POST"
        ):
            # Post/Redirect/Get: the address bar names the next page, a reload never
            # resubmits; the GET that follows gets the page just built (recent.py), a
            # later one builds it anew from its page function
            try:
                self._keep_page(step[0], ctx.owner, self.to_response(result))
            except TurmericError:  # the GET builds the page again and shows the error
                pass
            return RedirectResponse(step[0], status_code=303)
        response = self.to_response(result)
        if self.redirect_after_post and answers.keepable(request, result):
            # any other page a resumed POST answers gets a GET URL too (answers.py)
            redirect = await answers.keep(self, request, ctx, result)
            if redirect is None:
                return response
            self._keep_page(redirect.headers["location"], ctx.owner, response)
            return redirect
        return response

    def _keep_page(self, url: str, session: str, response: Response) -> None:
        """Give `response` to the GET of `url` that follows this POST's 303 (recent.py)."""
        token = url.rsplit("/k/", 1)[-1]
        self.recent.keep(token, session, response.status_code, response.raw_headers, bytes(response.body))

    def to_response(self, v: Any) -> Response:
        if v.__class__ is str:
            return HTMLResponse(v)
        if v.__class__ is Struct and v.type is RESPONSE:
            status, headers, body, ctype = v.vals
            # checked as the response was made; again here, as a Turmeric error naming the
            # header rather than a 500 from Starlette or a connection h11 drops
            hdrs = dict(web_builtins.response_headers("response", headers))
            return Response(body, status_code=status, headers=hdrs, media_type=ctype)
        if v is None:
            return Response(status_code=204)
        raise type_error(
            f"a handler returned {pr_str(v)[:80]}; return a string, (render ...), (html ...), "
            "(json ...), (redirect ...) or (response ...)"
        )

    # -- pages -----------------------------------------------------------------------
    def _exception_handlers(self) -> dict[Any, Any]:
        """Every error an endpoint raises, and the page that answers it."""
        return {
            ContinuationInvalid: self._bad_token,
            ContinuationExpired: self._expired,
            ContinuationForbidden: self._forbidden,
            RequestTooLarge: self._too_large,
            StoreUnavailable: self._unavailable,
            StepLimitExceeded: self._busy,
            TurmericError: self._handler_error,
            ClientDisconnect: _no_answer,
            HTTPException: self._http_error,
            Exception: self._internal_error,
        }

    def page(
        self, request: Request, name: str, status: int, headers: dict[str, str] | None = None, **ctx: Any
    ) -> Response:
        """tmweb's page `name`, in the app's layout when it has one (see pages.py)."""
        root = request.scope.get("root_path", "") or ""
        ctx.setdefault("start_url", root + "/")
        body = pages.render(self.jinja, name, root, {"status": status, **ctx})
        return HTMLResponse(body, status_code=status, headers=headers)

    async def _http_error(self, request: Request, e: Exception) -> Response:
        """Starlette's own answers (no route, wrong method, a malformed form body) as
        tmweb pages, keeping their headers (a 405's `Allow`)."""
        assert isinstance(e, HTTPException)
        headers = dict(e.headers or {})
        path = url_path(request.scope)
        if e.status_code == 404:
            return self.page(request, "not_found.html", 404, headers, path=path)
        if e.status_code == 405:
            # Starlette lists a route's methods in set order: name them in a stable one
            allowed = sorted(m.strip() for m in headers.get("Allow", "").split(",") if m.strip())
            headers["Allow"] = ", ".join(allowed)
            return self.page(request, "not_allowed.html", 405, headers, path=path,
                             method=request.method, allowed=allowed)
        try:
            phrase = HTTPStatus(e.status_code).phrase
        except ValueError:  # a status Python does not name
            phrase = "Error"
        return self.page(request, "http_error.html", e.status_code, headers, phrase=phrase)

    async def _internal_error(self, request: Request, e: Exception) -> Response:
        """A bug in tmweb (not the app's code): the plain 500 page; the traceback goes to the
        server's log, never to the browser."""
        return self.page(request, "error.html", 500)

    async def _bad_token(self, request: Request, e: Exception) -> Response:
        return self.page(request, "bad_token.html", 400)

    async def _expired(self, request: Request, e: Exception) -> Response:
        if isinstance(e, ContinuationUnloadable):
            token = redact(request.path_params.get("token", ""))
            log.warning("continuation %s cannot be resumed: %s", token, e)
            return self.page(request, "expired.html", 410, reason=str(e) if self.debug else None)
        assert isinstance(e, ContinuationExpired)
        record = e.record
        links: dict[str, Any] = {}
        if record is not None:
            if record.start:  # back to the start of this flow's route, not just "/"
                links["start_url"] = record.start
            if e.completed:
                links["completed"] = True
                try:
                    links["done_url"] = await self.continuations.done_url(record)
                except StoreUnavailable:  # the 410 stands; only its extra link is lost
                    links["done_url"] = None
        return self.page(request, "expired.html", 410, **links)

    async def _forbidden(self, request: Request, e: Exception) -> Response:
        assert isinstance(e, ContinuationForbidden)
        start = e.record.start if e.record is not None and e.record.start else None
        links = {"start_url": start} if start else {}
        return self.page(request, "forbidden.html", 403, **links)

    async def _too_large(self, request: Request, e: Exception) -> Response:
        assert isinstance(e, RequestTooLarge)
        return self.page(request, "too_large.html", 413, limit=e.limit)

    async def _unavailable(self, request: Request, e: Exception) -> Response:
        log.error("store unavailable: %s", e)
        return self.page(request, "unavailable.html", 503)

    async def _busy(self, request: Request, e: Exception) -> Response:
        log.error("handler stopped on %s %s: %s", request.method, _safe_path(request), e)
        return self.page(request, "busy.html", 503, reason=str(e))

    async def _handler_error(self, request: Request, e: Exception) -> Response:
        assert isinstance(e, TurmericError)
        if e.value.__class__ is Struct and e.value.type is web_builtins.EXPIRED:
            return self.page(request, "expired.html", 410)
        if e.value.__class__ is Struct and e.value.type is web_builtins.TOO_LARGE:
            log.error("step too large on %s %s: %s", request.method, _safe_path(request), e.message)
            return self.page(request, "too_much_state.html", 500,
                             reason=e.message if self.debug else None)
        log.error("handler error on %s %s\n%s", request.method, _safe_path(request), e.format())
        if not self.debug:
            return self.page(request, "error.html", 500)
        return self.page(request, "debug.html", 500, message=e.message, kind=_kind(e),
                         frames=pages.frames_with_source(e))


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: As Starlette's form parser allows.
_MAX_FIELDS = 1000
_EMPTY = TMap()
_K_METHOD, _K_PATH, _K_ROOT_PATH, _K_PATH_PARAMS = (
    Keyword("method"), Keyword("path"), Keyword("root-path"), Keyword("path-params"))
_K_QUERY, _K_HEADERS, _K_FORM, _K_COOKIES = (
    Keyword("query"), Keyword("headers"), Keyword("form"), Keyword("cookies"))


def url_path(scope: Scope) -> str:
    """The request's path as `request.url.path` gives it, without building a URL."""
    return scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


class _Replay(Response):
    """A page kept by `RecentPages`, answered as it was built."""

    def __init__(self, page: Page) -> None:
        self.status_code = page.status
        self.body = page.body
        self.raw_headers = list(page.headers)
        self.background = None


def _sent_by_a_person(request: Request) -> bool:
    """A GET a browser sends because a person followed a link or submitted a form
    (`Sec-Fetch-User: ?1`), not a prefetch, a link preview or a script."""
    h = request.headers
    prefetch = "prefetch" in (h.get("sec-purpose", "") + h.get("purpose", "")).lower()
    return h.get("sec-fetch-user") == "?1" and not prefetch


async def _no_answer(request: Request, e: Exception) -> None:
    """The client went away while sending its body: nothing runs, nobody to answer."""
    return None


def _kind(e: TurmericError) -> str:
    v = e.value
    return v.type.name if v.__class__ is Struct else "throw"


def _safe_path(request: Request) -> str:
    return re.sub(r"/k/([^/?]{8})[^/?]*", r"/k/\1…", url_path(request.scope))


def resolve_secret_keys(secret_key: str | list[str] | None, app_dir: str) -> list[str]:
    """Keys from the argument, else TMWEB_SECRET_KEY (comma-separated, newest first), else
    in development a random key kept in APP_DIR/.tmweb/secret_key."""
    if isinstance(secret_key, str):
        keys = [k for k in secret_key.split(",") if k]
    elif secret_key:
        keys = list(secret_key)
    else:
        env = os.environ.get("TMWEB_SECRET_KEY", "")
        keys = [k for k in env.split(",") if k]
    if keys:
        check_key_strength(keys)
        return keys
    if os.environ.get("TMWEB_ENV") == "production":
        raise ConfigError(
            "TMWEB_ENV=production needs a secret key: set TMWEB_SECRET_KEY (or --secret-key); "
            "tokens signed with a random key would die with the process"
        )
    folder = os.path.join(app_dir, ".tmweb")
    path = os.path.join(folder, "secret_key")
    try:
        with open(path, encoding="utf-8") as f:
            key = f.read().strip()
        if key:
            return [key]
    except OSError:
        pass
    private_folder(folder)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key)
    return [key]


#: The shortest secret key production accepts, in bytes (UTF-8): 256 bits, as HMAC-SHA256's.
MIN_KEY_BYTES = 32
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def check_key_strength(keys: list[str]) -> None:
    """In production (TMWEB_ENV=production) refuse any key under `MIN_KEY_BYTES` bytes:
    a short key is recovered offline from one public token. Development accepts it with a
    warning. The message names the key by its position, never by its value."""
    short = [(i, len(k.encode("utf-8"))) for i, k in enumerate(keys, 1) if len(k.encode("utf-8")) < MIN_KEY_BYTES]
    if not short:
        return
    i, size = short[0]
    which = f"key {i} of {len(keys)}" if len(keys) > 1 else "the secret key"
    if os.environ.get("TMWEB_ENV") == "production":
        raise ConfigError(
            f"{which} is {size} bytes; TMWEB_ENV=production needs secret keys of at least "
            f"{MIN_KEY_BYTES} bytes (one short key can be guessed offline from a single token). "
            f"Make one with: {MAKE_A_KEY}"
        )
    log.warning(
        "%s is %d bytes, under the %d that production requires; make one with: %s",
        which, size, MIN_KEY_BYTES, MAKE_A_KEY,
    )



def _session_limits(records: int, nbytes: int, largest: int) -> OwnerLimits:
    """The per-session budget, checked: it must hold at least one continuation of the
    largest size, and at least one."""
    if records < 1:
        raise ConfigError(f"session_max_continuations must be at least 1, not {records}")
    if nbytes < largest:
        raise ConfigError(
            f"session_max_bytes ({nbytes}) must be at least max_continuation_bytes ({largest}): "
            "a session must be able to keep its largest continuation"
        )
    return OwnerLimits(records, nbytes)
