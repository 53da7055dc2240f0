"""The one map from probe type name to its settings model and probe function."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from probes import dns, http, icmp, mqtt, push, tcp, tls
from probes.context import ProbeContext
from probes.result import Result

ProbeFn = Callable[[ProbeContext, str, Any], Awaitable[Result]]


@dataclass(frozen=True, slots=True)
class ProbeType:
    """A probe type: its settings model, its target parser and its probe function.

    ``scheduled`` is false for types that are not probed on an interval but called
    (push): the scheduler never runs them.
    """

    name: str
    settings: type[BaseModel]
    parse_target: Callable[[str], str]
    probe: ProbeFn
    scheduled: bool = True


PROBE_TYPES: dict[str, ProbeType] = {
    t.name: t
    for t in (
        ProbeType("http", http.Settings, http.parse_target, http.probe),
        ProbeType("tcp", tcp.Settings, tcp.parse_target, tcp.probe),
        ProbeType("tls", tls.Settings, tls.parse_target, tls.probe),
        ProbeType("dns", dns.Settings, dns.parse_target, dns.probe),
        ProbeType("icmp", icmp.Settings, icmp.parse_target, icmp.probe),
        ProbeType("mqtt", mqtt.Settings, mqtt.parse_target, mqtt.probe),
        ProbeType("push", push.Settings, push.parse_target, push.probe, scheduled=False),
    )
}
