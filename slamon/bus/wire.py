"""The MQTT wire format of results, and the strict checks the engine applies on ingest.

Two formats travel under ``<prefix>/results/<location>/``; the engine accepts both, so
agents can be upgraded after it, one at a time.

``slamon.results/2`` (what agents publish): a batch of results of one location and one
shard, on ``<prefix>/results/<location>/shard/<n>``::

    {"schema": "slamon.results/2", "sent_at": "2026-11-27T10:00:00.250+00:00",
     "shards": 16,
     "results": [{"id": "9f0c...", "monitor": "api", "location": "oslo",
                  "at": "2026-11-27T10:00:00+00:00", "state": "down", "latency": 0.25,
                  "error": "http_status", "detail": "status 503",
                  "metrics": {"http_status_code": 503}}, ...]}

- ``shards`` is how many shards the agent splits monitors into, and ``n`` (decimal,
  ``0 <= n < shards``) is the shard of every result in the batch: the CRC-32 (IEEE, as
  zlib's ``crc32``) of the monitor id in UTF-8, modulo ``shards`` (``shard_of``). A
  shard's results have one topic whatever the location, so a subscriber to
  ``<prefix>/results/+/shard/<n>`` gets exactly one shard; the count travels with the
  batch so an engine can tell an agent with another ``[bus] shards`` from a forgery.
- ``results`` holds 1 to ``MAX_BATCH`` result objects in the agent's order, each
  exactly the ``result`` object of ``slamon.result/1`` below; the whole message is at
  most ``[bus] max_message_bytes`` (64 KiB). Every result's ``location`` is the topic's.
- The message as a whole is refused (``Rejected``; nothing of it is stored) when it is
  too large, not JSON, of the wrong schema, or its topic is not a shard topic of an
  allowed location. A result inside an accepted batch is refused alone (and counted)
  when it is malformed, names an unknown monitor, a location that is not the topic's
  or not allowed for its monitor, a monitor of another shard, or an id already in the
  batch; the rest of the batch is ingested.

``slamon.result/1`` (agents before the batched format): one result per message, on
``<prefix>/results/<location>/<monitor>``::

    {"schema": "slamon.result/1", "sent_at": "2026-11-27T10:00:00.250+00:00",
     "result": {"id": "9f0c...", "monitor": "api", ...}}

Any fault refuses the message. The two topic forms never match each other's
subscriptions (``results/+/+`` has one level fewer than ``results/+/shard/+``).

A result is encoded once, when the check ends, and kept as bytes in the agent's spool;
``sent_at`` is the agent's clock when it (re)publishes, so the engine can measure the
agent's clock skew from the receive time.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import orjson

from probes.result import ErrorClass, Result
from sla_engine.time.states import State

SCHEMA = "slamon.result/1"
BATCH_SCHEMA = "slamon.results/2"
MAX_BATCH = 5000
"""The most results one ``slamon.results/2`` message may hold."""
MAX_SHARDS = 4096
"""The most shards the wire format allows."""

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_SHARD = re.compile(r"^(0|[1-9][0-9]{0,3})$")
# Probe metric keys: blackbox names, some with a label after ':' (http_duration_seconds:tls).
_METRIC = re.compile(r"^[A-Za-z_][A-Za-z0-9_:.-]{0,127}$")
_STATES = {s.value: s for s in (State.UP, State.DEGRADED, State.DOWN)}
_ERRORS = {e.value: e for e in ErrorClass}
_NUMBER = (int, float)
_NO_METRICS: Mapping[str, float] = MappingProxyType({})
_MAX_DETAIL = 500
_MAX_METRICS = 32


class Reject(StrEnum):
    """Why a message on the results topics, or one result in a batch, was refused."""

    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    WRONG_SCHEMA = "wrong_schema"
    BAD_TOPIC = "bad_topic"
    UNKNOWN_MONITOR = "unknown_monitor"
    FORGED_LOCATION = "forged_location"
    CLOCK = "clock"
    WRONG_SHARD = "wrong_shard"
    DUPLICATE = "duplicate"


class Rejected(Exception):
    """A message (or a result of a batch) the engine will not ingest, and why."""

    def __init__(self, reason: Reject, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded, validated ``slamon.result/1`` message: the result and its sending."""

    result: Result
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Batch:
    """A decoded message of either format: what to ingest, and what was refused in it.

    ``shards`` is the agent's shard count (None for ``slamon.result/1``); ``rejected``
    holds the results of a ``slamon.results/2`` batch refused one by one.
    """

    location: str
    sent_at: datetime
    results: list[Result]
    rejected: list[Rejected]
    shards: int | None = None


def results_topic(prefix: str, location: str, monitor_id: str) -> str:
    """Where a ``slamon.result/1`` agent at ``location`` publishes ``monitor_id``'s results."""
    return f"{prefix}/results/{location}/{monitor_id}"


def shard_topic(prefix: str, location: str, shard: int) -> str:
    """Where an agent at ``location`` publishes its batches of ``shard``'s results."""
    return f"{prefix}/results/{location}/shard/{shard}"


def shard_of(monitor_id: str, shards: int) -> int:
    """The shard of a monitor: CRC-32 of its id in UTF-8, modulo the shard count."""
    return zlib.crc32(monitor_id.encode()) % shards


def encode_result(result: Result) -> bytes:
    """The ``result`` object of the wire format, as compact JSON bytes.

    Raises ValueError for a latency or metric that is not a finite number (JSON has
    no NaN or infinity).
    """
    at = result.at
    body: dict[str, object] = {
        "id": result.id,
        "monitor": result.monitor_id,
        "location": result.location,
        # orjson writes an aware UTC datetime as isoformat() does, for less.
        "at": at if at.tzinfo is UTC else at.astimezone(UTC),
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
    """Wrap an encoded result as a ``slamon.result/1`` message sent at ``sent_at``."""
    head = f'{{"schema":"{SCHEMA}","sent_at":"{sent_at.astimezone(UTC).isoformat()}","result":'
    return head.encode() + encoded_result + b"}"


def batch_envelope(encoded_results: Sequence[bytes], sent_at: datetime, shards: int) -> bytes:
    """Wrap encoded results (of one location and shard) as a ``slamon.results/2`` message."""
    head = (
        f'{{"schema":"{BATCH_SCHEMA}","sent_at":"{sent_at.astimezone(UTC).isoformat()}",'
        f'"shards":{shards},"results":['
    )
    return head.encode() + b",".join(encoded_results) + b"]}"


BATCH_OVERHEAD = len(batch_envelope([], datetime(2000, 1, 1, 0, 0, 0, 1, UTC), MAX_SHARDS))
"""Bytes of a batch's envelope around its comma-separated results."""


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


def _result(body: Mapping[str, Any], monitor: str, location: str, sent_at: datetime) -> Result:
    """The result in ``body`` of a monitor and location already checked; or Rejected."""
    result_id = body.get("id")
    if not isinstance(result_id, str) or not _ID.match(result_id):
        raise Rejected(Reject.WRONG_SCHEMA, "result.id is missing or malformed")
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
    raw_metrics = body.get("metrics")
    metrics = _NO_METRICS
    if raw_metrics is not None:
        metrics = _metrics(raw_metrics)
    at = _time(body.get("at"), "result.at")
    if at > sent_at:
        # The agent's one clock put the check after its own publication.
        raise Rejected(Reject.CLOCK, "result.at is later than sent_at")
    return Result(
        monitor_id=monitor,
        location=location,
        at=at,
        state=state,
        latency=float(latency),
        error=error,
        detail=detail,
        metrics=metrics,
        id=result_id,
    )


def _metrics(raw: object) -> Mapping[str, float]:
    if not isinstance(raw, dict) or len(raw) > _MAX_METRICS:
        raise Rejected(Reject.WRONG_SCHEMA, "result.metrics must be a small object")
    metrics: dict[str, float] = {}
    for key, value in raw.items():
        if (
            not isinstance(key, str)
            or not _METRIC.match(key)
            or isinstance(value, bool)
            or not isinstance(value, _NUMBER)
            or not math.isfinite(value)
        ):
            raise Rejected(Reject.WRONG_SCHEMA, "result.metrics must map names to numbers")
        metrics[key] = float(value)
    return MappingProxyType(metrics) if metrics else _NO_METRICS


def _document(payload: bytes, schema: str) -> dict[str, object]:
    try:
        doc = orjson.loads(payload)
    except (orjson.JSONDecodeError, RecursionError):
        raise Rejected(Reject.NOT_JSON, "payload is not JSON") from None
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        raise Rejected(Reject.WRONG_SCHEMA, f"schema is not {schema!r}")
    return doc


def _single(
    doc: Mapping[str, object],
    topic_location: str,
    topic_monitor: str,
    monitors: Mapping[str, Collection[str]],
) -> Envelope:
    """The result of a ``slamon.result/1`` document; any fault refuses the message."""
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
    if topic_location not in allowed:
        raise Rejected(
            Reject.FORGED_LOCATION, f"{topic_location!r} may not report {topic_monitor!r}"
        )
    return Envelope(_result(body, topic_monitor, topic_location, sent_at), sent_at)


def decode(
    topic: str,
    payload: bytes,
    *,
    prefix: str,
    monitors: Mapping[str, Collection[str]],
    max_bytes: int,
) -> Envelope:
    """Validate one ``slamon.result/1`` message and return it, or raise Rejected.

    ``monitors`` maps each configured monitor to the locations allowed to report it.
    A location in the topic that differs from the payload's, or that is not allowed
    for the monitor, is a forgery.
    """
    if len(payload) > max_bytes:
        raise Rejected(Reject.TOO_LARGE, f"{len(payload)} bytes, the limit is {max_bytes}")
    base = f"{prefix}/results/"
    names = topic[len(base) :].split("/") if topic.startswith(base) else []
    if len(names) != 2 or not all(_NAME.match(p) for p in names):
        raise Rejected(Reject.BAD_TOPIC, f"not {base}<location>/<monitor>")
    return _single(_document(payload, SCHEMA), names[0], names[1], monitors)


_TOPICS_KEPT = 100_000


class Decoder:
    """Decodes messages of both formats on one engine's results topics.

    ``monitors`` maps each configured monitor to the locations allowed to report it.
    Topics found well-formed are remembered (a bounded memo), not parsed again.
    """

    def __init__(
        self, *, prefix: str, monitors: Mapping[str, Collection[str]], max_bytes: int
    ) -> None:
        self.prefix = prefix
        self.monitors = monitors
        self.max_bytes = max_bytes
        self.locations = frozenset(loc for allowed in monitors.values() for loc in allowed)
        self._base = f"{prefix}/results/"
        # topic -> (location, monitor, None) for /1, (location, None, shard) for /2
        self._topics: dict[str, tuple[str, str | None, int | None]] = {}

    def decode(self, topic: str, payload: bytes) -> Batch:
        """Validate one message of either format; Rejected if it is refused as a whole."""
        if len(payload) > self.max_bytes:
            raise Rejected(Reject.TOO_LARGE, f"{len(payload)} bytes, the limit is {self.max_bytes}")
        location, monitor, shard = self._topic(topic)
        if monitor is not None:
            env = _single(_document(payload, SCHEMA), location, monitor, self.monitors)
            return Batch(location, env.sent_at, [env.result], [])
        assert shard is not None
        return self._batch(_document(payload, BATCH_SCHEMA), location, shard)

    def _topic(self, topic: str) -> tuple[str, str | None, int | None]:
        parts = self._topics.get(topic)
        if parts is not None:
            return parts
        base = self._base
        names = topic[len(base) :].split("/") if topic.startswith(base) else []
        if len(names) == 2 and _NAME.match(names[0]) and _NAME.match(names[1]):
            parts = (names[0], names[1], None)
        elif (
            len(names) == 3
            and names[1] == "shard"
            and _NAME.match(names[0])
            and _SHARD.match(names[2])
        ):
            if names[0] not in self.locations:
                raise Rejected(Reject.FORGED_LOCATION, f"{names[0]!r} may not report any monitor")
            parts = (names[0], None, int(names[2]))
        else:
            raise Rejected(
                Reject.BAD_TOPIC, f"not {base}<location>/shard/<n> nor {base}<location>/<monitor>"
            )
        if len(self._topics) >= _TOPICS_KEPT:
            self._topics.clear()  # the topics in use come back at once
        self._topics[topic] = parts
        return parts

    def _batch(self, doc: Mapping[str, object], location: str, shard: int) -> Batch:
        sent_at = _time(doc.get("sent_at"), "sent_at")
        shards = doc.get("shards")
        if isinstance(shards, bool) or not isinstance(shards, int) or not 0 < shards <= MAX_SHARDS:
            raise Rejected(Reject.WRONG_SCHEMA, f"shards must be a count from 1 to {MAX_SHARDS}")
        if shard >= shards:
            raise Rejected(Reject.BAD_TOPIC, f"shard {shard} of {shards} does not exist")
        bodies = doc.get("results")
        if not isinstance(bodies, list) or not 0 < len(bodies) <= MAX_BATCH:
            raise Rejected(
                Reject.WRONG_SCHEMA, f"results must be a list of 1 to {MAX_BATCH} results"
            )
        monitors = self.monitors
        results: list[Result] = []
        rejected: list[Rejected] = []
        seen: set[str] = set()
        for body in bodies:
            try:
                if not isinstance(body, dict):
                    raise Rejected(Reject.WRONG_SCHEMA, "a result is not an object")
                monitor = body.get("monitor")
                allowed = monitors.get(monitor) if isinstance(monitor, str) else None
                if allowed is None:
                    if not isinstance(monitor, str) or not _NAME.match(monitor):
                        raise Rejected(
                            Reject.WRONG_SCHEMA, "result.monitor is missing or malformed"
                        )
                    raise Rejected(Reject.UNKNOWN_MONITOR, f"no monitor has the id {monitor!r}")
                assert isinstance(monitor, str)
                if body.get("location") != location:
                    raise Rejected(
                        Reject.FORGED_LOCATION,
                        f"a result of another location published on {location!r}'s topic",
                    )
                if location not in allowed:
                    raise Rejected(
                        Reject.FORGED_LOCATION, f"{location!r} may not report {monitor!r}"
                    )
                if shards > 1 and zlib.crc32(monitor.encode()) % shards != shard:
                    raise Rejected(
                        Reject.WRONG_SHARD, f"{monitor!r} is not in shard {shard} of {shards}"
                    )
                result = _result(body, monitor, location, sent_at)
                if result.id in seen:
                    raise Rejected(Reject.DUPLICATE, f"result {result.id} twice in one batch")
                seen.add(result.id)
                results.append(result)
            except Rejected as exc:
                rejected.append(exc)
        return Batch(location, sent_at, results, rejected, shards)
