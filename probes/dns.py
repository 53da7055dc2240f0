"""DNS checks with dnspython: one query to a chosen server, judged by rcode and answers."""

from __future__ import annotations

import time
from typing import Literal

import dns.asyncquery
import dns.message
import dns.rcode
import dns.rdatatype
from pydantic import BaseModel, ConfigDict, Field, field_validator

from probes.context import ProbeContext
from probes.result import ErrorClass, Result


class Settings(BaseModel):
    """Which server to ask, what, and what the answer must be.

    ``server`` defaults to the first nameserver of the system's resolver. Every
    entry of ``expected_answers`` must be among the answer records' text (compared
    case-insensitively, trailing dots ignored); with an expected rcode of NOERROR and
    no expected answers, at least one answer record is required unless
    ``require_answers`` is false.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    server: str | None = None
    port: int = Field(default=53, ge=1, le=65535)
    record_type: str = "A"
    transport: Literal["udp", "tcp"] = "udp"
    expected_rcode: str = "NOERROR"
    expected_answers: tuple[str, ...] = ()
    require_answers: bool = True

    @field_validator("record_type")
    @classmethod
    def _rdtype(cls, value: str) -> str:
        try:
            dns.rdatatype.from_text(value.upper())
        except dns.rdatatype.UnknownRdatatype:
            raise ValueError(f"unknown DNS record type {value!r}") from None
        return value.upper()

    @field_validator("expected_rcode")
    @classmethod
    def _rcode(cls, value: str) -> str:
        try:
            dns.rcode.from_text(value.upper())
        except dns.rcode.UnknownRcode:
            raise ValueError(f"unknown DNS rcode {value!r}") from None
        return value.upper()


def parse_target(target: str) -> str:
    """Validate the name to query."""
    name = target.strip()
    if not name or len(name) > 253 or any(c.isspace() for c in name):
        raise ValueError(f"expected a DNS name such as example.com, got {target!r}")
    return name


def _norm(text: str) -> str:
    return text.strip().rstrip(".").lower()


async def probe(ctx: ProbeContext, target: str, settings: Settings) -> Result:
    """Ask ``settings.server`` for ``target`` and judge the response."""
    server = settings.server or ctx.resources.system_nameserver()
    query = dns.message.make_query(target, settings.record_type)
    started = time.perf_counter()
    if settings.transport == "tcp":
        response = await dns.asyncquery.tcp(query, server, timeout=ctx.timeout, port=settings.port)
    else:
        response, _tcp = await dns.asyncquery.udp_with_fallback(
            query, server, timeout=ctx.timeout, port=settings.port
        )
    lookup = time.perf_counter() - started
    answers = [rr for rrset in response.answer for rr in rrset]
    metrics = {
        "dns_lookup_time_seconds": lookup,
        "dns_answer_rrs": float(len(answers)),
        "dns_authority_rrs": float(sum(len(r) for r in response.authority)),
        "dns_additional_rrs": float(sum(len(r) for r in response.additional)),
    }
    rcode = dns.rcode.to_text(response.rcode())
    if rcode != settings.expected_rcode:
        return ctx.down(
            ErrorClass.DNS, f"rcode {rcode}, expected {settings.expected_rcode}", metrics
        )
    texts = {_norm(rr.to_text()) for rr in answers}
    missing = [a for a in settings.expected_answers if _norm(a) not in texts]
    if missing:
        got = ", ".join(sorted(texts))[:200] or "no answers"
        return ctx.down(
            ErrorClass.ASSERTION, f"{missing[0]!r} not among the answers ({got})", metrics
        )
    if settings.require_answers and rcode == "NOERROR" and not answers:
        return ctx.down(ErrorClass.ASSERTION, f"no {settings.record_type} records", metrics)
    return ctx.up(metrics)
