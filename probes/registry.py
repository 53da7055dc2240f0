"""The one map from probe type name to its settings model and probe function."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from probes import http, tcp
from probes.context import ProbeContext
from probes.result import Result

ProbeFn = Callable[[ProbeContext, str, Any], Awaitable[Result]]


@dataclass(frozen=True, slots=True)
class ProbeType:
    """A probe type: its settings model, its target parser and its probe function."""

    name: str
    settings: type[BaseModel]
    parse_target: Callable[[str], str]
    probe: ProbeFn


PROBE_TYPES: dict[str, ProbeType] = {
    t.name: t
    for t in (
        ProbeType("http", http.Settings, http.parse_target, http.probe),
        ProbeType("tcp", tcp.Settings, tcp.parse_target, tcp.probe),
    )
}
