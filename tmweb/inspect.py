"""`tmweb inspect FILE|TOKEN|URL`: show what a serialized value holds without running it.

A target is a file written with `(serialize v)`, or a web continuation: its token or its
whole URL (`http://127.0.0.1:8000/k/TOKEN`, `/shop/k/TOKEN?x=1`), read from the app's store
with the app's key, from any folder when `--root APP_DIR` names the app.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from .lang import serial
from .lang.code import PC, Continuation, frame_code, frame_slots
from .lang.errors import TurmericError
from .lang.printer import pr_str

SHORT = 60

#: The characters of a token (itsdangerous' URL-safe signed strings).
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]+")
#: The token in a continuation URL's path: `.../k/TOKEN`, maybe with a trailing slash.
_K_PATH = re.compile(r"(?:^|/)k/([^/]+)/?$")


class InspectError(Exception):
    """A target `tmweb inspect` cannot read; the message says why and what to pass."""


def token_of(target: str) -> str:
    """The token in `target`: a continuation URL (absolute, or a path with any mount prefix
    and query) or a bare token. Raises `InspectError` naming what is wrong."""
    text = target.strip()
    if not text:
        raise InspectError("nothing to inspect: give a file, a continuation token or its URL")
    if "/" in text or "://" in text:
        path = urlsplit(text).path
        m = _K_PATH.search(path)
        if m is None:
            raise InspectError(
                f"{_clip(text)} is neither a file nor a continuation URL: the path of a "
                "continuation URL ends in /k/TOKEN (like http://127.0.0.1:8000/k/.eJw...)"
            )
        text = unquote(m.group(1))
    if not _TOKEN.fullmatch(text):
        raise InspectError(
            f"{_clip(text)} is not a continuation token: a token holds only letters, digits "
            "and the characters . - _ (copy it from the address bar, or pass the whole URL)"
        )
    return text


def _clip(s: str, width: int = 40) -> str:
    return s if len(s) <= width else s[: width - 3] + "..."


def fetch_token(token: str, root: str, store_url: str | None, secret_key: str | None) -> bytes:
    """The stored continuation behind `token`, read without using up a one-shot, from the
    store of the app in `root` with its key. Raises `InspectError`. Nothing is created:
    without a key given, the app's development key must exist."""
    import asyncio

    from .web.app import resolve_secret_keys
    from .web.continuations import Continuations
    from .web.errors import ContinuationExpired, TmwebError
    from .web.stores import open_store
    from .web.tokens import TokenExpired, TokenInvalid, Tokens

    if not os.path.isdir(root):
        raise InspectError(f"--root {root}: no such folder (give the folder `tmweb serve` serves)")
    dev_key = os.path.join(root, ".tmweb", "secret_key")
    given = secret_key or os.environ.get("TMWEB_SECRET_KEY")
    where = "--secret-key" if secret_key else "TMWEB_SECRET_KEY" if given else dev_key
    if not given and not os.path.isfile(dev_key):
        raise InspectError(
            f"no key to check the token with: {os.path.abspath(root)} is not an app folder "
            f"that has served (it has no .tmweb/secret_key). Pass --root APP_DIR, the folder "
            "`tmweb serve` serves, or --secret-key KEY (or set TMWEB_SECRET_KEY)"
        )
    store_url = store_url or os.environ.get("TMWEB_STORE")
    try:
        tokens = Tokens(resolve_secret_keys(secret_key, root))
        record = tokens.check(token)  # a bad or expired token never reaches the store
        if not store_url and not os.path.isfile(os.path.join(root, ".tmweb", "continuations.sqlite3")):
            raise InspectError(
                f"no store to read: {os.path.abspath(root)} has no .tmweb/continuations.sqlite3. "
                "Pass --root APP_DIR or the server's --store URL (or set TMWEB_STORE)"
            )
        continuations = Continuations(open_store(store_url, root), tokens)

        async def fetch() -> bytes:
            try:
                return await continuations.peek(record)
            finally:
                await continuations.store.close()

        return asyncio.run(fetch())
    except TokenInvalid:
        raise InspectError(
            f"{_clip(token, 16)} is neither a file nor a token signed with this app's key (from "
            f"{where}): it was changed or cut short, or the server uses another key. Pass the server's "
            "--secret-key, or --root APP_DIR for its development key"
        ) from None
    except TokenExpired:
        raise InspectError("the token has expired (older than the app's --ttl)") from None
    except ContinuationExpired as e:
        detail = f" ({e.__cause__})" if e.__cause__ is not None else ""
        raise InspectError(f"{e}{detail}") from None
    except TmwebError as e:
        raise InspectError(str(e)) from None


def short(v: Any, width: int = SHORT) -> str:
    try:
        s = pr_str(v)
    except Exception:  # pragma: no cover - printing never fails on loaded values
        s = f"#<{type(v).__name__}>"
    return s if len(s) <= width else s[: width - 3] + "..."


def describe(data: bytes, rt: Any) -> str:
    """A readable report of a serialized value: envelope, frames (top first), sizes."""
    lay = serial.layout(data)
    parts = ", ".join(f"{name} {n}" for name, n in lay.parts)
    out = [
        f"format:          {lay.format}",
        f"program version: {lay.program_version}",
        f"size:            {len(data)} bytes ({parts})",
        f"code table:      {len(lay.codes)} entr{'y' if len(lay.codes) == 1 else 'ies'}",
    ]
    for i, (sym, ver) in enumerate(lay.codes):
        out.append(f"  [{i}] {sym}  version {ver}")
    value: Any = None
    note = ""
    try:
        value = serial.deserialize(rt, data)
    except TurmericError as e:
        note = f"(cannot load with the current code: {e.message})"
    if lay.frames is not None:
        frames = lay.frames
        loaded = value.frames if isinstance(value, Continuation) else None
        out.append(
            f"continuation:    {len(frames)} frame{'s' if len(frames) != 1 else ''}, top first"
            + ("" if lay.resumable else " (not resumable)")
        )
        if note:
            out.append(f"  {note}")
        for n, raw in enumerate(frames):
            ci = raw.code_index
            sym = lay.codes[ci][0] if isinstance(ci, int) and 0 <= ci < len(lay.codes) else "?"
            if loaded is not None:
                fr = loaded[n]
                code = frame_code(fr)
                pos = code.callpos.get(fr[PC]) or code.pos
                out.append(
                    f"  #{n} {sym}  at {pos if pos else '?'}  resume point {fr[PC]}  ({raw.size} bytes)"
                )
                out.extend(_slots(code, fr))
            else:
                out.append(f"  #{n} {sym}  resume point {raw.pc}  ({raw.size} bytes)")
                for j, text in enumerate(raw.slots):
                    out.append(f"      slot{j} = {text}")
    elif getattr(getattr(value, "type", None), "name", None) == "%step":
        # what send/suspend stores: the continuation, its page function, how it resumes
        k, page, method = value.vals
        out.append(f"step:            resumed by {method}; page built by {short(page)}")
        frames = k.frames if isinstance(k, Continuation) else ()
        out.append(f"continuation:    {len(frames)} frame{'s' if len(frames) != 1 else ''}, top first")
        for n, fr in enumerate(frames):
            code = frame_code(fr)
            pos = code.callpos.get(fr[PC]) or code.pos
            out.append(f"  #{n} {code.symbol}  at {pos if pos else '?'}  resume point {fr[PC]}")
            out.extend(_slots(code, fr))
    else:
        out.append(f"value:           {short(value, 200) if not note else note}")
    out.append(f"objects:         {lay.objects}")
    return "\n".join(out)


def _slots(code: Any, fr: Any) -> list[str]:
    out = []
    for j, v in enumerate(frame_slots(fr)):
        name = code.slot_names[j] if j < len(code.slot_names) else f"slot{j}"
        if name.startswith("%"):
            name = f"<pending {j}>"
        out.append(f"      {name} = {short(v)}")
    return out
