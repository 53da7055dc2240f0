"""POSTing JSON with aiohttp: the one place the HTTP notifiers share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp


class ReceiverError(Exception):
    """The receiver answered with an error status."""


class JsonPoster:
    """A lazily opened client session that POSTs JSON and raises on a non-2xx answer."""

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        self.headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: Any, headers: Mapping[str, str] | None = None) -> None:
        """POST ``body`` as JSON to ``url`` (with ``headers`` besides the session's)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"User-Agent": "slamon", **self.headers})
        async with self._session.post(url, json=body, headers=headers) as resp:
            if resp.status >= 300:
                text = (await resp.text())[:200]
                raise ReceiverError(f"{url} answered {resp.status}: {text}")

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
