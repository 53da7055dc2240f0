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
from slamon.config.env import expand_env, without
from slamon.config.model import Config
from slamon.config.notifiers import NOTIFIER_SETTINGS, NotifierConfig

# What a command that does not serve (reports, rules, incidents, a static site build)
# still needs from the environment: the database. Secrets of the running service
# (its tokens, the broker's and notifiers' passwords) may be unset for it.
_OFFLINE_NEEDS = frozenset({"store"})


def parse_config(
    data: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    *,
    offline: bool = False,
    base_dir: Path | None = None,
) -> Config:
    """Validate parsed TOML; raise ConfigError listing every problem.

    ``offline``: for a command that does not run the service, a value whose
    environment variable is not set is left out (as if not written), unless it is in
    ``[store]``; when the config is not valid without it, the missing variables are
    reported as always. ``base_dir``: the config file's folder, against which a
    relative SQLite path is resolved.
    """
    errors: list[str] = []
    missing: list[tuple[str | int, ...]] = []
    raw = dict(data)
    expanded = expand_env(raw, os.environ if env is None else env, errors, missing=missing)
    if offline and missing and all(path[0] not in _OFFLINE_NEEDS for path in missing):
        lenient = without(expanded, missing)
        if lenient is not None:
            try:
                return _checked(lenient, [], base_dir)
            except ConfigError:
                pass  # invalid without those values: report the variables as always
    return _checked(expanded, errors, base_dir)


def _checked(data: dict[str, Any], errors: list[str], base_dir: Path | None) -> Config:
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
    _check_operations(config, errors)
    notifiers = _check_notifiers(config, errors)
    if errors:
        raise ConfigError(errors)
    update: dict[str, Any] = {"monitors": monitors, "notifiers": notifiers}
    if base_dir is not None:
        update["store"] = config.store.relative_to(base_dir)
    return config.model_copy(update=update)


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


def load_config(
    path: str | Path, env: Mapping[str, str] | None = None, *, offline: bool = False
) -> Config:
    """Read and validate a config file; raise ConfigError on any problem.

    A relative SQLite path in ``store.url`` is taken relative to the file's folder,
    not to the current one. ``offline`` as for :func:`parse_config`.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{p}: not valid TOML: {exc}"]) from None
    return parse_config(data, env, offline=offline, base_dir=p.resolve().parent)
