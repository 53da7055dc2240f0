"""Bearer tokens guard admin and finance endpoints."""

from __future__ import annotations

import pytest
from aiohttp import web

from slamon.config.load import parse_config
from slamon.config.model import Config
from slamon.web.auth import Role, require


def app_for(config: Config, role: Role) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        require(request, config, role)
        return web.Response(text="secret figures")

    app = web.Application()
    app.router.add_get("/x", handler)
    return app


@pytest.mark.parametrize(
    ("role", "header", "status"),
    [
        (Role.ADMIN, None, 401),
        (Role.ADMIN, "Bearer wrong", 401),
        (Role.ADMIN, "Basic YWRtaW46YWRtaW4=", 401),
        (Role.ADMIN, "Bearer adm", 200),
        (Role.ADMIN, "Bearer fin", 401),
        (Role.FINANCE, "Bearer fin", 200),
        (Role.FINANCE, "Bearer adm", 200),
        (Role.FINANCE, "bearer fin", 200),
    ],
    ids=[
        "none",
        "wrong",
        "basic",
        "admin-ok",
        "finance-not-admin",
        "finance-ok",
        "admin-reads-finance",
        "scheme-case",
    ],
)
async def test_tokens(aiohttp_client, role: Role, header: str | None, status: int) -> None:  # type: ignore[no-untyped-def]
    config = parse_config({"server": {"admin_token": "adm", "finance_token": "fin"}}, {})
    client = await aiohttp_client(app_for(config, role))
    resp = await client.get("/x", headers={"Authorization": header} if header else {})
    assert resp.status == status
    if status == 200:
        assert await resp.text() == "secret figures"
    else:
        assert "secret figures" not in await resp.text()


async def test_no_token_configured_closes_the_endpoint(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    client = await aiohttp_client(app_for(parse_config({}, {}), Role.FINANCE))
    resp = await client.get("/x", headers={"Authorization": "Bearer anything"})
    assert resp.status == 403
