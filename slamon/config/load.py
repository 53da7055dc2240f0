"""Loading and validating ``config.toml``.

Every error names its TOML path (``monitors[2].interval: must be at least 1s``);
the CLI prints them all and exits with status 2. Secrets are written as
``${ENV_NAME}`` and read from the environment at load time.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from probes.registry import PROBE_TYPES
from slamon.config.common import ConfigError, error_lines
from slamon.config.env import expand_env
from slamon.config.model import Config
from slamon.config.notifiers import NOTIFIER_SETTINGS, NotifierConfig


def parse_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate parsed TOML; raise ConfigError listing every problem."""
    errors: list[str] = []
    data = expand_env(dict(data), os.environ if env is None else env, errors)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(errors + error_lines(exc)) from None
    monitors = []
    first_use: dict[str, int] = {}
    for i, monitor in enumerate(config.monitors):
        if monitor.id in first_use:
            first = first_use[monitor.id]
            errors.append(f"monitors[{i}].id: {monitor.id!r} is already used by monitors[{first}]")
        first_use.setdefault(monitor.id, i)
        model = PROBE_TYPES[monitor.type].settings
        try:
            settings = model.model_validate(monitor.probe_settings())
        except ValidationError as exc:
            errors.extend(error_lines(exc, ("monitors", i)))
            continue
        monitors.append(monitor.model_copy(update={"settings": settings}))
        if config.bus.kind == "mqtt":
            for j, loc in enumerate(monitor.locations or ()):
                if loc not in config.bus.locations:
                    errors.append(f"monitors[{i}].locations[{j}]: {loc!r} is not in bus.locations")
        n = len(monitor.locations or config.bus.locations) if config.bus.kind == "mqtt" else 1
        if monitor.quorum is not None and monitor.quorum > n:
            errors.append(f"monitors[{i}].quorum: {monitor.quorum} is more than its {n} locations")
    component_ids: dict[str, int] = {}
    for i, component in enumerate(config.components):
        if component.id in component_ids:
            first = component_ids[component.id]
            errors.append(
                f"components[{i}].id: {component.id!r} is already used by components[{first}]"
            )
        component_ids.setdefault(component.id, i)
        for j, monitor_id in enumerate(component.monitors):
            if monitor_id not in first_use:
                errors.append(
                    f"components[{i}].monitors[{j}]: no monitor has the id {monitor_id!r}"
                )
        if component.quorum is not None and component.quorum > len(component.monitors):
            errors.append(
                f"components[{i}].quorum: {component.quorum} is more than its "
                f"{len(component.monitors)} monitors"
            )
    errors.extend(_contract_errors(config, set(first_use), set(component_ids)))
    errors.extend(_customer_errors(config))
    if config.subscriptions.enabled and not config.statuspage.url:
        errors.append(
            "statuspage.url: required with subscriptions enabled: the links in their mails "
            "are absolute"
        )
    _check_operations(config, errors)
    notifiers = _check_notifiers(config, errors)
    if errors:
        raise ConfigError(errors)
    return config.model_copy(update={"monitors": monitors, "notifiers": notifiers})


def _check_notifiers(config: Config, errors: list[str]) -> list[NotifierConfig]:
    """Validate each notifier's own settings with its type's model."""
    out = []
    seen: dict[str, int] = {}
    for i, notifier in enumerate(config.notifiers):
        if notifier.id in seen:
            errors.append(
                f"notifiers[{i}].id: {notifier.id!r} is already used by "
                f"notifiers[{seen[notifier.id]}]"
            )
        seen.setdefault(notifier.id, i)
        model = NOTIFIER_SETTINGS.get(notifier.type)
        if model is None:
            errors.append(
                f"notifiers[{i}].type: unknown notifier type {notifier.type!r}; "
                f"known: {', '.join(NOTIFIER_SETTINGS)}"
            )
            continue
        try:
            settings = model.model_validate(notifier.type_settings())
        except ValidationError as exc:
            errors.extend(error_lines(exc, ("notifiers", i)))
            continue
        out.append(notifier.model_copy(update={"settings": settings}))
    return out


def _contract_errors(config: Config, monitor_ids: set[str], component_ids: set[str]) -> list[str]:
    errors = []
    seen: dict[str, int] = {}
    known_components = component_ids or {c.id for c in config.effective_components()}
    for i, contract in enumerate(config.contracts):
        if contract.id in seen:
            first = seen[contract.id]
            errors.append(
                f"contracts[{i}].id: {contract.id!r} is already used by contracts[{first}]"
            )
        seen.setdefault(contract.id, i)
        for j, monitor_id in enumerate(contract.monitors):
            if monitor_id not in monitor_ids:
                errors.append(f"contracts[{i}].monitors[{j}]: no monitor has the id {monitor_id!r}")
        for j, component_id in enumerate(contract.components):
            if component_id not in known_components:
                errors.append(
                    f"contracts[{i}].components[{j}]: no component has the id {component_id!r}"
                )
    return errors


def _customer_errors(config: Config) -> list[str]:
    """Each customer page belongs to contracts; ids and tokens are not shared."""
    errors = []
    contracted = {c.customer_id for c in config.contracts}
    ids: dict[str, int] = {}
    tokens: dict[str, int] = {}
    for i, customer in enumerate(config.customers):
        if customer.id in ids:
            first = ids[customer.id]
            errors.append(
                f"customers[{i}].id: {customer.id!r} is already used by customers[{first}]"
            )
        ids.setdefault(customer.id, i)
        if customer.id not in contracted:
            errors.append(f"customers[{i}].id: no contract has the customer_id {customer.id!r}")
        token = customer.token.get_secret_value()
        if token in tokens:
            errors.append(f"customers[{i}].token: the same token as customers[{tokens[token]}]")
        tokens.setdefault(token, i)
    return errors


def _check_operations(config: Config, errors: list[str]) -> None:
    """Cross-references of the maintenance, SLO and notifier sections."""
    components = {c.id for c in config.effective_components()}
    seen: dict[str, int] = {}
    for i, entry in enumerate(config.maintenance):
        if entry.id in seen:
            errors.append(
                f"maintenance[{i}].id: {entry.id!r} is already used by "
                f"maintenance[{seen[entry.id]}]"
            )
        seen.setdefault(entry.id, i)
        for j, component_id in enumerate(entry.components):
            if component_id not in components:
                errors.append(
                    f"maintenance[{i}].components[{j}]: no component has the id {component_id!r}"
                )
    monitor_ids = {m.id for m in config.monitors}
    slo_ids: dict[str, int] = {}
    for i, slo in enumerate(config.slos):
        if slo.id in slo_ids:
            errors.append(f"slos[{i}].id: {slo.id!r} is already used by slos[{slo_ids[slo.id]}]")
        slo_ids.setdefault(slo.id, i)
        if slo.component is not None and slo.component not in components:
            errors.append(f"slos[{i}].component: no component has the id {slo.component!r}")
        for j, monitor_id in enumerate(slo.monitors or ()):
            if monitor_id not in monitor_ids:
                errors.append(f"slos[{i}].monitors[{j}]: no monitor has the id {monitor_id!r}")


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file; raise ConfigError on any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{p}: not valid TOML: {exc}"]) from None
    return parse_config(data, env)
