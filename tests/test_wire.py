"""The MQTT wire format: round trip, and every way a message is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from probes.result import ErrorClass, Result
from sla_engine.time.states import State
from slamon.bus.wire import Reject, Rejected, decode, encode_result, envelope, results_topic

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PREFIX = "slamon/v1"
MONITORS = {"api": frozenset({"oslo", "paris"}), "db": frozenset({"oslo"})}


def sample(**changes: object) -> Result:
    fields: dict[str, object] = {
        "monitor_id": "api",
        "location": "oslo",
        "at": T0,
        "state": State.DOWN,
        "latency": 0.25,
        "error": ErrorClass.HTTP_STATUS,
        "detail": "status 503",
        "metrics": {"http_status_code": 503.0, "http_duration_seconds:connect": 0.01},
        "id": "0123456789abcdef0123456789abcdef",
    }
    fields.update(changes)
    return Result(**fields)  # type: ignore[arg-type]


def dec(topic: str, payload: bytes, max_bytes: int = 65536):  # type: ignore[no-untyped-def]
    return decode(topic, payload, prefix=PREFIX, monitors=MONITORS, max_bytes=max_bytes)


def test_round_trip() -> None:
    r = sample()
    sent = T0 + timedelta(seconds=1)
    env = dec(results_topic(PREFIX, "oslo", "api"), envelope(encode_result(r), sent))
    assert env.result == r
    assert env.sent_at == sent
    doc = json.loads(envelope(encode_result(r), sent))
    assert doc["schema"] == "slamon.result/1"
    assert doc["result"]["id"] == r.id


def test_minimal_up_result_round_trips() -> None:
    r = sample(state=State.UP, error=None, detail="", metrics={})
    env = dec(results_topic(PREFIX, "oslo", "api"), envelope(encode_result(r), T0))
    assert env.result == r


def body(**changes: object) -> dict[str, object]:
    out: dict[str, object] = json.loads(encode_result(sample()))
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def doc(result: object = None, **changes: object) -> bytes:
    d: dict[str, object] = {
        "schema": "slamon.result/1",
        "sent_at": (T0 + timedelta(seconds=1)).isoformat(),
        "result": body() if result is None else result,
    }
    d.update(changes)
    return json.dumps(d).encode()


TOPIC = "slamon/v1/results/oslo/api"
HOSTILE = [
    ("not json", TOPIC, b"\x00\xff not json", Reject.NOT_JSON),
    ("deeply nested", TOPIC, b"[" * 100_000 + b"]" * 100_000, Reject.TOO_LARGE),
    ("nested but small", TOPIC, b"[" * 20_000 + b"]" * 20_000, Reject.NOT_JSON),
    ("huge", TOPIC, b'{"x": "' + b"a" * 70_000 + b'"}', Reject.TOO_LARGE),
    ("json list", TOPIC, b"[1, 2]", Reject.WRONG_SCHEMA),
    ("no schema", TOPIC, json.dumps({"result": body()}).encode(), Reject.WRONG_SCHEMA),
    ("schema 2", TOPIC, doc(schema="slamon.result/2"), Reject.WRONG_SCHEMA),
    ("result not object", TOPIC, doc(result="x"), Reject.WRONG_SCHEMA),
    ("no sent_at", TOPIC, doc(sent_at=None), Reject.WRONG_SCHEMA),
    ("naive sent_at", TOPIC, doc(sent_at="2026-11-02T08:00:01"), Reject.WRONG_SCHEMA),
    ("bad state", TOPIC, doc(body(state="maintenance")), Reject.WRONG_SCHEMA),
    ("negative latency", TOPIC, doc(body(latency=-1)), Reject.WRONG_SCHEMA),
    ("latency as text", TOPIC, doc(body(latency="1")), Reject.WRONG_SCHEMA),
    ("latency true", TOPIC, doc(body(latency=True)), Reject.WRONG_SCHEMA),
    ("unknown error class", TOPIC, doc(body(error="gremlins")), Reject.WRONG_SCHEMA),
    ("long detail", TOPIC, doc(body(detail="x" * 501)), Reject.WRONG_SCHEMA),
    (
        "metrics NaN",
        TOPIC,
        b'{"schema":"slamon.result/1","sent_at":"2026-11-02T08:00:01+00:00",'
        b'"result":' + json.dumps(body(metrics=None)).encode()[:-1] + b',"metrics":{"x":NaN}}}',
        Reject.NOT_JSON,  # NaN is not JSON (Python's json module accepts it; orjson does not)
    ),
    (
        "too many metrics",
        TOPIC,
        doc(body(metrics={f"m{i}": i for i in range(40)})),
        Reject.WRONG_SCHEMA,
    ),
    ("id with slash", TOPIC, doc(body(id="../../etc")), Reject.WRONG_SCHEMA),
    ("id too long", TOPIC, doc(body(id="a" * 33)), Reject.WRONG_SCHEMA),
    ("no at", TOPIC, doc(body(at=None)), Reject.WRONG_SCHEMA),
    (
        "check after its sending",
        TOPIC,
        doc(body(at=(T0 + timedelta(hours=1)).isoformat())),
        Reject.CLOCK,
    ),
    (
        "unknown monitor",
        "slamon/v1/results/oslo/nope",
        doc(body(monitor="nope")),
        Reject.UNKNOWN_MONITOR,
    ),
    ("topic monitor differs", "slamon/v1/results/oslo/db", doc(), Reject.BAD_TOPIC),
    ("forged location", "slamon/v1/results/paris/api", doc(), Reject.FORGED_LOCATION),
    (
        "location not allowed",
        "slamon/v1/results/paris/db",
        doc(body(monitor="db", location="paris")),
        Reject.FORGED_LOCATION,
    ),
    (
        "location not configured",
        "slamon/v1/results/mars/api",
        doc(body(location="mars")),
        Reject.FORGED_LOCATION,
    ),
    ("extra topic level", "slamon/v1/results/oslo/api/x", doc(), Reject.BAD_TOPIC),
    ("other prefix", "other/v1/results/oslo/api", doc(), Reject.BAD_TOPIC),
    ("uppercase location", "slamon/v1/results/OSLO/api", doc(), Reject.BAD_TOPIC),
]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_hostile_messages_are_rejected_with_a_reason(
    topic: str, payload: bytes, reason: Reject
) -> None:
    with pytest.raises(Rejected) as info:
        dec(topic, payload)
    assert info.value.reason is reason
