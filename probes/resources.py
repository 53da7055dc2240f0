"""Clients shared by all checks of one process, created on first use, closed once."""

from __future__ import annotations

import aiohttp


class ProbeResources:
    """Owns the aiohttp session probes share; the scheduler closes it on shutdown.

    The connector closes every connection after its response (``force_close``), so
    each check opens a fresh connection, as blackbox_exporter does: a keep-alive
    connection would hide connect and TLS failures.
    """

    def __init__(self, user_agent: str = "slamon/0.1 (+https://github.com/slamon)") -> None:
        self.user_agent = user_agent
        self._http: aiohttp.ClientSession | None = None

    def http(self) -> aiohttp.ClientSession:
        """The shared HTTP session (one connection per check, no cookies kept)."""
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(force_close=True, limit=0, ttl_dns_cache=10)
            self._http = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.user_agent},
                timeout=aiohttp.ClientTimeout(total=None),
                auto_decompress=True,
            )
        return self._http

    async def close(self) -> None:
        """Close whatever was opened."""
        if self._http is not None:
            await self._http.close()
            self._http = None
