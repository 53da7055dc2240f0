"""Notifiers against real receivers: HTTP servers, aiosmtpd, Mosquitto, Alertmanager."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from probes.result import ErrorClass, Result
from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.incidents import Impact, Incident, IncidentStatus
from sla_engine.time.states import State
from slamon.alerting.alerts import Alerts, StateAlerts, evaluate_certificates
from slamon.alerting.notify.hub import NotificationHub
from slamon.alerting.notify.message import Notification
from slamon.alerting.notify.slack import slack_body
from slamon.alerting.notify.worker import NotifierWorker
from slamon.config.common import ConfigError
from slamon.config.load import parse_config
from slamon.engine import Engine
from slamon.events import Alert, IncidentEvent, IncidentEventKind, StateChange
from slamon.store.sql import Store
from slamon.store.writer import Writer
from tests.receivers import (
    HttpReceiver,
    alertmanager,
    alertmanager_alerts,
    mqtt_messages,
    smtp_server,
)

T0 = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)


def down_alert(monitor: str = "api", at: datetime = T0) -> Alert:
    return Alert(
        {"alertname": "SlamonMonitorDown", "severity": "critical", "monitor": monitor},
        {"summary": f"{monitor} is down", "description": "it is down"},
        at,
    )


def hub_for(notifiers: list[dict[str, object]]) -> NotificationHub:
    config = parse_config({"notifiers": notifiers}, {"HOOK_TOKEN": "s3cret"})
    return NotificationHub.from_config(config)


async def wait_until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout}s")


def test_alerts_fire_and_resolve_once() -> None:
    sent: list[Alert] = []
    alerts = Alerts(sent.append)
    assert alerts.fire(down_alert())
    assert not alerts.fire(down_alert(at=T0 + timedelta(minutes=1)))  # same labels: dedup
    assert alerts.clear(down_alert().labels, T0 + timedelta(minutes=5))
    assert not alerts.clear(down_alert().labels, T0 + timedelta(minutes=6))
    assert [(a.status, a.starts_at, a.ends_at) for a in sent] == [
        ("firing", T0, None),
        ("resolved", T0, T0 + timedelta(minutes=5)),
    ]


def test_state_alerts_follow_the_state() -> None:
    sent: list[Alert] = []
    state = StateAlerts(Alerts(sent.append), {"api": "Public API"})
    fail = Result("api", "local", T0, State.DOWN, 1.0, ErrorClass.TIMEOUT, "no answer")

    def change(prev: State, new: State, minutes: int) -> None:
        state.on_state_change(StateChange("api", prev, new, T0 + timedelta(minutes=minutes), fail))

    change(State.UP, State.DOWN, 0)
    change(State.DOWN, State.DEGRADED, 1)
    change(State.DEGRADED, State.UNKNOWN, 2)  # no data: nothing changes
    change(State.UNKNOWN, State.MAINTENANCE, 3)  # maintenance clears
    change(State.MAINTENANCE, State.DOWN, 4)
    change(State.DOWN, State.UP, 5)
    assert [(a.name, a.status) for a in sent] == [
        ("SlamonMonitorDown", "firing"),
        ("SlamonMonitorDown", "resolved"),
        ("SlamonMonitorDegraded", "firing"),
        ("SlamonMonitorDegraded", "resolved"),
        ("SlamonMonitorDown", "firing"),
        ("SlamonMonitorDown", "resolved"),
    ]
    assert sent[0].annotations["summary"] == "Public API is down"
    assert "timeout (no answer)" in sent[0].annotations["description"]


def test_certificate_expiry(tmp_path: Path) -> None:
    engine = Engine(
        {"api": ConfirmPolicy(1, 1)}, Writer(Store.from_url(f"sqlite+aiosqlite:///{tmp_path}/x.db"))
    )
    sent: list[Alert] = []
    alerts = Alerts(sent.append)
    day = 86400.0

    def see(expiry_in_days: float, now: datetime) -> None:
        engine.ingest(
            Result(
                "api",
                "local",
                now,
                State.UP,
                0.1,
                metrics={"ssl_earliest_cert_expiry": now.timestamp() + expiry_in_days * day},
            )
        )
        evaluate_certificates(
            alerts,
            engine,
            {"api": "API"},
            now,
            warning=timedelta(days=14),
            critical=timedelta(days=3),
        )

    see(30, T0)
    see(10, T0 + timedelta(hours=1))
    see(2, T0 + timedelta(hours=2))
    see(90, T0 + timedelta(hours=3))  # renewed
    assert [(a.labels["severity"], a.status) for a in sent] == [
        ("warning", "firing"),
        ("warning", "resolved"),
        ("critical", "firing"),
        ("critical", "resolved"),
    ]
    assert sent[0].annotations["summary"] == "TLS certificate of API expires in 10.0 days"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"type": "pager"}, "notifiers[0].type: unknown notifier type 'pager'"),
        ({"type": "webhook", "url": "not a url"}, "notifiers[0].url:"),
        ({"type": "email", "host": "h", "from": "x@y"}, "notifiers[0].to: Field required"),
        ({"type": "mqtt", "events": ["gossip"]}, "notifiers[0].events[0]:"),
        ({"type": "mqtt", "colour": "red"}, "notifiers[0].colour: unknown key"),
    ],
    ids=["type", "url", "email-to", "events", "unknown-key"],
)
def test_notifier_config_errors_name_the_path(entry: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"notifiers": [{"id": "n", **entry}]}, {})
    assert any(e.startswith(expected) for e in info.value.errors), info.value.errors


async def test_webhook_slack_and_email_receive_firing_and_resolved(aiohttp_server) -> None:  # type: ignore[no-untyped-def]
    receiver = HttpReceiver()
    server = await aiohttp_server(receiver.app())
    async with smtp_server() as (smtp_port, inbox):
        hub = hub_for(
            [
                {
                    "id": "hook",
                    "type": "webhook",
                    "url": str(server.make_url("/hook")),
                    "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"},
                    "events": ["alerts", "incidents"],
                },
                {"id": "chat", "type": "slack", "url": str(server.make_url("/slack"))},
                {
                    "id": "mail",
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "from": "slamon@example.test",
                    "to": ["oncall@example.test"],
                },
            ]
        )
        hub.start()
        try:
            hub.alert(down_alert())
            hub.alert(down_alert())  # a duplicate is sent once
            hub.alert(
                Alert(down_alert().labels, down_alert().annotations, T0, T0 + timedelta(minutes=3))
            )
            incident = Incident(
                "inc-1", "API is down", ("api",), Impact.MAJOR, IncidentStatus.INVESTIGATING, T0
            )
            hub.incident(IncidentEvent(IncidentEventKind.OPENED, incident))
            await wait_until(lambda: len(inbox) == 2 and len(receiver.bodies.get("/hook", [])) == 3)
            await wait_until(lambda: len(receiver.bodies.get("/slack", [])) == 2)
        finally:
            await hub.stop()
    hook = receiver.bodies["/hook"]
    assert [(b["event"], b["status"]) for b in hook] == [
        ("alert", "firing"),
        ("alert", "resolved"),
        ("incident", "opened"),
    ]
    assert hook[0]["labels"] == {
        "alertname": "SlamonMonitorDown",
        "monitor": "api",
        "severity": "critical",
    }
    assert hook[1]["endsAt"] == (T0 + timedelta(minutes=3)).isoformat()
    assert hook[2]["incident"]["impact"] == "major"
    assert [b["text"] for b in receiver.bodies["/slack"]] == [
        "[FIRING] api is down",
        "[RESOLVED] api is down",
    ]
    assert [m["Subject"] for m in inbox] == ["[FIRING] api is down", "[RESOLVED] api is down"]
    assert inbox[0]["To"] == "oncall@example.test"
    assert hub.workers[0].deduplicated == 1


async def test_retries_with_backoff_then_delivers(aiohttp_server) -> None:  # type: ignore[no-untyped-def]
    receiver = HttpReceiver(fail_first=2)
    server = await aiohttp_server(receiver.app())
    hub = hub_for(
        [{"id": "hook", "type": "webhook", "url": str(server.make_url("/h")), "backoff": "50ms"}]
    )
    hub.start()
    try:
        hub.alert(down_alert())
        await wait_until(lambda: len(receiver.bodies.get("/h", [])) == 1)
    finally:
        await hub.stop()
    worker = hub.workers[0]
    assert (worker.sent, worker.retried, worker.failed) == (1, 2, 0)


async def test_a_dead_notifier_never_blocks_and_drops_when_full(
    aiohttp_server,
    refused_port: int,  # type: ignore[no-untyped-def]
) -> None:
    receiver = HttpReceiver()
    server = await aiohttp_server(receiver.app())
    hub = hub_for(
        [
            {
                "id": "dead",
                "type": "webhook",
                "url": f"http://127.0.0.1:{refused_port}/x",
                "queue_size": 2,
                "retries": 1,
                "backoff": "10s",
            },
            {"id": "alive", "type": "webhook", "url": str(server.make_url("/ok"))},
        ]
    )
    hub.start()
    try:
        started = time.perf_counter()
        for i in range(20):
            hub.alert(down_alert(monitor=f"m{i}"))
        offered = time.perf_counter() - started
        await wait_until(lambda: len(receiver.bodies.get("/ok", [])) == 20)
    finally:
        await hub.stop(grace=0.2)
    dead = hub.workers[0]
    assert offered < 0.5  # offering returns at once
    # All 20 were offered before its task ran: two fit the queue, 18 were dropped.
    assert dead.dropped == 18
    assert dead.sent == 0


async def test_mqtt_events_on_the_topic_tree() -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}/slamon/v1/events"
    async with mqtt_messages(prefix) as got:
        hub = hub_for(
            [
                {
                    "id": "bus",
                    "type": "mqtt",
                    "topic_prefix": prefix,
                    "events": ["alerts", "incidents"],
                }
            ]
        )
        hub.start()
        try:
            hub.alert(down_alert())
            incident = Incident(
                "inc-9", "DB is down", ("db",), Impact.MAJOR, IncidentStatus.INVESTIGATING, T0
            )
            hub.incident(IncidentEvent(IncidentEventKind.OPENED, incident))
            await wait_until(lambda: len(got) == 2)
        finally:
            await hub.stop()
    assert sorted(t for t, _ in got) == [
        f"{prefix}/alerts/SlamonMonitorDown/api",
        f"{prefix}/incidents/inc-9",
    ]


async def test_alertmanager_holds_and_resolves(tmp_path: Path) -> None:
    async with alertmanager(tmp_path) as url:
        hub = hub_for([{"id": "am", "type": "alertmanager", "url": url}])
        hub.start()
        now = datetime.now(UTC)
        try:
            hub.alert(down_alert(at=now))
            await wait_until(lambda: hub.workers[0].sent == 1)
            held = await alertmanager_alerts(url)
            assert [a["labels"]["monitor"] for a in held] == ["api"]
            assert held[0]["annotations"]["summary"] == "api is down"
            assert held[0]["status"]["state"] == "active"
            hub.alert(Alert(down_alert().labels, down_alert().annotations, now, datetime.now(UTC)))
            await wait_until(lambda: hub.workers[0].sent == 2)
            assert await alertmanager_alerts(url) == []
        finally:
            await hub.stop()


def test_slack_body_and_notification_shapes() -> None:
    body = slack_body(Notification(alert=down_alert()))
    assert body["text"] == "[FIRING] api is down"
    assert body["attachments"][0]["color"] == "#d62728"
    with pytest.raises(ValueError):
        Notification()


def test_worker_filters_by_event_kind() -> None:
    class Null:
        resend_active = False

        async def send(self, message: Notification) -> None:
            raise AssertionError

        async def close(self) -> None:
            pass

    worker = NotifierWorker("n", "null", Null(), events=frozenset({"incidents"}))
    assert not worker.offer(Notification(alert=down_alert()))
