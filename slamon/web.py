"""HTTP handlers: the status site, slamon's JSON API, /metrics and /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from slamon.app import Runtime, start, stop
from statuspage.render import content_type

RUNTIME = web.AppKey("runtime", Runtime)
# The files of the status site that slamon serves: the same bytes a build writes.
_SITE_PATH = (
    r"/{path:(index\.html|history\.html|feed\.atom|(incidents|components|badges)/[^/]+|api/v2/.+)}"
)


async def site_file(request: web.Request) -> web.Response:
    """A file of the status site (``/`` is index.html), rebuilt first after a state change."""
    runtime = request.app[RUNTIME]
    if runtime.site is None:
        raise web.HTTPNotFound()
    path = request.match_info.get("path", "index.html")
    site = await runtime.site.current()
    body = site.files.get(path)
    if body is None:
        raise web.HTTPNotFound()
    headers = {"Content-Type": content_type(path), "Cache-Control": "public, max-age=10"}
    if path.startswith(("api/", "badges/")) or path == "feed.atom":
        headers["Access-Control-Allow-Origin"] = "*"  # widgets and aggregators elsewhere
    return web.Response(body=body, headers=headers)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition from the app's own registry, in the format the scraper asks for."""
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encoder(request.app[RUNTIME].registry)
    return web.Response(body=body, headers={"Content-Type": content_type})


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers; the body says whether the store is writable."""
    writer = request.app[RUNTIME].writer
    return web.json_response(
        {"status": "ok", "store": "ok" if writer.healthy else "failing", "pending": writer.pending}
    )


async def monitors(request: web.Request) -> web.Response:
    """Public monitors with their confirmed state (no targets, no settings)."""
    runtime = request.app[RUNTIME]
    out = []
    for m in runtime.config.monitors:
        if not m.public:
            continue
        since = runtime.engine.state_since.get(m.id)
        out.append(
            {
                "id": m.id,
                "name": m.display_name,
                "description": m.description,
                "state": runtime.engine.state(m.id).value,
                "since": since.isoformat() if since else None,
            }
        )
    return web.json_response({"monitors": out})


def add_routes(app: web.Application) -> None:
    """Register every route on ``app``."""
    app.router.add_get("/", site_file)
    app.router.add_get(_SITE_PATH, site_file)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/monitors", monitors)


def create_app(runtime: Runtime) -> web.Application:
    """The aiohttp application: routes, and the runtime's tasks in its lifecycle."""
    app = web.Application()
    app[RUNTIME] = runtime
    add_routes(app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        tasks = await start(app[RUNTIME])
        yield
        await stop(app[RUNTIME], tasks)

    app.cleanup_ctx.append(lifecycle)
    return app
