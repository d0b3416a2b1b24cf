"""The one place where the inbox's typed errors become HTTP answers (an aiohttp middleware).

Contract: an :class:`~hub.inbox.errors.InboxError` raised by any inbox handler (or the service it calls) becomes
``{"error": message}`` with the error's status under ``/api/``; on a page, the handler's in-place renderer when it
registered one for refusals other than "not found" (``request[RECOVER]``: the thread page showing the refusal next
to the form), else the French error page with the error's status. Handlers never catch ``InboxError`` themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from hub.inbox.errors import InboxError, NotFound
from hub.web.inbox_common import WHO, json_error, render

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Recover = Callable[[InboxError], Awaitable[web.StreamResponse]]
RECOVER: web.RequestKey[Recover] = web.RequestKey("inbox_recover")


@web.middleware
async def inbox_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except InboxError as exc:
        if request.path.startswith("/api/"):
            return json_error(exc.message, exc.status)
        recover: Recover | None = request.get(RECOVER)
        if recover is not None and not isinstance(exc, NotFound):
            return await recover(exc)
        info, viewer = request[WHO]
        return render(request, "inbox/error.html", {"user": viewer, "csrf_token": info.csrf_token, "counts": {},
                                                    "notice": None, "error": None, "query": "",
                                                    "message": exc.message}, exc.status)
