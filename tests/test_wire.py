"""The MQTT wire format: round trip, and every way a message is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from probes.result import ErrorClass, Result
from sla_engine.time.states import State
from slamon.bus.wire import (
    BATCH_OVERHEAD,
    Decoder,
    Reject,
    Rejected,
    batch_envelope,
    decode,
    encode_result,
    envelope,
    results_topic,
    shard_of,
    shard_topic,
)

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


# -- slamon.results/2: batches per shard ---------------------------------------------

SHARD_MONITORS = {
    "api": frozenset({"oslo", "paris"}),
    "db": frozenset({"oslo"}),
    "web": frozenset({"oslo", "paris"}),
}
DECODER_ARGS = {"prefix": PREFIX, "monitors": SHARD_MONITORS, "max_bytes": 65536}


def decoder() -> Decoder:
    return Decoder(**DECODER_ARGS)  # type: ignore[arg-type]


def test_shard_of_is_crc32_of_the_id_modulo_the_count() -> None:
    # Agents in other languages compute the same: these values are part of the format.
    assert [shard_of(m, 16) for m in ("api", "db", "web", "m0", "m4")] == [15, 8, 1, 9, 0]
    assert shard_of("api", 1) == 0
    assert shard_topic(PREFIX, "oslo", 15) == "slamon/v1/results/oslo/shard/15"


def test_a_batch_round_trips_in_order() -> None:
    results = [
        sample(),
        sample(monitor_id="db", id="1" * 32, state=State.UP, error=None, detail="", metrics={}),
        sample(at=T0 + timedelta(seconds=1), id="2" * 32),
    ]
    sent = T0 + timedelta(seconds=2)
    payload = batch_envelope([encode_result(r) for r in results], sent, 1)
    assert len(payload) <= BATCH_OVERHEAD + sum(len(encode_result(r)) + 1 for r in results)
    batch = decoder().decode(shard_topic(PREFIX, "oslo", 0), payload)
    assert batch.results == results
    assert (batch.location, batch.sent_at, batch.shards, batch.rejected) == ("oslo", sent, 1, [])
    doc = json.loads(payload)
    assert doc["schema"] == "slamon.results/2" and doc["shards"] == 1
    assert doc["results"][1] == json.loads(encode_result(results[1]))


def test_the_decoder_takes_single_results_too() -> None:
    r = sample()
    batch = decoder().decode(
        results_topic(PREFIX, "oslo", "api"), envelope(encode_result(r), T0 + timedelta(seconds=1))
    )
    assert (batch.results, batch.rejected, batch.shards) == ([r], [], None)


def batch_doc(results: object = None, **changes: object) -> bytes:
    d: dict[str, object] = {
        "schema": "slamon.results/2",
        "sent_at": (T0 + timedelta(seconds=1)).isoformat(),
        "shards": 1,
        "results": [body()] if results is None else results,
    }
    for k, v in changes.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return json.dumps(d).encode()


SHARD = "slamon/v1/results/oslo/shard/0"
HOSTILE_BATCHES = [
    ("huge", SHARD, batch_doc([body(detail="x" * 400)] * 200), Reject.TOO_LARGE),
    ("not json", SHARD, b"\x00{not json", Reject.NOT_JSON),
    ("truncated", SHARD, batch_doc()[:-3], Reject.NOT_JSON),
    ("a single result's schema", SHARD, doc(), Reject.WRONG_SCHEMA),
    ("a batch on a monitor's topic", TOPIC, batch_doc(), Reject.WRONG_SCHEMA),
    ("no sent_at", SHARD, batch_doc(sent_at=None), Reject.WRONG_SCHEMA),
    ("no shards", SHARD, batch_doc(shards=None), Reject.WRONG_SCHEMA),
    ("shards zero", SHARD, batch_doc(shards=0), Reject.WRONG_SCHEMA),
    ("shards true", SHARD, batch_doc(shards=True), Reject.WRONG_SCHEMA),
    ("shards as text", SHARD, batch_doc(shards="1"), Reject.WRONG_SCHEMA),
    ("shards too many", SHARD, batch_doc(shards=5000), Reject.WRONG_SCHEMA),
    ("shard past the count", "slamon/v1/results/oslo/shard/3", batch_doc(), Reject.BAD_TOPIC),
    ("results an object", SHARD, batch_doc(results={"a": 1}), Reject.WRONG_SCHEMA),
    ("results empty", SHARD, batch_doc(results=[]), Reject.WRONG_SCHEMA),
    ("results too many", SHARD, batch_doc(results=[1] * 5001), Reject.WRONG_SCHEMA),
    ("shard with a zero ahead", "slamon/v1/results/oslo/shard/01", batch_doc(), Reject.BAD_TOPIC),
    ("negative shard", "slamon/v1/results/oslo/shard/-1", batch_doc(), Reject.BAD_TOPIC),
    ("shard level missing", "slamon/v1/results/oslo/shard/", batch_doc(), Reject.BAD_TOPIC),
    ("level after the shard", f"{SHARD}/x", batch_doc(), Reject.BAD_TOPIC),
    (
        "location of no monitor",
        "slamon/v1/results/mars/shard/0",
        batch_doc(),
        Reject.FORGED_LOCATION,
    ),
    ("uppercase location", "slamon/v1/results/OSLO/shard/0", batch_doc(), Reject.BAD_TOPIC),
]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [h[1:] for h in HOSTILE_BATCHES],
    ids=[h[0] for h in HOSTILE_BATCHES],
)
def test_hostile_batches_are_rejected_whole_with_a_reason(
    topic: str, payload: bytes, reason: Reject
) -> None:
    with pytest.raises(Rejected) as info:
        decoder().decode(topic, payload)
    assert info.value.reason is reason


def test_bad_results_in_a_batch_are_rejected_one_by_one_and_the_rest_kept() -> None:
    # Sixteen shards: api is in shard 15, db in 8, web in 1.
    good = body()
    later = body(id="3" * 32, at=(T0 + timedelta(milliseconds=500)).isoformat())
    bad = [
        (body(location="paris", id="4" * 32), Reject.FORGED_LOCATION),  # not the topic's
        (body(monitor="nope", id="5" * 32), Reject.UNKNOWN_MONITOR),
        (body(monitor="web", id="6" * 32), Reject.WRONG_SHARD),  # mixed monitors
        (body(), Reject.DUPLICATE),  # the same id twice in one batch
        (body(state="sideways", id="7" * 32), Reject.WRONG_SCHEMA),
        (body(monitor="../x", id="8" * 32), Reject.WRONG_SCHEMA),
        (body(monitor=["api"], id="9" * 32), Reject.WRONG_SCHEMA),
        ("not an object", Reject.WRONG_SCHEMA),
        (body(id="a" * 32, at=(T0 + timedelta(hours=1)).isoformat()), Reject.CLOCK),
    ]
    payload = batch_doc([good, *[b for b, _ in bad], later], shards=16)
    batch = decoder().decode("slamon/v1/results/oslo/shard/15", payload)
    assert [r.id for r in batch.results] == [good["id"], later["id"]]
    assert [e.reason for e in batch.rejected] == [reason for _, reason in bad]
    # A location may report only its monitors, in a batch too.
    paris = batch_doc([body(monitor="db", location="paris")], shards=16)
    batch = decoder().decode("slamon/v1/results/paris/shard/8", paris)
    assert batch.results == [] and [e.reason for e in batch.rejected] == [Reject.FORGED_LOCATION]


def test_batch_topics_never_match_a_single_results_subscription() -> None:
    # The engine subscribes to results/+/+ and results/+/shard/+: a monitor named
    # "shard" is a single-result topic, and a shard topic has one level more.
    d = decoder()
    with pytest.raises(Rejected) as info:
        d.decode("slamon/v1/results/oslo/shard", doc(body(monitor="shard")))
    assert info.value.reason is Reject.UNKNOWN_MONITOR  # read as monitor "shard"
    assert len(shard_topic(PREFIX, "oslo", 0).split("/")) == len(TOPIC.split("/")) + 1
