"""Shared fixtures: real target servers, real databases, and service checks."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from slamon.store import migrate
from slamon.store.schema import metadata
from slamon.store.sql import Store

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
T = TypeVar("T")

PG_DSN = os.environ.get("SLAMON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def require(available: bool, what: str) -> None:
    """Skip loudly when ``what`` is missing; under CI a missing service is a failure."""
    if available:
        return
    message = f"NOT RUN: {what} is not available on this machine"
    if IN_CI:
        pytest.fail(f"{message} (CI=true requires it)")
    print(f"\n*** {message} ***")
    pytest.skip(message)


def ipv6_loopback() -> bool:
    """True when this machine can listen on the IPv6 loopback address ``::1``."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-goldens`` rewrites tests/golden/ from what the code produces now."""
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden files under tests/golden/ instead of comparing with them",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Tell ``tests.golden_files`` whether this run rewrites goldens."""
    from tests import golden_files

    golden_files.UPDATE = bool(config.getoption("--update-goldens"))


async def beside_a_sleep(aw: Awaitable[T], seconds: float) -> tuple[T, float, float]:
    """Run ``aw`` beside ``asyncio.sleep(seconds)`` started at the same moment.

    Returns ``aw``'s result, how long it took, and how long the sleep took (when ``aw``
    ends first, the sleep is cancelled and counted as ``aw``'s time: it would have
    taken longer). On a loaded machine both are late by about as much, so a bound on
    "no longer than the sleep plus a margin" holds where an absolute time limit would
    not, and still fails when a timeout is not enforced. Bounded at ``seconds + 30``
    so that a hang fails rather than waits.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    slept: list[float] = []
    sleep = asyncio.ensure_future(asyncio.sleep(seconds))
    sleep.add_done_callback(lambda _: slept.append(loop.time() - started))
    try:
        async with asyncio.timeout(seconds + 30):
            result = await aw
    finally:
        sleep.cancel()
    took = loop.time() - started
    await asyncio.sleep(0)  # the callback of a sleep that ended with ``aw`` runs now
    return result, took, slept[0] if slept and slept[0] <= took else took


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def closed_port() -> int:
    """A loopback port with nothing listening on it (a target that refuses)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def refused_port() -> int:
    """A loopback port with nothing listening on it."""
    return closed_port()


@dataclass
class Targets:
    """A real HTTP server whose behaviour the test controls."""

    server: TestServer
    healthy: bool = True
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.server.port}"


@pytest.fixture
async def targets(aiohttp_server) -> Targets:  # type: ignore[no-untyped-def]
    """/ok answers 200, /fail 503, /hang never answers, /toggle follows ``healthy``."""
    state: Targets | None = None

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="all good: slamon-canary-body")

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=503, text="unavailable")

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response(text="too late")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("s", "0.3")))
        return web.Response(text="slow but fine")

    async def toggle(request: web.Request) -> web.Response:
        assert state is not None
        state.hits["toggle"] = state.hits.get("toggle", 0) + 1
        if state.healthy:
            return web.Response(text="up")
        return web.Response(status=503, text="down")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/fail", fail)
    app.router.add_get("/hang", hang)
    app.router.add_get("/slow", slow)
    app.router.add_get("/toggle", toggle)
    app.router.add_get("/redirect", redirect)
    server = await aiohttp_server(app)
    state = Targets(server)
    return state


# -- databases ----------------------------------------------------------------------


def _pg_available() -> bool:
    return port_open("127.0.0.1", 5432)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (dropped at the end)."""
    require(_pg_available(), "PostgreSQL on 127.0.0.1:5432")
    import asyncpg

    name = f"slamon_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A database URL: the same suite runs against SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/slamon.db"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A migrated, empty store."""
    s = Store.from_url(store_url)
    await migrate.upgrade(s.engine)
    async with s.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def private_broker(tmp_path):  # type: ignore[no-untyped-def]
    """A Mosquitto of this test's own, to stop and start."""
    from tests.brokers import PrivateBroker

    require(os.path.exists("/usr/sbin/mosquitto"), "the mosquitto binary")
    broker = PrivateBroker(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
async def fresh_pg() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test (for processes of its own)."""
    import asyncpg

    require(port_open("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432")
    name = f"slamon_fault_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_DSN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        conn = await asyncpg.connect(PG_DSN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
