"""Clients shared by all checks of one process, created on first use, closed once."""

from __future__ import annotations

import aiohttp
import dns.resolver

from probes.httpclient import HttpClient, TlsContexts


class ProbeResources:
    """Owns what probes share: TLS contexts, the HTTP client and its keep-alive pool.

    HTTP checks open a fresh connection each time unless a monitor asks for
    keep-alive, as blackbox_exporter does: a kept connection would hide connect and
    TLS failures. The aiohttp session is kept for callers that want a full client.
    """

    def __init__(self, user_agent: str = "slamon/0.1 (+https://github.com/slamon)") -> None:
        self.user_agent = user_agent
        self.tls = TlsContexts()
        self._client: HttpClient | None = None
        self._http: aiohttp.ClientSession | None = None
        self._nameserver: str | None = None

    def system_nameserver(self) -> str:
        """The first nameserver of the system's resolver (read once)."""
        if self._nameserver is None:
            try:
                self._nameserver = str(dns.resolver.Resolver().nameservers[0])
            except (dns.resolver.NoResolverConfiguration, IndexError, OSError):
                self._nameserver = "127.0.0.1"
        return self._nameserver

    def http_client(self) -> HttpClient:
        """The lean HTTP/1.1 client the http probe uses."""
        if self._client is None:
            self._client = HttpClient(self.user_agent, self.tls)
        return self._client

    def http(self) -> aiohttp.ClientSession:
        """A shared aiohttp session (one connection per request, no cookies kept)."""
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
        if self._client is not None:
            self._client.pool.close()
            self._client = None
        if self._http is not None:
            await self._http.close()
            self._http = None
