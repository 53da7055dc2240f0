"""Where the web app keeps the runtime: one typed key (``web.AppKey``)."""

from __future__ import annotations

from aiohttp import web

from slamon.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
