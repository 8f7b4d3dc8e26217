"""Post/Redirect/Get for the answer of a POST that does not stop at a POST step.

A POST that resumes a continuation and reaches the next POST step is answered with a 303 to
that step's URL (app.py). Any other page such a POST answers - the handler's last page
(the sum, a "thank you"), a `send/finish` response, a page of links (`send/suspend/dispatch`,
a "check your mail" page) - would be the direct answer to a POST, which a browser can only
reload by posting the form again (Chromium asks "Confirm Form Resubmission"; a headless one
just posts it again, and the handler runs twice).

So the page is kept instead: stored in the continuation store as the continuation
`(constantly page)`, in the request's flow, bound to its browser session, for the app's
TTL, and the POST is answered with a 303 to its URL. A GET of that URL answers the same
page again without running anything of the handler: a reload, a new tab of the same
browser, the back and forward buttons. Everything a continuation record has holds for it:
another session gets 403, a later `send/forward` or `send/finish` of the flow expires it
(410), the session's budget pays for it, and its size is capped.

Only a whole HTML page is kept: a string or a `text/html` response with status 200 and no
`Set-Cookie` header (a cookie is set once, not replayed). Anything else (a redirect, JSON, an
error status) is answered as it is, as are pages of a POST to a route (the app's own URL:
use `redirect/get` there) and every answer when `redirect_after_post` is off. If the page
cannot be kept (over the size cap, the store down), the POST is answered with the page as
before: the handler has run, and its answer must not be lost.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..lang.machine import Machine
from ..lang.values import Struct, TMap
from .builtins import RESPONSE, RequestCtx
from .errors import ContinuationTooLarge, StoreUnavailable

log = logging.getLogger("tmweb")

#: Set in the request's scope by the `/k/{token}` endpoint: the request resumes a
#: continuation (its POST answers are kept; a route's are the app's).
RESUMING = "tmweb.resuming"


def keepable(request: Request, result: Any) -> bool:
    """Whether `result`, the value a handler resumed by this POST answered, is a whole HTML
    page to keep behind a GET URL."""
    if request.method != "POST" or not request.scope.get(RESUMING):
        return False
    if result.__class__ is str:
        return True
    if result.__class__ is not Struct or result.type is not RESPONSE:
        return False
    status, headers, _body, ctype = result.vals
    if status != 200 or not str(ctype).lower().startswith("text/html"):
        return False
    names = headers.d if headers.__class__ is TMap else {}
    return not any(str(name).lower() == "set-cookie" for name in names)


async def keep(app: Any, request: Request, ctx: RequestCtx, page: Any) -> Response | None:
    """Store `page` as a continuation of the request's flow that answers it again, and
    return the 303 to its URL; None if it cannot be kept (the caller answers the page)."""
    machine = Machine(10_000)
    machine.rt = app.rt
    answer = machine.run(machine.start(app.rt.core.cells["constantly"].value, (page,)))
    try:
        token = await app.continuations.save(
            answer, flow=ctx.flow, start=ctx.start, session=ctx.session, owner=ctx.owner
        )
    except (ContinuationTooLarge, StoreUnavailable) as e:
        log.warning("the answer to a POST is sent as it is, without a URL to reload it: %s", e)
        return None
    root = request.scope.get("root_path", "") or ""
    return RedirectResponse(root + "/k/" + token, status_code=303)
