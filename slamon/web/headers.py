"""Security headers on every response: a CSP the page's own assets satisfy, and the rest.

Every response says ``nosniff`` and ``Referrer-Policy: no-referrer``. HTML gets a
``Content-Security-Policy`` that allows nothing but the page's own inline stylesheet
(by its SHA-256, computed from the bytes served, so a template change never needs a
matching edit here) and images from the same origin, and refuses framing
(``frame-ancestors 'none'``, and ``X-Frame-Options`` for older browsers). SVG badges
get a policy without script. JSON keeps its ``Access-Control-Allow-Origin: *``:
Statuspage widgets read it from other origins, and no header here takes that away.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

_STYLE = re.compile(rb"<style(?:\s[^>]*)?>(.*?)</style>", re.DOTALL | re.IGNORECASE)

COMMON = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def html_policy(body: bytes) -> str:
    """The CSP for one HTML document: its own inline styles by hash, same-origin images."""
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() + "'"
            for m in _STYLE.finditer(body)
        }
    )
    styles = " ".join(hashes) or "'none'"
    return (
        f"default-src 'none'; style-src {styles}; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def html_headers(body: bytes) -> dict[str, str]:
    """Every header an HTML document is served with, beside its content type."""
    return {**COMMON, "Content-Security-Policy": html_policy(body), "X-Frame-Options": "DENY"}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the headers for what is being sent."""
    for name, value in COMMON.items():
        response.headers.setdefault(name, value)
    kind = response.content_type
    if kind == "text/html":
        body = getattr(response, "body", None)
        policy = html_policy(body if isinstance(body, bytes) else b"")
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Frame-Options", "DENY")
    elif kind == "image/svg+xml":
        response.headers.setdefault("Content-Security-Policy", SVG_POLICY)
