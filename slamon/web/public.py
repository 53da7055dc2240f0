"""Public handlers: the status site, slamon's JSON API, /metrics and /healthz."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder, generate_latest

from slamon.web import auth
from slamon.web.keys import RUNTIME
from statuspage.render import content_type as site_content_type

log = logging.getLogger("slamon.web")
# The files of the status site that slamon serves: the same bytes a build writes.
_SITE_PATH = (
    r"/{path:(index\.html|history\.html|subscribe\.html|feed\.atom"
    r"|(incidents|components|badges)/[^/]+|api/v2/.+)}"
)


async def site_file(request: web.Request) -> web.Response:
    """A file of the status site (``/`` is index.html), rebuilt first after a state change."""
    runtime = request.app[RUNTIME]
    if runtime.site is None:
        raise web.HTTPNotFound()
    path = request.match_info.get("path", "index.html")
    try:
        site = await runtime.site.current()
    except Exception:  # the first build failed: nothing to serve yet
        log.exception("the status site could not be built")
        raise web.HTTPServiceUnavailable(text="The status page is not available yet.") from None
    body = site.files.get(path)
    if body is None:
        if path.startswith("api/v2/") and not runtime.config.statuspage.url:
            raise web.HTTPNotFound(
                text="The Statuspage API gives absolute links: set [statuspage] url to serve it."
            )
        raise web.HTTPNotFound()
    headers = {"Content-Type": site_content_type(path), "Cache-Control": "public, max-age=10"}
    if path.startswith(("api/", "badges/")) or path == "feed.atom":
        headers["Access-Control-Allow-Origin"] = "*"  # widgets and aggregators elsewhere
    return web.Response(body=body, headers=headers)


def accepts_text(accept: str) -> bool:
    """Whether an Accept header takes Prometheus' text format (``text/plain``) at all."""
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        if media.lower() not in ("text/plain", "text/*", "*/*"):
            continue
        q = next((p.partition("=")[2] for p in params if p.lower().startswith("q=")), "1")
        try:
            if float(q) > 0:
                return True
        except ValueError:
            continue
    return False


async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition from the app's own registry, in the format the scraper asks for."""
    accept = request.headers.get("Accept", "")
    encoder, content_type = choose_encoder(accept)
    runtime = request.app[RUNTIME]
    registry, live = runtime.registry, runtime.live
    if encoder is not generate_latest and live is not None and accepts_text(accept):
        # Prometheus asks for OpenMetrics first and accepts the text format too. Only
        # the text format renders off the event loop: OpenMetrics of ten thousand
        # monitors held the loop for seconds, and checks due meanwhile waited.
        encoder, content_type = generate_latest, CONTENT_TYPE_PLAIN_0_0_4
    if encoder is generate_latest and live is not None:
        # Ten thousand monitors are 13 MB of text: the per-monitor part renders in a
        # thread so that the event loop keeps waking checks on time; the rest (other
        # collectors, not written for threads) renders here on the loop.
        around = live.render_around(registry)
        body = await asyncio.get_running_loop().run_in_executor(None, live.render_own, around)
    else:
        body = encoder(registry)
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
        known = runtime.engine.last_known(m.id)
        out.append(
            {
                "id": m.id,
                "name": m.display_name,
                "description": m.description,
                "state": (known or runtime.engine.state(m.id)).value,
                "since": since.isoformat() if since else None,
                # The state measured before a restart, not confirmed by a check since.
                "last_known": known is not None,
            }
        )
    return web.json_response({"monitors": out})


async def monitor_locations(request: web.Request) -> web.Response:
    """A monitor's state at each location, and how they combine (for SREs).

    Public monitors answer to anyone, like /api/v1/monitors; others need the admin token.
    """
    runtime = request.app[RUNTIME]
    monitor_id = request.match_info["monitor_id"]
    monitor = next((m for m in runtime.config.monitors if m.id == monitor_id), None)
    if monitor is None:
        raise web.HTTPNotFound(text="no such monitor")
    if not monitor.public:
        auth.require(request, runtime.config, auth.Role.ADMIN)
    engine = runtime.engine
    since = engine.state_since.get(monitor_id)
    # In a cluster, the clocks as the shards' consumers measured them.
    counters = runtime.member.ingests if runtime.member is not None else runtime.ingest
    skews = counters.skews if counters is not None else {}
    locations = []
    for view in engine.location_views(monitor_id):
        skew = skews.get(view.location)
        locations.append(
            {
                "location": view.location,
                "state": view.state.value,
                "since": view.since.isoformat() if view.since else None,
                "last_result_at": view.last_result_at.isoformat() if view.last_result_at else None,
                "clock_skew_seconds": skew.estimate if skew is not None else None,
            }
        )
    return web.json_response(
        {
            "id": monitor_id,
            "state": engine.state(monitor_id).value,
            "since": since.isoformat() if since else None,
            "quorum": engine.quorum(monitor_id),
            "locations": locations,
        }
    )


def add_public_routes(app: web.Application) -> None:
    """The status site, the public JSON API, /metrics and /healthz."""
    app.router.add_get("/", site_file)
    app.router.add_get(_SITE_PATH, site_file)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/monitors", monitors)
    app.router.add_get("/api/v1/monitors/{monitor_id}/locations", monitor_locations)
