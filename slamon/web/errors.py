"""HTTP errors returned, never raised to aiohttp: a refused request is freed at once.

aiohttp catches a raised ``HTTPException`` in ``_handle_request`` and keeps it in a local
of that frame, which the exception's own traceback holds: a reference cycle that kept
each refused request (its frames, body chunks, parser buffers) alive until the next cyclic
collection, which ``app.tune_gc`` makes rare. 200 refused 4 MiB bodies grew RSS by
9-10 MiB, and a flood of 401s piled up the same way. This outermost middleware turns the
exception into a plain response; the exception dies with its ``except`` block and
reference counting frees the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web


def as_response(exc: web.HTTPException) -> web.Response:
    """The same answer as ``exc`` (cookies too), as a plain response to return instead of raise."""
    response = web.Response(
        status=exc.status, reason=exc.reason, headers=exc.headers, body=exc.body
    )
    response.cookies.update(exc.cookies)
    return response


@web.middleware
async def return_http_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer a raised HTTP error (4xx, 5xx, a redirect) as a returned response."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return as_response(exc)
