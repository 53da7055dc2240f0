"""``/c/<customer>``: a customer's own page, behind that customer's token.

The token (``[[customers]] token``) comes as ``Authorization: Bearer``, as the form's
``token`` field, or once as ``?token=`` in a link the provider hands out. The form and
the link set a cookie for this page's path only (an HMAC of the customer id keyed with
the token: rotating the token ends every session) and redirect to the bare address,
so the token leaves the address bar and the history.

The same answer for a customer that does not exist and one whose token is wrong
(401 with the form without a token, 403 with a wrong one), so the page tells no one
which customers exist. Wrong tokens are counted per client address and refused past
``FAILED_LIMIT`` an hour. Every answer is ``no-store``, ``no-referrer``, ``noindex``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web

from slamon.reports.customer import customer_view
from slamon.web.keys import RUNTIME
from slamon.web.limits import RateLimiter
from statuspage.customer import render_customer, render_customer_login
from statuspage.snapshot import PageSnapshot

if TYPE_CHECKING:
    from slamon.config.contracts import CustomerConfig
    from slamon.runtime import Runtime

COOKIE = "slamon_customer"
FAILED_LIMIT = 20  # wrong tokens per client address an hour
_PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("customer_clock")
FAILURES = web.AppKey("customer_failures", RateLimiter)


def _session(customer: CustomerConfig) -> str:
    token = customer.token.get_secret_value().encode()
    return hmac.new(token, f"session:{customer.id}".encode(), hashlib.sha256).hexdigest()


def _customer(rt: Runtime, customer_id: str) -> CustomerConfig | None:
    return next((c for c in rt.config.customers if c.id == customer_id), None)


def _token_opens(customer: CustomerConfig | None, given: str) -> bool:
    # Compared even for a customer that does not exist, so that both take as long.
    expected = customer.token.get_secret_value() if customer is not None else "\x00" * 32
    return hmac.compare_digest(given.encode(), expected.encode()) and customer is not None


def _page(rt: Runtime, now: datetime) -> PageSnapshot:
    sp = rt.config.statuspage
    return PageSnapshot(sp.title, sp.description, sp.timezone, sp.language, sp.url, now, ())


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=_PRIVATE
    )


def _login(request: web.Request, customer_id: str, wrong: bool) -> web.Response:
    rt = request.app[RUNTIME]
    now = request.app[CLOCK]()
    body = render_customer_login(rt.renderer, _page(rt, now), customer_id, wrong)
    response = _html(body, 403 if wrong else 401)
    if not wrong:
        response.headers["WWW-Authenticate"] = 'Bearer realm="slamon customer"'
    return response


def _wrong(request: web.Request, customer_id: str) -> web.Response:
    client = f"client:{request.remote or '?'}"
    if not request.app[FAILURES].allow(client, FAILED_LIMIT, 3600):
        raise web.HTTPTooManyRequests(text="Too many wrong tokens; try again later.")
    return _login(request, customer_id, wrong=True)


def _signed_in(request: web.Request, customer: CustomerConfig) -> web.HTTPSeeOther:
    """Set this page's cookie and send the browser to the bare address."""
    rt = request.app[RUNTIME]
    response = web.HTTPSeeOther(location=f"/c/{customer.id}", headers=_PRIVATE)
    response.set_cookie(
        COOKIE,
        _session(customer),
        path=f"/c/{customer.id}",
        httponly=True,
        samesite="Strict",
        secure=rt.config.statuspage.url.startswith("https://"),
    )
    return response


async def customer_page(request: web.Request) -> web.Response:
    """The page, for the bearer of the customer's token (or its cookie)."""
    rt = request.app[RUNTIME]
    customer_id = request.match_info["customer"]
    customer = _customer(rt, customer_id)
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer:
        if not _token_opens(customer, bearer.strip()):
            return _wrong(request, customer_id)
    elif "token" in request.query:
        if not _token_opens(customer, request.query["token"]):
            return _wrong(request, customer_id)
        assert customer is not None
        raise _signed_in(request, customer)
    elif COOKIE in request.cookies:
        expected = _session(customer) if customer is not None else ""
        if customer is None or not hmac.compare_digest(request.cookies[COOKIE], expected):
            return _wrong(request, customer_id)
    else:
        return _login(request, customer_id, wrong=False)
    assert customer is not None
    now = request.app[CLOCK]()
    view = await customer_view(rt.config, rt.store, customer.id, now)
    if view is None:  # a customer entry whose contracts were removed
        raise web.HTTPNotFound()
    return _html(render_customer(rt.renderer, _page(rt, now), view))


async def customer_sign_in(request: web.Request) -> web.Response:
    """The token form."""
    rt = request.app[RUNTIME]
    customer_id = request.match_info["customer"]
    customer = _customer(rt, customer_id)
    form = await request.post()
    if not _token_opens(customer, str(form.get("token", ""))):
        return _wrong(request, customer_id)
    assert customer is not None
    raise _signed_in(request, customer)


def add_customer_routes(
    app: web.Application, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """``/c/<customer>``; ``clock`` is the page's now (tests pass a fixed one)."""
    app[CLOCK] = clock
    app[FAILURES] = RateLimiter()
    app.router.add_get(r"/c/{customer:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}}", customer_page)
    app.router.add_post(r"/c/{customer:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}}", customer_sign_in)
