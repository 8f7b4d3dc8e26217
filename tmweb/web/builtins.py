"""The Turmeric functions a tmweb app gets: request accessors, responses, suspension.

They are installed into one app's runtime (its `core` module), bound to that app: the
same process may serve several apps. Per-request state (the mount prefix) comes from a
context variable set around each handler run.
"""

from __future__ import annotations

import contextvars
import html as html_text
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .. import workflow
from ..lang.code import ASYNC, Builtin, Closure, Continuation
from ..lang.errors import err, type_error, user_error
from ..lang.printer import pr_str
from ..lang.values import Keyword, Struct, StructType, TMap
from . import (
    hiccup,
    routes,  # noqa: F401  (registers the defroute form)
)
from .continuations import STEP
from .convert import to_python
from .errors import (
    ContinuationExpired,
    ContinuationInvalid,
    ContinuationTooLarge,
    ContinuationUnloadable,
)

#: Thrown by load-continuation for an expired, unknown or used token; uncaught, the app
#: answers with the 410 page.
EXPIRED = StructType("continuation-expired", ("message",), "core")

#: Thrown when a continuation to save is over the size limit; uncaught, the app answers
#: with a page that says the step holds too much data.
TOO_LARGE = StructType("continuation-too-large", ("message",), "core")

#: What a handler may return besides a string: status, headers (map), body, content type.
RESPONSE = StructType("response", ("status", "headers", "body", "content-type"), "core")

_PRELUDE = os.path.join(os.path.dirname(__file__), "prelude.tm")


@dataclass
class RequestCtx:
    """What a handler run knows about its request: the mount prefix, and the flow that
    continuations saved during the run belong to (and the path that started it)."""

    root_path: str
    flow: str | None = None
    start: str = ""
    #: A HEAD request: the handler runs, but nothing is stored or expired.
    dry_run: bool = False
    #: Step URLs handed out by `%step-url`, not yet stored: url -> (ctx, record, forward,
    #: done-url), what `WebBuiltins._store` takes.
    pending: dict[str, Any] = field(default_factory=dict)
    #: The (url, page, "POST" or "GET") of the last step this run stored, for
    #: Post/Redirect/Get.
    last_step: tuple[str, Any, str] | None = None
    #: The browser session continuations saved in this run are bound to ("" for none).
    session: str = ""
    #: The browser session whose budget pays for what this run saves, bound to it or not
    #: ("" for none).
    owner: str = ""
    #: The whole request map of the request running now, with its cookies and every
    #: header: what `(current-request)` returns and `cookie`/`header` read secrets from.
    #: Never stored by tmweb (the map a handler receives has none of them).
    request: TMap | None = None


CURRENT: contextvars.ContextVar[RequestCtx] = contextvars.ContextVar("tmweb_request")


def root_path() -> str:
    ctx = CURRENT.get(None)
    return ctx.root_path if ctx is not None else ""


def _kwargs(fname: str, args: tuple[Any, ...], allowed: set[str]) -> dict[str, Any]:
    if len(args) % 2:
        raise type_error(f"{fname}: options come in pairs like :status 404")
    out = {}
    for i in range(0, len(args), 2):
        k = args[i]
        if k.__class__ is not Keyword or k.name not in allowed:
            raise type_error(f"{fname}: unknown option {pr_str(k)} (allowed: {', '.join(':' + a for a in sorted(allowed))})")
        out[k.name] = args[i + 1]
    return out


def _req(fname: str, req: Any) -> TMap:
    if req.__class__ is not TMap:
        raise type_error(f"{fname}: expected the request map a handler receives, got {pr_str(req)}")
    return req


def _section(req: Any, fname: str, section: str) -> dict[Any, Any]:
    v = _req(fname, req).d.get(Keyword(section))
    return v.d if v.__class__ is TMap else {}


def _str(fname: str, v: Any) -> str:
    if v.__class__ is not str:
        raise type_error(f"{fname}: expected a string, got {pr_str(v)}")
    return v


# --------------------------------------------------------------------------- request


def path_param(req: Any, name: Any) -> Any:
    return _section(req, "path-param", "path-params").get(_str("path-param", name))


def query_param(req: Any, name: Any, default: Any = None) -> Any:
    return _section(req, "query-param", "query").get(_str("query-param", name), default)


def form_data(req: Any) -> TMap:
    v = _req("form-data", req).d.get(Keyword("form"))
    return v if v.__class__ is TMap else TMap()


def request_method(req: Any) -> Any:
    return _req("request-method", req).d.get(Keyword("method"))


def request_path(req: Any) -> Any:
    return _req("request-path", req).d.get(Keyword("path"))


def _current() -> TMap | None:
    ctx = CURRENT.get(None)
    return ctx.request if ctx is not None else None


def outside_request(fname: str) -> str:
    """What to say when `fname`, a function of a running request, is called without one."""
    return (
        f"{fname} works inside a request handler: call it in the body of a route defined "
        "with defroute (or in a function that body calls), in an app served with "
        "`tmweb serve APP_DIR`; no request is running here"
    )


def current_request() -> TMap:
    """`(current-request)`: the request that started or resumed the running handler, with
    its cookies and every header. Kept in a variable across a suspension, it is stored."""
    req = _current()
    if req is None:
        raise user_error(outside_request("current-request"))
    return req


def cookie(req: Any, name: Any) -> Any:
    """`(cookie req name)`: a cookie of the request running now. A saved request map keeps
    no cookies, so during a request `req` (old or new) only says which request is meant and
    the cookie is the current one's; outside a request, `req`'s own `:cookies`."""
    name = _str("cookie", name)
    current = _current()
    return _section(current if current is not None else req, "cookie", "cookies").get(name)


# --------------------------------------------------------------------------- responses


def html(*nodes: Any) -> str:
    return "".join(hiccup.render(n) for n in nodes)


def raw(s: Any) -> Struct:
    return Struct(hiccup.RAW, (_str("raw", s),))


def response(body: Any = "", *opts: Any) -> Struct:
    kw = _kwargs("response", opts, {"status", "headers", "content-type"})
    status = kw.get("status", 200)
    if status.__class__ is not int or not 100 <= status <= 599:
        raise type_error(f"response: :status must be an HTTP status code, got {pr_str(status)}")
    headers = kw.get("headers", TMap())
    if headers.__class__ is not TMap:
        raise type_error("response: :headers must be a map of strings")
    response_headers("response", headers)
    ctype = kw.get("content-type", "text/html; charset=utf-8")
    _header_value("response", "content-type", _str("response :content-type", ctype))
    if body is not None and body.__class__ not in (str, bytes):
        raise type_error(f"response: body must be a string or bytes, got {pr_str(body)}")
    return Struct(RESPONSE, (status, headers, body or "", ctype))


def json_response(v: Any, *opts: Any) -> Struct:
    import json

    kw = _kwargs("json", opts, {"status", "headers"})
    try:
        body = json.dumps(to_python(v), ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise type_error(f"json: cannot encode {pr_str(v)[:80]}: {e}") from None
    headers = kw.get("headers", TMap())
    response_headers("json", headers)
    return Struct(RESPONSE, (kw.get("status", 200), headers, body, "application/json"))


def redirect(url: Any, *opts: Any) -> Struct:
    """`(redirect url)`: 302 to a page of this site; `:external #t` lets it lead to
    another site over http or https."""
    kw = _kwargs("redirect", opts, {"status", "external"})
    url = _str("redirect", url)
    check_redirect_url(url, kw.get("external", False) not in (None, False))
    headers = TMap({"location": url})
    return Struct(RESPONSE, (kw.get("status", 302), headers, "", "text/html; charset=utf-8"))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
#: An HTTP header name (RFC 9110 token).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z\-]+")


def check_redirect_url(url: str, external: bool) -> None:
    """Refuse a redirect that leaves the site (an open redirect: `//evil`, `https://evil`,
    `/\\evil`, which browsers read as `//evil`) or runs a script (`javascript:`, `data:`)
    unless `external`, and then any scheme but http and https; and any control character,
    which could end the header and start another (header injection)."""
    m = _CONTROL.search(url)
    if m:
        raise user_error(
            f"redirect: the URL {url!r} contains the control character {m.group()!r}; "
            "a line break in a Location header would start another header"
        )
    # browsers read a backslash as a slash and drop surrounding spaces
    probe = url.replace("\\", "/").strip(" ")
    scheme = _SCHEME.match(probe)
    if not external:
        if scheme or probe.startswith("//"):
            raise user_error(
                f"redirect: {url!r} leads away from this site; redirect to a path of the app "
                '(like "/orders/42" or (url-for "/orders")), or pass :external #t to send the '
                "browser to another site"
            )
    elif scheme and scheme.group()[:-1].lower() not in ("http", "https"):
        raise user_error(
            f"redirect: {url!r} is not an http or https URL; :external #t allows only those "
            "(a javascript: or data: URL would run in the browser)"
        )


def _header_value(fname: str, name: str, value: str) -> str:
    m = _CONTROL.search(value)
    if m:
        raise user_error(
            f"{fname}: the value of the header {name!r} contains the control character "
            f"{m.group()!r}; a line break in a header would start another one (header injection)"
        )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as e:
        raise user_error(
            f"{fname}: the value of the header {name!r} has the character {value[e.start]!r}, "
            "which an HTTP header cannot carry (Latin-1 only); percent-encode it or keep it "
            "out of headers"
        ) from None
    return value


def response_headers(fname: str, headers: Any) -> list[tuple[str, str]]:
    """The (name, value) pairs of a `:headers` map, each checked: a name must be an HTTP
    token, a value a string (a number is written as text) without control characters and
    in Latin-1. A failure is a Turmeric error naming the header."""
    if headers.__class__ is not TMap:
        raise type_error(f"{fname}: :headers must be a map of strings, got {pr_str(headers)}")
    out = []
    for k, v in headers.d.items():
        name = k.name if k.__class__ is Keyword else k
        if name.__class__ is not str or not _TOKEN.fullmatch(name):
            raise user_error(f"{fname}: {pr_str(k)} is not an HTTP header name (letters, digits and -)")
        if v.__class__ not in (str, int, float):
            raise type_error(f"{fname}: the value of the header {name!r} must be a string, got {pr_str(v)}")
        out.append((name, _header_value(fname, name, str(v))))
    return out


def url_for(path: Any) -> str:
    path = _str("url-for", path)
    if not path.startswith("/"):
        path = "/" + path
    return root_path() + path


def continuation_url(token: Any) -> str:
    return root_path() + "/k/" + _str("continuation-url", token)


class WebBuiltins:
    """The app-bound functions: rendering templates and storing continuations (through
    the app's `Continuations` service)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def render(self, name: Any, ctx: Any = None, *opts: Any) -> Struct:
        kw = _kwargs("render", opts, {"status", "headers"})
        name = _str("render", name)
        if ctx is not None and ctx.__class__ is not TMap:
            raise type_error(f"render: the context must be a map like {{:name \"Ann\"}}, got {pr_str(ctx)}")
        headers = kw.get("headers", TMap())
        response_headers("render", headers)
        body = self.app.render_template(name, to_python(ctx) if ctx is not None else {})
        return Struct(RESPONSE, (kw.get("status", 200), headers, body, "text/html; charset=utf-8"))

    def header(self, req: Any, name: Any) -> Any:
        """`(header req name)`: a header of `req`; a sensitive one (Cookie, Authorization,
        Proxy-Authorization, the app's `sensitive_headers`), which a saved request does not
        keep, is read from the request running now."""
        name = _str("header", name).lower()
        if name in self.app.sensitive_headers:
            current = _current()
            if current is not None:
                req = current
        return _section(req, "header", "headers").get(name)

    async def save_continuation(self, k: Any, *opts: Any) -> str:
        if k.__class__ not in (Continuation, Closure):
            raise type_error(f"save-continuation: expected a continuation or function, got {pr_str(k)}")
        token, pending = self._reserve("save-continuation", opts)
        await self._store(pending, k)
        return token

    def _reserve(self, fname: str, opts: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        """A signed token for a continuation about to be saved with `opts` (:once :ttl
        :forward :done-url :shareable), in this request's flow and session, and what
        `_store` needs to store it: (ctx, record, forward, done-url)."""
        kw = _kwargs(fname, opts, {"once", "ttl", "forward", "done-url", "shareable"})
        ttl = kw.get("ttl", self.app.ttl)
        if ttl.__class__ is not int or ttl <= 0:
            raise type_error(f"{fname}: :ttl must be a positive number of seconds, got {pr_str(ttl)}")
        forward = kw.get("forward", False) not in (None, False)
        ctx = _flow_ctx(fname, forward)
        done = kw.get("done-url")
        if done is not None:
            done = _str(f"{fname} :done-url", done)
        once, session = _binding(kw)
        token, record = self.app.continuations.reserve(
            once=once, ttl=ttl, flow=ctx.flow, start=ctx.start, session=session
        )
        return token, (ctx, record, forward, done)

    async def _store(self, pending: tuple[Any, ...], value: Any) -> None:
        """Store `value` under a reserved record (nothing in a HEAD's dry run), and the
        flow's done-url note if one was given."""
        ctx, record, forward, done = pending
        if ctx.dry_run:
            return
        try:
            await self.app.continuations.put(record, value, forward=forward, owner=ctx.owner)
        except ContinuationTooLarge as e:
            raise err(TOO_LARGE, str(e)) from None
        if done is not None and record.flow is not None:
            await self.app.continuations.note_done(record.flow, done)

    async def expire_flow(self, *opts: Any) -> None:
        """`(expire-flow)`: every continuation of this request's flow is expired, so no
        page of it can be submitted again; `:done-url "/orders/42"` makes their expired
        page link there. What `send/finish` calls."""
        kw = _kwargs("expire-flow", opts, {"done-url"})
        ctx = _flow_ctx("expire-flow", True)
        done = kw.get("done-url")
        if ctx.dry_run:
            return
        await self.app.continuations.finish(
            ctx.flow, done_url=None if done is None else _str("expire-flow :done-url", done)
        )

    def step_url(self, *opts: Any) -> str:
        """`(%step-url opts...)`: the URL of the step `send/suspend` is making, reserved
        (signed) but with nothing stored: the page is built with it first."""
        if CURRENT.get(None) is None:  # as a module loads: no request, no page to answer
            raise user_error(outside_request("send/suspend"))
        token, pending = self._reserve("send/suspend", opts)
        url = continuation_url(token)
        ctx = pending[0]
        ctx.pending[url] = pending
        return url

    async def save_step(self, url: Any, k: Any, make_page: Any, page: Any) -> Any:
        """`(%save-step url k make-page page)`: store the step whose page was just built
        (resumed by POST only if the page posts a form to `url`) and return the page."""
        ctx = CURRENT.get(None)
        pending = ctx.pending.pop(url, None) if ctx is not None else None
        if pending is None:
            raise user_error("%save-step: the URL was not made by %step-url in this request")
        method = "POST" if posts_form_to(page, url) else "GET"
        await self._store(pending, Struct(STEP, (k, make_page, method)))
        ctx.last_step = (url, page, method)
        return page

    async def load_continuation(self, token: Any) -> Any:
        token = _str("load-continuation", token)
        try:
            return await self.app.continuations.load(token)
        except ContinuationInvalid as e:
            raise user_error(f"load-continuation: {e}") from None
        except ContinuationUnloadable as e:
            if e.error is not None:
                raise e.error from None  # catchable as itself: schema-mismatch, corrupt-data...
            raise err(EXPIRED, f"load-continuation: {e}") from None
        except ContinuationExpired as e:
            raise err(EXPIRED, f"load-continuation: {e}") from None


_FORM = re.compile(r"<form\b([^>]*)>", re.I)
_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def posts_form_to(page: Any, url: str) -> bool:
    """Whether `page` (HTML, or a response struct with an HTML body) has a form that POSTs
    to `url`: such a step may only be resumed by POST, and a GET shows its page again."""
    if page.__class__ is Struct and page.type is RESPONSE:
        page = page.vals[2]
    if page.__class__ is bytes:
        page = page.decode("utf-8", "replace")
    if page.__class__ is not str or url not in page:
        return False
    for m in _FORM.finditer(page):
        attrs = {a.group(1).lower(): html_text.unescape(a.group(2) or a.group(3) or a.group(4) or "")
                 for a in _ATTR.finditer(m.group(1))}
        if attrs.get("action") == url and attrs.get("method", "get").lower() == "post":
            return True
    return False


def _binding(kw: dict[str, Any]) -> tuple[bool, str]:
    """(one-shot, session) of a continuation about to be saved: bound to the request's
    browser session, unless `:shareable #t` (then one-shot unless `:once #f` says not)."""
    shareable = kw.get("shareable", False) not in (None, False)
    once_given = kw.get("once")
    if shareable:
        return (True if once_given is None else once_given is not False), ""
    ctx = CURRENT.get(None)
    return once_given not in (None, False), ctx.session if ctx is not None else ""


def _flow_ctx(fname: str, needed: bool) -> RequestCtx:
    ctx = CURRENT.get(None)
    if ctx is None or ctx.flow is None:
        if needed:
            raise user_error(f"{fname}: only a request handler has a flow to expire")
        return ctx or RequestCtx("")
    return ctx


def install(rt: Any, app: Any) -> None:
    """Give `rt` the web functions and the send/suspend family (written in Turmeric)."""
    bound = WebBuiltins(app)
    core = rt.core
    plain = {
        "path-param": path_param,
        "query-param": query_param,
        "form-data": form_data,
        "parse-form-data": form_data,
        "request-method": request_method,
        "request-path": request_path,
        "header": bound.header,
        "cookie": cookie,
        "current-request": current_request,
        "html": html,
        "raw": raw,
        "response": response,
        "json": json_response,
        "redirect": redirect,
        "url-for": url_for,
        "continuation-url": continuation_url,
        "render": bound.render,
    }
    for name, fn in plain.items():
        core.define(name, Builtin(name, fn))
    core.define("save-continuation", Builtin("save-continuation", bound.save_continuation, ASYNC))
    core.define("load-continuation", Builtin("load-continuation", bound.load_continuation, ASYNC))
    core.define("expire-flow", Builtin("expire-flow", bound.expire_flow, ASYNC))
    core.define("%step-url", Builtin("%step-url", bound.step_url))
    core.define("%save-step", Builtin("%save-step", bound.save_step, ASYNC))
    rt.structs[STEP.qualified] = STEP
    core.define("%defroute", Builtin("%defroute", app.add_route))
    core.define("response?", Builtin("response?", lambda v: v.__class__ is Struct and v.type is RESPONSE))
    rt.structs[RESPONSE.qualified] = RESPONSE
    rt.structs[EXPIRED.qualified] = EXPIRED
    core.define(EXPIRED.name, EXPIRED)
    rt.structs[TOO_LARGE.qualified] = TOO_LARGE
    core.define(TOO_LARGE.name, TOO_LARGE)
    rt.structs[hiccup.RAW.qualified] = hiccup.RAW
    rt.definition_heads.add("%defroute")
    with open(_PRELUDE, encoding="utf-8") as f:
        rt.exec_text(f.read(), core, _PRELUDE)
    workflow.install(rt, lambda: getattr(app, "workflows", None))


__all__ = ["CURRENT", "EXPIRED", "RESPONSE", "TOO_LARGE", "RequestCtx", "install"]
