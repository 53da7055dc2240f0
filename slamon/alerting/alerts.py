"""Alerts slamon evaluates itself: monitor states, certificate expiry, SLO burn and forecast.

An alert is identified by its labels (Alertmanager's fingerprint idea): firing one
that is already active does nothing, clearing one that is not active does nothing,
so every notifier gets one firing and one resolved message per condition. Monitors
in maintenance raise no alerts; entering maintenance clears theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sla_engine.slis.budget import AlertSeverity
from sla_engine.slis.slo import SLOStatus, forecast_message, prometheus_duration
from sla_engine.time.states import State
from slamon.events import Alert, AlertName, StateChange

if TYPE_CHECKING:
    from probes.result import Result
    from sla_engine.reports.contract_forecast import ContractForecast
    from slamon.engine import Engine

log = logging.getLogger("slamon.alerts")


CERT_METRIC = "ssl_earliest_cert_expiry"


class Alerts:
    """The set of active alerts; ``sink`` hears each one fire and resolve, once."""

    def __init__(self, sink: Callable[[Alert], None]) -> None:
        self.sink = sink
        self.active: dict[str, Alert] = {}
        self.fired = 0
        self.resolved = 0

    def restore(self, alerts: Iterable[Alert]) -> None:
        """Alerts active before a restart: active again, without telling anyone."""
        for alert in alerts:
            self.active.setdefault(alert.fingerprint, alert)

    def fire(self, alert: Alert) -> bool:
        """Make ``alert`` active; False (and nothing sent) if it already is."""
        key = alert.fingerprint
        if key in self.active:
            return False
        self.active[key] = alert
        self.fired += 1
        log.warning("alert firing: %s %s", alert.name, dict(alert.labels))
        self._send(alert)
        return True

    def clear(self, labels: Mapping[str, str], at: datetime) -> bool:
        """Resolve the active alert with ``labels`` at ``at``; False if none is active."""
        key = Alert(labels).fingerprint
        alert = self.active.pop(key, None)
        if alert is None:
            return False
        self.resolved += 1
        ends = max(at, alert.starts_at) if alert.starts_at is not None else at
        log.warning("alert resolved: %s %s", alert.name, dict(alert.labels))
        self._send(replace(alert, ends_at=ends))
        return True

    def set(self, alert: Alert, active: bool, at: datetime) -> None:
        """Fire ``alert`` when ``active``, else clear it."""
        if active:
            self.fire(alert)
        else:
            self.clear(alert.labels, at)

    def _send(self, alert: Alert) -> None:
        try:
            self.sink(alert)
        except Exception:
            log.exception("alert sink failed")


def _labels(name: AlertName, severity: str, **extra: str) -> dict[str, str]:
    return {"alertname": name.value, "severity": severity, **extra}


class StateAlerts:
    """Engine listener: down and degraded alerts per monitor, resolved on recovery."""

    def __init__(self, alerts: Alerts, names: Mapping[str, str]) -> None:
        self.alerts = alerts
        self.names = names

    def down_labels(self, monitor_id: str) -> dict[str, str]:
        """Labels of the monitor's down alert."""
        return _labels(AlertName.MONITOR_DOWN, "critical", monitor=monitor_id)

    def degraded_labels(self, monitor_id: str) -> dict[str, str]:
        """Labels of the monitor's degraded alert."""
        return _labels(AlertName.MONITOR_DEGRADED, "warning", monitor=monitor_id)

    def on_state_change(self, change: StateChange) -> None:
        """Fire or resolve by the new confirmed state."""
        m, at = change.monitor_id, change.at
        if change.state is State.UNKNOWN:
            return  # no data says nothing: keep what is active
        name = self.names.get(m, m)
        detail = _detail(change.result)
        if change.state is not State.DOWN:
            self.alerts.clear(self.down_labels(m), at)
        if change.state is not State.DEGRADED:
            self.alerts.clear(self.degraded_labels(m), at)
        if change.state is State.DOWN:
            self.alerts.fire(
                Alert(
                    self.down_labels(m),
                    {
                        "summary": f"{name} is down",
                        "description": f"{name} ({m}) is down since {at.isoformat()}{detail}.",
                    },
                    at,
                )
            )
        elif change.state is State.DEGRADED:
            self.alerts.fire(
                Alert(
                    self.degraded_labels(m),
                    {
                        "summary": f"{name} is degraded",
                        "description": (
                            f"{name} ({m}) answers, but too slowly or wrongly, since "
                            f"{at.isoformat()}{detail}."
                        ),
                    },
                    at,
                )
            )


def _detail(result: Result | None) -> str:
    if result is None or result.error is None:
        return ""
    return f": {result.error.value}" + (f" ({result.detail})" if result.detail else "")


def evaluate_certificates(
    alerts: Alerts,
    engine: Engine,
    names: Mapping[str, str],
    now: datetime,
    *,
    warning: timedelta,
    critical: timedelta,
) -> None:
    """Alert when a monitor's earliest certificate expires within ``warning``/``critical``.

    Reads ``ssl_earliest_cert_expiry`` (unixtime) from the latest result of each
    location and takes the earliest. A monitor in maintenance is not alerted on.
    """
    earliest: dict[str, float] = {}
    for (monitor_id, _location), result in engine.latest.items():
        expiry = result.metrics.get(CERT_METRIC)
        if expiry is not None:
            earliest[monitor_id] = min(expiry, earliest.get(monitor_id, expiry))
    monitors = {m for m, _ in engine.latest}
    # The monitors with a certificate alert active: only they have one to clear. The
    # others, at ten thousand monitors, made twenty thousand fingerprints a round.
    active = {
        a.labels.get("monitor")
        for a in list(alerts.active.values())
        if a.labels.get("alertname") == AlertName.CERTIFICATE_EXPIRY.value
    }
    timestamp = now.timestamp()
    soonest = max(warning, critical).total_seconds()
    for monitor_id in sorted(monitors):
        expiry = earliest.get(monitor_id)
        if monitor_id not in active and (expiry is None or expiry - timestamp >= soonest):
            continue  # nothing fires, nothing to clear
        left = None if expiry is None else timedelta(seconds=expiry - timestamp)
        in_maintenance = engine.state(monitor_id) is State.MAINTENANCE
        for severity, limit in (("warning", warning), ("critical", critical)):
            labels = _labels(AlertName.CERTIFICATE_EXPIRY, severity, monitor=monitor_id)
            # Only the more urgent of the two fires.
            firing = (
                left is not None
                and not in_maintenance
                and left < limit
                and not (severity == "warning" and left < critical)
            )
            if not firing or left is None or expiry is None:
                alerts.clear(labels, now)
                continue
            name = names.get(monitor_id, monitor_id)
            days = left.total_seconds() / 86400
            when = "has expired" if days <= 0 else f"expires in {days:.1f} days"
            alerts.fire(
                Alert(
                    labels,
                    {
                        "summary": f"TLS certificate of {name} {when}",
                        "description": (
                            f"The earliest certificate in the chain of {name} ({monitor_id}) "
                            f"{when} (unixtime {expiry:.0f})."
                        ),
                    },
                    now,
                )
            )


def evaluate_slo_alerts(
    alerts: Alerts,
    slo_id: str,
    slo_name: str,
    status: SLOStatus,
    now: datetime,
    *,
    forecast_horizon: timedelta,
) -> None:
    """Burn-rate alerts (page, ticket) and the breach forecast of one SLO."""
    for severity in (AlertSeverity.PAGE, AlertSeverity.TICKET):
        labels = _labels(AlertName.SLO_BURN_RATE, severity.value, slo=slo_id)
        evals = [
            e
            for e in (status.alert.evaluations if status.alert else ())
            if e.rule.severity is severity and e.firing
        ]
        if not evals:
            alerts.clear(labels, now)
            continue
        e = evals[0]
        long_w = prometheus_duration(e.rule.long_window)
        short_w = prometheus_duration(e.rule.short_window)
        alerts.fire(
            Alert(
                labels,
                {
                    "summary": f"SLO {slo_name} burns its error budget too fast",
                    "description": (
                        f"Burn rate {float(e.long_burn):.1f}x over {long_w} and "
                        f"{float(e.short_burn):.1f}x over {short_w} (threshold "
                        f"{e.rule.threshold}x): {e.rule.budget_share * 100:g}% of the "
                        f"{prometheus_duration(status.slo_window)} budget in {long_w}."
                    ),
                },
                now,
            )
        )
    labels = _labels(AlertName.SLO_BREACH_FORECAST, "ticket", slo=slo_id)
    forecast = status.forecast
    hours = forecast.hours if forecast is not None else None
    soon = (
        forecast is not None
        and hours is not None
        and 0 < hours <= forecast_horizon.total_seconds() / 3600
        and forecast.burn_rate > 1
    )
    message = forecast_message(f"SLO {slo_name}", forecast) if forecast is not None else None
    if not soon or message is None:
        alerts.clear(labels, now)
        return
    alerts.fire(
        Alert(
            labels,
            {
                "summary": f"SLO {slo_name} will breach",
                "description": message[0].upper() + message[1:] + ".",
            },
            now,
        )
    )


def evaluate_contract_forecasts(
    alerts: Alerts,
    forecasts: Iterable[ContractForecast],
    now: datetime,
    *,
    forecast_horizon: timedelta,
) -> None:
    """A ticket per contract whose SLA breaches this period within the horizon.

    Fires when, at the recent burn rate (above 1), the period's budget runs out before
    the period ends and within ``forecast_horizon``; resolves when that stops holding.
    """
    for f in forecasts:
        labels = _labels(AlertName.CONTRACT_BREACH_FORECAST, "ticket", contract=f.contract_id)
        message = f.message()
        hours = f.forecast.hours
        soon = (
            message is not None
            and hours is not None
            and f.breaches_this_period
            and f.forecast.burn_rate > 1
            and hours <= forecast_horizon.total_seconds() / 3600
        )
        if not soon or message is None:
            alerts.clear(labels, now)
            continue
        alerts.fire(
            Alert(
                labels,
                {
                    "summary": f"SLA of contract {f.contract_id} will breach in {f.period_label}",
                    "description": message[0].upper() + message[1:] + ".",
                },
                now,
            )
        )


def active_sorted(alerts: Iterable[Alert]) -> list[Alert]:
    """Alerts in a stable order (name, then labels) for APIs and tests."""
    return sorted(alerts, key=lambda a: (a.name, sorted(a.labels.items())))
