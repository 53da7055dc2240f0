"""HTTP(S) checks: status, body and JSON and header assertions, latency, redirects, certs."""

from __future__ import annotations

import base64
import functools
import json
import re
import time
from typing import Any, Literal, Self

import jmespath
import jmespath.exceptions
from jmespath.parser import ParsedResult
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from probes.certs import DEFAULT_WARNING, check_expiry, earliest_expiry
from probes.context import ProbeContext
from probes.durations import Duration
from probes.httpclient import Request, Response
from probes.result import ErrorClass, Result
from probes.targets import parse_http_url

_STATUS_CLASS = re.compile(r"^[1-5]xx$")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BasicAuth(_Model):
    """HTTP basic credentials; write the password as ``${ENV_NAME}``."""

    username: str
    password: SecretStr


class JsonAssertion(_Model):
    """A JMESPath expression over the JSON body and what its value must be.

    With none of ``equals``, ``matches`` or ``exists`` the value must be truthy
    (present, not null, not false, not empty).
    """

    path: str
    equals: Any = None
    matches: re.Pattern[str] | None = None
    exists: bool | None = None

    @field_validator("path")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            jmespath.compile(value)
        except jmespath.exceptions.JMESPathError as exc:
            raise ValueError(f"not a JMESPath expression: {exc}") from None
        return value

    def compiled(self) -> ParsedResult:
        """The parsed expression (jmespath caches parses by text)."""
        return jmespath.compile(self.path)

    def failure(self, document: Any) -> str | None:
        """Why ``document`` fails this assertion, or None when it passes."""
        value = self.compiled().search(document)
        if self.exists is not None:
            if (value is not None) != self.exists:
                return f"{self.path}: expected {'a value' if self.exists else 'nothing'}"
            if not self.exists:
                return None
        if "equals" in self.model_fields_set:
            if value != self.equals:
                return f"{self.path}: expected {self.equals!r}, got {_short(value)}"
        elif self.matches is not None:
            text = value if isinstance(value, str) else json.dumps(value)
            if not self.matches.search(text):
                return f"{self.path}: {_short(value)} does not match {self.matches.pattern!r}"
        elif self.exists is None and not value:
            return f"{self.path}: expected a value, got {_short(value)}"
        return None


class HeaderAssertion(_Model):
    """A response header that must equal a value, match a regex, or be absent."""

    name: str
    equals: str | None = None
    matches: re.Pattern[str] | None = None
    absent: bool = False

    def failure(self, resp: Response) -> str | None:
        """Why ``resp`` fails this assertion, or None when it passes."""
        value = resp.header(self.name)
        if self.absent:
            return None if value is None else f"header {self.name} is present"
        if value is None:
            return f"header {self.name} is missing"
        if self.equals is not None and value != self.equals:
            return f"header {self.name}: expected {self.equals!r}, got {value[:80]!r}"
        if self.matches is not None and not self.matches.search(value):
            return f"header {self.name}: {value[:80]!r} does not match {self.matches.pattern!r}"
        return None


class Settings(_Model):
    """How to check one HTTP(S) endpoint."""

    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    basic_auth: BasicAuth | None = None
    bearer_token: SecretStr | None = None
    expected_status: tuple[int | str, ...] = ("2xx", "3xx")
    keyword: str | None = None
    keyword_absent: str | None = None
    regex: re.Pattern[str] | None = None
    regex_absent: re.Pattern[str] | None = None
    json_assertions: tuple[JsonAssertion, ...] = ()
    header_assertions: tuple[HeaderAssertion, ...] = ()
    assertion_state: Literal["down", "degraded"] = "down"
    max_redirects: int = Field(default=10, ge=0, le=50)
    verify_tls: bool = True
    cert_expiry_warning: Duration = DEFAULT_WARNING
    latency_limit: Duration | None = None
    max_body_bytes: int = Field(default=1 << 20, ge=0, le=64 << 20)
    keep_alive: bool = False

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        value = value.upper()
        if value not in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}:
            raise ValueError(f"unsupported HTTP method {value!r}")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _TOKEN.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if "\r" in text or "\n" in text:
                raise ValueError(f"header {name} contains a line break")
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

    @model_validator(mode="after")
    def _one_auth(self) -> Self:
        if self.basic_auth is not None and self.bearer_token is not None:
            raise ValueError("set basic_auth or bearer_token, not both")
        return self

    def accepts(self, status: int) -> bool:
        """True when ``status`` is one of the accepted codes or classes."""
        return any(
            status == item if isinstance(item, int) else status // 100 == int(item[0])
            for item in self.expected_status
        )

    @property
    def needs_body(self) -> bool:
        """Whether any assertion reads the body."""
        return bool(
            self.keyword
            or self.keyword_absent
            or self.regex
            or self.regex_absent
            or self.json_assertions
        )

    def request(self, target: str) -> Request:
        """The request these settings describe."""
        headers = dict(self.headers)
        if self.basic_auth is not None:
            pair = f"{self.basic_auth.username}:{self.basic_auth.password.get_secret_value()}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif self.bearer_token is not None:
            headers["Authorization"] = f"Bearer {self.bearer_token.get_secret_value()}"
        return Request(
            method=self.method,
            url=target,
            headers=headers,
            body=self.body.encode() if self.body is not None else None,
            max_redirects=self.max_redirects,
            max_body_bytes=self.max_body_bytes,
            verify_tls=self.verify_tls,
            keep_alive=self.keep_alive,
        )


def parse_target(target: str) -> str:
    """Validate the URL."""
    return parse_http_url(target)


def _short(value: Any) -> str:
    return json.dumps(value)[:80]


def _body_failure(settings: Settings, resp: Response) -> str | None:
    text = resp.text()
    if settings.keyword is not None and settings.keyword not in text:
        return f"keyword {settings.keyword!r} not in body"
    if settings.keyword_absent is not None and settings.keyword_absent in text:
        return f"keyword {settings.keyword_absent!r} is in the body"
    if settings.regex is not None and not settings.regex.search(text):
        return f"body does not match {settings.regex.pattern!r}"
    if settings.regex_absent is not None and settings.regex_absent.search(text):
        return f"body matches {settings.regex_absent.pattern!r}"
    if settings.json_assertions:
        try:
            document = json.loads(text)
        except ValueError:
            return "body is not JSON"
        for assertion in settings.json_assertions:
            failure = assertion.failure(document)
            if failure is not None:
                return failure
    return None


def _metrics(resp: Response) -> dict[str, float]:
    metrics = {
        "http_status_code": float(resp.status),
        "http_redirects": float(resp.redirects),
        "http_content_length": float(resp.wire_length),
        "http_body_truncated": 1.0 if resp.truncated else 0.0,
        "http_ssl": 1.0 if resp.url.startswith("https:") else 0.0,
    }
    for phase, seconds in resp.timings.items():
        metrics[_phase_key(phase)] = seconds
    return metrics


@functools.lru_cache(maxsize=64)
def _phase_key(phase: str) -> str:
    # One key string per phase, shared by every result held (ten thousand monitors'
    # latest results held fifty thousand copies of five strings).
    return f"http_duration_seconds:{phase}"


async def probe(ctx: ProbeContext, target: str, settings: Settings) -> Result:
    """Request ``target`` and judge the answer by ``settings``."""
    resp = await ctx.resources.http_client().request(settings.request(target))
    latency = ctx.elapsed()
    metrics = _metrics(resp)
    expiry = earliest_expiry(resp.peer_certs) if resp.peer_certs else None
    cert = None
    if expiry is not None:
        metrics["ssl_earliest_cert_expiry"] = expiry
        cert = check_expiry(expiry, time.time(), settings.cert_expiry_warning)
        if cert is not None and cert[0] is ErrorClass.CERT_EXPIRED:
            return ctx.down(cert[0], cert[1], metrics, latency)
    if not settings.accepts(resp.status):
        return ctx.down(ErrorClass.HTTP_STATUS, f"status {resp.status}", metrics, latency)
    failure = next(
        (f for f in (h.failure(resp) for h in settings.header_assertions) if f is not None), None
    )
    if failure is None and settings.needs_body:
        failure = _body_failure(settings, resp)
        if failure is not None and resp.truncated:
            failure += f" (read capped at {settings.max_body_bytes} bytes)"
    if failure is not None:
        state = ctx.down if settings.assertion_state == "down" else ctx.degraded
        return state(ErrorClass.ASSERTION, failure, metrics, latency)
    if cert is not None:
        return ctx.degraded(cert[0], cert[1], metrics, latency)
    if settings.latency_limit is not None and latency > settings.latency_limit:
        return ctx.degraded(
            ErrorClass.LATENCY,
            f"answered in {latency:.3f}s, over the {settings.latency_limit:g}s limit",
            metrics,
            latency,
        )
    return ctx.up(metrics, latency)
