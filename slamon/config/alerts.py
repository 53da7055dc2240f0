"""``[alerts]``: how slamon evaluates and re-sends its own alerts."""

from __future__ import annotations

from typing import Annotated

from probes.durations import Duration
from slamon.config.common import Section, at_least


class AlertsConfig(Section):
    """How slamon evaluates its own alerts."""

    evaluation_interval: Annotated[Duration, at_least(1, "s")] = 30
    cert_expiry_warning: Annotated[Duration, at_least(0, "s")] = 14 * 86400
    cert_expiry_critical: Annotated[Duration, at_least(0, "s")] = 3 * 86400
    forecast_horizon: Annotated[Duration, at_least(60, "s")] = 72 * 3600
    incident_group_window: Annotated[Duration, at_least(0, "s")] = 15 * 60
    resend_interval: Annotated[Duration, at_least(1, "s")] = 60
    external_url: str = ""
