"""The add-two-numbers flow written by hand on Starlette: state in Redis under a signed
token. The baseline tmweb is measured against in bench/web.py."""

from __future__ import annotations

import json
import os
import secrets

import redis.asyncio as redis
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

TTL = 3600
signer = URLSafeTimedSerializer(os.environ.get("BENCH_SECRET", "bench-secret"), salt="hand")
r = redis.from_url(os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0"))

ASK = '<form method="post" action="/s/{token}"><label>{label} <input name="n"></label><button>Next</button></form>'


async def new_state(state: dict) -> str:
    key = secrets.token_hex(16)
    await r.set("hand:" + key, json.dumps(state), ex=TTL)
    return signer.dumps(key)


async def start(request: Request) -> HTMLResponse:
    token = await new_state({"step": "a"})
    return HTMLResponse(ASK.format(token=token, label="First number"))


async def step(request: Request) -> HTMLResponse:
    try:
        key = signer.loads(request.path_params["token"], max_age=TTL)
    except BadSignature:
        return HTMLResponse("bad token", status_code=400)
    raw = await r.get("hand:" + key)
    if raw is None:
        return HTMLResponse("expired", status_code=410)
    state = json.loads(raw)
    n = int((await request.form())["n"])
    if state["step"] == "a":
        token = await new_state({"step": "b", "a": n})
        return HTMLResponse(ASK.format(token=token, label="Second number"))
    a = state["a"]
    return HTMLResponse(f"<p>{a} + {n} = <strong>{a + n}</strong></p>")


app = Starlette(routes=[Route("/add", start), Route("/s/{token}", step, methods=["POST"])])
