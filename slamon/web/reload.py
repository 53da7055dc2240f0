"""``POST /-/reload``: re-read the config file, as SIGHUP does (admin bearer token).

200 with what changed when the new config was applied; 400 with every error (TOML
paths) when it was invalid, and the running config is unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from slamon.web.auth import Role, require
from slamon.web.keys import RUNTIME

if TYPE_CHECKING:
    from slamon.reload import Reloader

RELOADER: web.AppKey[Reloader | None] = web.AppKey("reloader")


async def reload_config(request: web.Request) -> web.Response:
    """Reload now; say what changed, or why nothing did."""
    require(request, request.app[RUNTIME].config, Role.ADMIN)
    reloader = request.app[RELOADER]
    if reloader is None:
        return web.json_response(
            {"status": "error", "errors": ["this process has no config file to reload"]},
            status=409,
        )
    outcome = await reloader.reload("POST /-/reload")
    if not outcome.ok:
        return web.json_response({"status": "error", "errors": list(outcome.errors)}, status=400)
    return web.json_response(
        {
            "status": "success",
            "added": list(outcome.added),
            "changed": list(outcome.changed),
            "removed": list(outcome.removed),
        }
    )


def add_reload_route(app: web.Application, reloader: Reloader | None) -> None:
    """``POST /-/reload`` (and PUT, as Prometheus takes both), served by ``reloader``."""
    app[RELOADER] = reloader
    app.router.add_post("/-/reload", reload_config)
    app.router.add_put("/-/reload", reload_config)
