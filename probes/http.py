"""HTTP(S) checks: status, body keyword, latency limit, redirects, a capped body read."""

from __future__ import annotations

import re

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from probes.context import ProbeContext
from probes.durations import Duration
from probes.result import ErrorClass, Result
from probes.targets import parse_http_url

_STATUS_CLASS = re.compile(r"^[1-5]xx$")


class Settings(BaseModel):
    """How to check one HTTP(S) endpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expected_status: tuple[int | str, ...] = ("2xx", "3xx")
    keyword: str | None = None
    max_redirects: int = Field(default=10, ge=0, le=50)
    verify_tls: bool = True
    latency_limit: Duration | None = None
    max_body_bytes: int = Field(default=1 << 20, ge=0)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        value = value.upper()
        if value not in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}:
            raise ValueError(f"unsupported HTTP method {value!r}")
        return value

    @field_validator("expected_status")
    @classmethod
    def _statuses(cls, value: tuple[int | str, ...]) -> tuple[int | str, ...]:
        for item in value:
            if isinstance(item, int) and not 100 <= item <= 599:
                raise ValueError(f"status {item} is not an HTTP status code")
            if isinstance(item, str) and not _STATUS_CLASS.match(item):
                raise ValueError(f"expected a code like 200 or a class like '2xx', got {item!r}")
        if not value:
            raise ValueError("must list at least one accepted status")
        return value

    def accepts(self, status: int) -> bool:
        """True when ``status`` is one of the accepted codes or classes."""
        return any(
            status == item if isinstance(item, int) else status // 100 == int(item[0])
            for item in self.expected_status
        )


def parse_target(target: str) -> str:
    """Validate the URL."""
    return parse_http_url(target)


async def _read_capped(resp: aiohttp.ClientResponse, cap: int) -> tuple[bytes, bool]:
    """Read at most ``cap`` bytes of the body; True when there was more."""
    chunks: list[bytes] = []
    size = 0
    while size <= cap:
        chunk = await resp.content.read(min(65536, cap + 1 - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    data = b"".join(chunks)
    return data[:cap], True


async def probe(ctx: ProbeContext, target: str, settings: Settings) -> Result:
    """Request ``target`` and judge the answer by ``settings``."""
    session = ctx.resources.http()
    need_body = settings.keyword is not None
    async with session.request(
        settings.method,
        target,
        headers=settings.headers,
        data=settings.body,
        allow_redirects=settings.max_redirects > 0,
        max_redirects=settings.max_redirects,
        ssl=settings.verify_tls,
    ) as resp:
        status = resp.status
        truncated = False
        body = b""
        if need_body:
            body, truncated = await _read_capped(resp, settings.max_body_bytes)
        latency = ctx.elapsed()
        metrics = {
            "http_status_code": float(status),
            "http_redirects": float(len(resp.history)),
            "http_content_length": float(len(body) if need_body else resp.content_length or 0),
        }
        if not settings.accepts(status):
            return ctx.down(ErrorClass.HTTP_STATUS, f"status {status}", metrics, latency)
        if settings.keyword is not None:
            text = body.decode(resp.get_encoding() if resp.charset else "utf-8", "replace")
            if settings.keyword not in text:
                cap_note = f" (read capped at {settings.max_body_bytes} bytes)" if truncated else ""
                return ctx.down(
                    ErrorClass.ASSERTION,
                    f"keyword {settings.keyword!r} not in body{cap_note}",
                    metrics,
                    latency,
                )
    if settings.latency_limit is not None and latency > settings.latency_limit:
        return ctx.degraded(
            ErrorClass.LATENCY,
            f"answered in {latency:.3f}s, over the {settings.latency_limit:g}s limit",
            metrics,
            latency,
        )
    return ctx.up(metrics, latency)
