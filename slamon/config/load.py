"""Loading and validating ``config.toml``.

Every error names its TOML path (``monitors[2].interval: must be at least 1s``);
the CLI prints them all and exits with status 2. Secrets are written as
``${ENV_NAME}`` and read from the environment at load time.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from slamon.config.common import ConfigError, error_lines
from slamon.config.discovery import placeholders, render
from slamon.config.env import expand_env, without
from slamon.config.model import Config
from slamon.config.monitors import MonitorConfig, check_monitor
from slamon.config.notifiers import NOTIFIER_SETTINGS, NotifierConfig

# What a command that does not serve (reports, rules, incidents, a static site build)
# still needs from the environment: the database. Secrets of the running service
# (its tokens, the broker's and notifiers' passwords) may be unset for it.
_OFFLINE_NEEDS = frozenset({"store"})

Discover = Callable[[Config], Sequence[MonitorConfig]]


def parse_config(
    data: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    *,
    discover: Discover | None = None,
    offline: bool = False,
    base_dir: Path | None = None,
) -> Config:
    """Validate parsed TOML; raise ConfigError listing every problem.

    ``discover`` is given the validated file (its own monitors only) and returns the
    monitors its ``[[discovery]]`` sources found; cross-references (components,
    contracts, SLOs, maintenance) are checked over both. ``offline``: for a command
    that does not run the service, a value whose environment variable is not set is
    left out (as if not written), unless it is in ``[store]``; when the config is not
    valid without it, the missing variables are reported as always. ``base_dir``: the
    config file's folder, against which a relative SQLite path is resolved.
    """
    errors: list[str] = []
    missing: list[tuple[str | int, ...]] = []
    expanded = expand_env(dict(data), os.environ if env is None else env, errors, missing=missing)
    if offline and missing and all(path[0] not in _OFFLINE_NEEDS for path in missing):
        lenient = without(expanded, missing)
        if lenient is not None:
            try:
                return _checked(lenient, [], base_dir, discover)
            except ConfigError:
                pass  # invalid without those values: report the variables as always
    return _checked(expanded, errors, base_dir, discover)


def _checked(
    data: dict[str, Any], errors: list[str], base_dir: Path | None, discover: Discover | None
) -> Config:
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
        checked = check_monitor(config.bus, monitor, ("monitors", i), errors)
        if checked is not None:
            monitors.append(checked)
    _check_templates(config, errors)
    _check_cluster(config, errors)
    notifiers = _check_notifiers(config, errors)
    if errors:
        raise ConfigError(errors)
    update: dict[str, Any] = {"monitors": monitors, "notifiers": notifiers}
    if base_dir is not None:
        update["store"] = config.store.relative_to(base_dir)
    static = config.model_copy(update=update)
    return with_monitors(static, discover(static) if discover is not None else ())


def with_monitors(config: Config, extra: Sequence[MonitorConfig]) -> Config:
    """``config`` with ``extra`` (discovered) monitors; cross-references checked over all.

    ``extra`` must be validated already, with ids unused by ``config``.
    """
    merged = config.model_copy(update={"monitors": [*config.monitors, *extra]}) if extra else config
    errors: list[str] = []
    monitor_ids = {m.id for m in merged.monitors}
    component_ids: dict[str, int] = {}
    for i, component in enumerate(merged.components):
        if component.id in component_ids:
            first = component_ids[component.id]
            errors.append(
                f"components[{i}].id: {component.id!r} is already used by components[{first}]"
            )
        component_ids.setdefault(component.id, i)
        for j, monitor_id in enumerate(component.monitors):
            if monitor_id not in monitor_ids:
                errors.append(
                    f"components[{i}].monitors[{j}]: no monitor has the id {monitor_id!r}"
                )
        if component.quorum is not None and component.quorum > len(component.monitors):
            errors.append(
                f"components[{i}].quorum: {component.quorum} is more than its "
                f"{len(component.monitors)} monitors"
            )
    errors.extend(_contract_errors(merged, monitor_ids, set(component_ids)))
    errors.extend(_customer_errors(merged))
    if merged.subscriptions.enabled and not merged.statuspage.url:
        errors.append(
            "statuspage.url: required with subscriptions enabled: the links in their mails "
            "are absolute"
        )
    _check_operations(merged, errors)
    if errors:
        raise ConfigError(errors)
    return merged


def _check_cluster(config: Config, errors: list[str]) -> None:
    """A cluster keeps its leases in PostgreSQL and its shards as MQTT sessions."""
    if not config.cluster.enabled:
        return
    if not config.store.url.startswith("postgresql"):
        errors.append(
            'cluster.enabled: needs PostgreSQL (store.url = "postgresql+asyncpg://..."): '
            "the engines' leases live in the database"
        )
    if config.bus.kind != "mqtt":
        errors.append(
            'cluster.enabled: needs the MQTT bus (bus.kind = "mqtt"): each shard is a '
            "persistent MQTT session that any engine can take over"
        )


def _check_templates(config: Config, errors: list[str]) -> None:
    """Each file_sd template makes a valid monitor for a sample target."""
    for i, source in enumerate(config.discovery):
        if source.template is None:
            continue
        try:
            names = placeholders(source.template)
        except ValueError as exc:
            errors.append(f"discovery[{i}].template: {exc}")
            continue
        sample = dict.fromkeys(names, "x") | {
            "target": "192.0.2.1:80",
            "host": "192.0.2.1",
            "port": "80",
        }
        raw = render(source.template, sample)
        raw.setdefault("id", f"{source.id}-sample")
        raw.setdefault("target", "192.0.2.1:80")
        try:
            monitor = MonitorConfig.model_validate(raw)
        except ValidationError as exc:
            errors.extend(error_lines(exc, ("discovery", i, "template")))
            continue
        check_monitor(config.bus, monitor, ("discovery", i, "template"), errors)


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


def read_toml(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """The parsed TOML at ``path`` and its bytes; raise ConfigError if unreadable."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror}"]) from None
    try:
        return tomllib.loads(raw.decode("utf-8")), raw
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{p}: not UTF-8 (invalid byte at offset {exc.start})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{p}: not valid TOML: {exc}"]) from None


def load_config(
    path: str | Path,
    env: Mapping[str, str] | None = None,
    *,
    discover: Discover | None = None,
    offline: bool = False,
) -> Config:
    """Read and validate a config file; raise ConfigError on any problem.

    A relative SQLite path in ``store.url`` is taken relative to the file's folder,
    not to the current one. ``offline`` as for :func:`parse_config`.
    """
    data, _ = read_toml(path)
    return parse_config(
        data, env, discover=discover, offline=offline, base_dir=Path(path).resolve().parent
    )
