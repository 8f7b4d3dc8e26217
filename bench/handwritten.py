"""The add-two-numbers flow written by hand on Starlette: the baseline of bench/web.py.

It does what tmweb does by default, the way a careful Starlette developer would write it:

- a signed session cookie (a random id, `HttpOnly; SameSite=Lax; Secure`), set once;
- each step's state in Redis under a random key, sent to the browser as a signed,
  timestamped token (itsdangerous' `URLSafeTimedSerializer`) in the form's action, and
  bound to the session: another browser's token is refused (403);
- Post/Redirect/Get: a POST that leads to another step answers `303` to that step's
  page, which the browser GETs (`app`); the last POST likewise keeps the answer under a
  new token and answers `303` to it, so a reload shows the sum again (as tmweb keeps the
  page a resumed POST ends with); `app_no_prg` answers each POST with its page.

No deliberate slowness: one Redis client (one connection pool), no per-call timeouts,
the template compiled once (Jinja without `auto_reload`, so no mtime check per render).
Steps stay resumable until their TTL, as tmweb's do (the back button works).

    BENCH_REDIS=redis://127.0.0.1:6379/0 uvicorn bench.handwritten:app
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import redis.asyncio as redis
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

TTL = 3600
SECRET = os.environ.get("BENCH_SECRET", "hand-written-bench-secret-of-32-bytes+")
COOKIE = "hand_session"
HEADERS = {"referrer-policy": "same-origin", "x-content-type-options": "nosniff"}

steps = URLSafeTimedSerializer(SECRET, salt="hand.step")
sessions = URLSafeSerializer(SECRET, salt="hand.session")
store = redis.from_url(os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0"))
templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "web_app" / "templates"),
    autoescape=select_autoescape(),
    auto_reload=False,
)
ASK = templates.get_template("ask.html")
LABELS = {1: "First number", 2: "Second number"}


def session_of(request: Request) -> tuple[str, bool]:
    """The browser's session id, and whether it is new (its cookie must be set)."""
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            return sessions.loads(raw), False
        except BadSignature:
            pass
    return secrets.token_hex(16), True


def respond(response: Response, sid: str, new: bool) -> Response:
    if new:
        response.set_cookie(COOKIE, sessions.dumps(sid), httponly=True, samesite="lax", secure=True)
    return response


async def save(state: dict) -> str:
    key = secrets.token_urlsafe(16)
    await store.set("hand:" + key, json.dumps(state), ex=TTL)
    return steps.dumps(key)


async def load(token: str, sid: str) -> dict | Response:
    """The step's state, or the error page: bad token 400, another session 403, gone 410."""
    try:
        key = steps.loads(token, max_age=TTL)
    except BadSignature:
        return HTMLResponse("bad link", status_code=400, headers=HEADERS)
    raw = await store.get("hand:" + key)
    if raw is None:
        return HTMLResponse("this page has expired", status_code=410, headers=HEADERS)
    state = json.loads(raw)
    if state["sid"] != sid:
        return HTMLResponse("not your page", status_code=403, headers=HEADERS)
    return state


def ask(step: int, token: str) -> HTMLResponse:
    return HTMLResponse(ASK.render(label=LABELS[step], action=f"/s/{token}"), headers=HEADERS)


async def start(request: Request) -> Response:
    sid, new = session_of(request)
    return respond(ask(1, await save({"step": 1, "sid": sid})), sid, new)


async def show(request: Request) -> Response:
    """GET of a step's page (after the redirect, or a reload)."""
    sid, new = session_of(request)
    token = request.path_params["token"]
    state = await load(token, sid)
    if isinstance(state, Response):
        return respond(state, sid, new)
    if state["step"] == 3:  # the kept answer
        return respond(answer(state["a"], state["b"]), sid, new)
    return respond(ask(state["step"], token), sid, new)


def answer(a: int, b: int) -> Response:
    return HTMLResponse(f"<p>{a} + {b} = <strong>{a + b}</strong></p>", headers=HEADERS)


def make_step(prg: bool):  # noqa: ANN201 - a Starlette endpoint
    async def submit(request: Request) -> Response:
        sid, new = session_of(request)
        state = await load(request.path_params["token"], sid)
        if isinstance(state, Response):
            return respond(state, sid, new)
        try:
            n = int((await request.form())["n"])
        except (KeyError, ValueError):
            return respond(HTMLResponse("a whole number, please", status_code=400, headers=HEADERS), sid, new)
        if state["step"] == 1:
            token = await save({"step": 2, "a": n, "sid": sid})
            if prg:
                return respond(RedirectResponse(f"/s/{token}", status_code=303, headers=HEADERS), sid, new)
            return respond(ask(2, token), sid, new)
        if prg:
            token = await save({"step": 3, "a": state["a"], "b": n, "sid": sid})
            return respond(RedirectResponse(f"/s/{token}", status_code=303, headers=HEADERS), sid, new)
        return respond(answer(state["a"], n), sid, new)

    return submit


def make_app(prg: bool) -> Starlette:
    return Starlette(routes=[
        Route("/add", start),
        Route("/s/{token}", show, methods=["GET"]),
        Route("/s/{token}", make_step(prg), methods=["POST"]),
    ])


app = make_app(prg=True)
app_no_prg = make_app(prg=False)
