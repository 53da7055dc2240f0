"""The MQTT wire format of a Result, and the strict checks the engine applies on ingest.

A message on ``<prefix>/results/<location>/<monitor>`` is a JSON object::

    {"schema": "slamon.result/1", "sent_at": "2026-11-27T10:00:00.250+00:00",
     "result": {"id": "9f0c...", "monitor": "api", "location": "oslo",
                "at": "2026-11-27T10:00:00+00:00", "state": "down", "latency": 0.25,
                "error": "http_status", "detail": "status 503",
                "metrics": {"http_status_code": 503}}}

``result`` is encoded once, when the check ends, and kept as bytes in the agent's
spool; ``sent_at`` is the agent's clock when it (re)publishes, so the engine can
measure the agent's clock skew from the receive time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

import orjson

from probes.result import ErrorClass, Result
from sla_engine.time.states import State

SCHEMA = "slamon.result/1"
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# Probe metric keys: blackbox names, some with a label after ':' (http_duration_seconds:tls).
_METRIC = re.compile(r"^[A-Za-z_][A-Za-z0-9_:.-]{0,127}$")
_STATES = {s.value: s for s in (State.UP, State.DEGRADED, State.DOWN)}
_ERRORS = {e.value: e for e in ErrorClass}
_NUMBER = (int, float)
_NO_METRICS: Mapping[str, float] = MappingProxyType({})
_MAX_DETAIL = 500
_MAX_METRICS = 32


class Reject(StrEnum):
    """Why a message on the results topic was refused; a metric label."""

    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    WRONG_SCHEMA = "wrong_schema"
    BAD_TOPIC = "bad_topic"
    UNKNOWN_MONITOR = "unknown_monitor"
    FORGED_LOCATION = "forged_location"
    CLOCK = "clock"


class Rejected(Exception):
    """A message the engine will not ingest, and why."""

    def __init__(self, reason: Reject, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded, validated message: the result and when the agent sent it."""

    result: Result
    sent_at: datetime


def results_topic(prefix: str, location: str, monitor_id: str) -> str:
    """Where an agent at ``location`` publishes results of ``monitor_id``."""
    return f"{prefix}/results/{location}/{monitor_id}"


def encode_result(result: Result) -> bytes:
    """The ``result`` object of the wire format, as compact JSON bytes.

    Raises ValueError for a latency or metric that is not a finite number (JSON has
    no NaN or infinity).
    """
    body: dict[str, object] = {
        "id": result.id,
        "monitor": result.monitor_id,
        "location": result.location,
        "at": result.at.astimezone(UTC).isoformat(),
        "state": result.state.value,
        "latency": result.latency,
    }
    finite = math.isfinite(result.latency)
    if result.error is not None:
        body["error"] = result.error.value
    if result.detail:
        body["detail"] = result.detail
    if result.metrics:
        body["metrics"] = dict(result.metrics)
        finite = finite and all(math.isfinite(v) for v in result.metrics.values())
    if not finite:
        # orjson would write null; a silent null would be rejected by the engine.
        raise ValueError("a result's latency and metrics must be finite numbers")
    return orjson.dumps(body)


def envelope(encoded_result: bytes, sent_at: datetime) -> bytes:
    """Wrap an encoded result for publishing at ``sent_at``."""
    head = f'{{"schema":"{SCHEMA}","sent_at":"{sent_at.astimezone(UTC).isoformat()}","result":'
    return head.encode() + encoded_result + b"}"


def _time(value: object, field: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise Rejected(Reject.WRONG_SCHEMA, f"{field} must be an ISO 8601 string")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(Reject.WRONG_SCHEMA, f"{field} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise Rejected(Reject.WRONG_SCHEMA, f"{field} has no time zone")
    return at.astimezone(UTC)


def _string(body: Mapping[str, object], key: str, pattern: re.Pattern[str]) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not pattern.match(value):
        raise Rejected(Reject.WRONG_SCHEMA, f"result.{key} is missing or malformed")
    return value


_TOPICS_KEPT = 100_000


def _topic_parts(
    topic: str, prefix: str, known: dict[str, tuple[str, str]] | None
) -> tuple[str, str]:
    """``(location, monitor)`` of a results topic; Rejected if it is not one."""
    if known is not None:
        parts = known.get(topic)
        if parts is not None:
            return parts
    base = f"{prefix}/results/"
    names = topic[len(base) :].split("/") if topic.startswith(base) else []
    if len(names) != 2 or not all(_NAME.match(p) for p in names):
        raise Rejected(Reject.BAD_TOPIC, f"not {base}<location>/<monitor>")
    parts = (names[0], names[1])
    if known is not None:
        if len(known) >= _TOPICS_KEPT:
            known.clear()  # the topics of configured monitors come back at once
        known[topic] = parts
    return parts


def decode(
    topic: str,
    payload: bytes,
    *,
    prefix: str,
    monitors: Mapping[str, Collection[str]],
    max_bytes: int,
    known_topics: dict[str, tuple[str, str]] | None = None,
) -> Envelope:
    """Validate one message and return it, or raise Rejected.

    ``monitors`` maps each configured monitor to the locations allowed to report it.
    A location in the topic that differs from the payload's, or that is not allowed
    for the monitor, is a forgery. ``known_topics``, if given, remembers the topics
    (of this ``prefix``) already found well-formed (bounded), to skip checking again.
    """
    if len(payload) > max_bytes:
        raise Rejected(Reject.TOO_LARGE, f"{len(payload)} bytes, the limit is {max_bytes}")
    topic_location, topic_monitor = _topic_parts(topic, prefix, known_topics)
    try:
        doc = orjson.loads(payload)
    except (orjson.JSONDecodeError, RecursionError):
        raise Rejected(Reject.NOT_JSON, "payload is not JSON") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise Rejected(Reject.WRONG_SCHEMA, f"schema is not {SCHEMA!r}")
    body = doc.get("result")
    if not isinstance(body, dict):
        raise Rejected(Reject.WRONG_SCHEMA, "result is not an object")
    sent_at = _time(doc.get("sent_at"), "sent_at")
    # The topic's names are valid; a payload that names the same ones is too.
    monitor = body.get("monitor")
    if monitor != topic_monitor:
        monitor = _string(body, "monitor", _NAME)
        raise Rejected(Reject.BAD_TOPIC, f"payload monitor {monitor!r} is not the topic's")
    allowed = monitors.get(topic_monitor)
    if allowed is None:
        raise Rejected(Reject.UNKNOWN_MONITOR, f"no monitor has the id {topic_monitor!r}")
    location = body.get("location")
    if location != topic_location:
        location = _string(body, "location", _NAME)
        raise Rejected(
            Reject.FORGED_LOCATION,
            f"payload location {location!r} published on {topic_location!r}'s topic",
        )
    monitor, location = topic_monitor, topic_location
    if location not in allowed:
        raise Rejected(Reject.FORGED_LOCATION, f"{location!r} may not report {monitor!r}")
    result_id = _string(body, "id", _ID)
    state = _STATES.get(body.get("state"))  # type: ignore[arg-type]
    if state is None:
        raise Rejected(Reject.WRONG_SCHEMA, "result.state must be up, degraded or down")
    latency = body.get("latency")
    if isinstance(latency, bool) or not isinstance(latency, _NUMBER) or not 0 <= latency < 1e6:
        raise Rejected(Reject.WRONG_SCHEMA, "result.latency must be seconds, 0 or more")
    error_name = body.get("error")
    error = None
    if error_name is not None:
        error = _ERRORS.get(error_name)
        if error is None:
            raise Rejected(Reject.WRONG_SCHEMA, "result.error is not a known error class")
    detail = body.get("detail", "")
    if not isinstance(detail, str) or len(detail) > _MAX_DETAIL:
        raise Rejected(Reject.WRONG_SCHEMA, f"result.detail must be text of {_MAX_DETAIL} or less")
    raw_metrics = body.get("metrics", {})
    if not isinstance(raw_metrics, dict) or len(raw_metrics) > _MAX_METRICS:
        raise Rejected(Reject.WRONG_SCHEMA, "result.metrics must be a small object")
    metrics: dict[str, float] = {}
    for key, value in raw_metrics.items():
        if (
            not isinstance(key, str)
            or not _METRIC.match(key)
            or isinstance(value, bool)
            or not isinstance(value, _NUMBER)
            or not math.isfinite(value)
        ):
            raise Rejected(Reject.WRONG_SCHEMA, "result.metrics must map names to numbers")
        metrics[key] = float(value)
    at = _time(body.get("at"), "result.at")
    if at > sent_at:
        # The agent's one clock put the check after its own publication.
        raise Rejected(Reject.CLOCK, "result.at is later than sent_at")
    result = Result(
        monitor_id=monitor,
        location=location,
        at=at,
        state=state,
        latency=float(latency),
        error=error,
        detail=detail,
        metrics=MappingProxyType(metrics) if metrics else _NO_METRICS,
        id=result_id,
    )
    return Envelope(result, sent_at)
