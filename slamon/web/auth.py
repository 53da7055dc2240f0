"""Bearer-token checks for admin and finance endpoints; the public page needs none."""

from __future__ import annotations

import hmac
from enum import StrEnum
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import SecretStr

if TYPE_CHECKING:
    from slamon.config.model import Config


class Role(StrEnum):
    """Who may call an endpoint: admins manage, finance reads money."""

    ADMIN = "admin"
    FINANCE = "finance"


def _tokens(config: Config, role: Role) -> list[SecretStr]:
    server = config.server
    tokens = [server.admin_token]
    if role is Role.FINANCE:
        tokens.append(server.finance_token)
    return [t for t in tokens if t is not None]


def require(request: web.Request, config: Config, role: Role) -> None:
    """Raise 401 unless the request carries a bearer token valid for ``role``.

    With no token configured for the role, the endpoint is closed (403): finance and
    admin data are never served without authentication.
    """
    tokens = _tokens(config, role)
    if not tokens:
        raise web.HTTPForbidden(
            text=f"{role} endpoints are disabled: set server.admin_token"
            + (" or server.finance_token" if role is Role.FINANCE else "")
        )
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise web.HTTPUnauthorized(
            text="bearer token required", headers={"WWW-Authenticate": 'Bearer realm="slamon"'}
        )
    given_bytes = given.strip().encode()
    # Compare against every token without stopping early: constant time per token.
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(given_bytes, token.get_secret_value().encode())
    if not ok:
        raise web.HTTPUnauthorized(
            text="invalid token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
