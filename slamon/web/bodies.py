"""Request bodies: refused over the limit before they are buffered, JSON read strictly.

A body over ``server.max_body_bytes`` is refused from its Content-Length before a byte
is read, and a body without one (chunked) is counted while it streams and refused the
moment it passes the limit: nothing larger than the limit is ever held. Bad JSON is a
400 that says what is wrong (not UTF-8, nested too deep, not JSON), never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from slamon.web.keys import RUNTIME

DEFAULT_MAX_BODY = 1024 * 1024
MAX_JSON_DEPTH = 64

_CHUNK = 64 * 1024
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _limit(request: web.Request) -> int:
    # Read per request: a reload may change server.max_body_bytes.
    runtime = request.app.get(RUNTIME)
    return runtime.config.server.max_body_bytes if runtime is not None else DEFAULT_MAX_BODY


class BodyError(ValueError):
    """The body is not what the endpoint takes; ``str()`` says why, for a 400."""


def _too_large(limit: int) -> web.HTTPRequestEntityTooLarge:
    # The rest of the body is read and dropped as it comes (aiohttp's lingering close,
    # at most 10 s), never kept: the client gets its 413 instead of a reset connection.
    return web.HTTPRequestEntityTooLarge(
        max_size=limit,
        actual_size=limit + 1,
        text=json.dumps({"error": f"body: larger than the limit of {limit} bytes"}),
        content_type="application/json",
    )


@web.middleware
async def limit_bodies(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Refuse a body whose declared Content-Length is over the limit, before the handler."""
    limit = _limit(request)
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    return await handler(request)


async def read_body(request: web.Request) -> bytes:
    """The whole body, counted as it streams; 413 the moment it passes the limit."""
    limit = _limit(request)
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            parts.clear()  # nothing of it outlives this call, not even in a traceback
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def _depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON ``text`` (strings skipped)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0  # cannot be too deep; the exact figure does not matter then
    deepest = depth = 0
    for m in _BRACKET.finditer(_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json(body: bytes, *, decimals: bool = False) -> Any:
    """Decode ``body`` as UTF-8 JSON; raise BodyError saying what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"body: not UTF-8 (invalid byte at offset {exc.start})") from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise BodyError(f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, parse_float=Decimal) if decimals else json.loads(text)
    except json.JSONDecodeError as exc:
        raise BodyError(f"body: not valid JSON: {exc}") from None
    except RecursionError:  # a nesting the scan above did not see; never a 500
        raise BodyError(f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels") from None


async def read_json(request: web.Request, *, decimals: bool = False) -> Any:
    """Read (bounded) and parse the request's JSON body; raise BodyError or 413."""
    return parse_json(await read_body(request), decimals=decimals)
