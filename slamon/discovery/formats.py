"""Reading one discovery file into monitors: slamon's own format, or Prometheus file_sd.

A file is read whole or not at all: any problem raises FileProblems listing every one,
each starting with the file's path and the entry (``targets.json[2].targets[0]: ...``).
"""

from __future__ import annotations

import json
import os
import tomllib
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from probes.registry import PROBE_TYPES
from slamon.config.common import error_lines, format_loc
from slamon.config.discovery import make_id, render
from slamon.config.env import expand_env
from slamon.config.monitors import MonitorConfig, check_monitor

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from slamon.config.discovery import DiscoveryConfig
    from slamon.config.model import Config


class FileProblems(Exception):
    """A discovery file that cannot be used; ``errors`` are lines ``where: what``."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _decode(path: Path, data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblems([f"{path}: not UTF-8 (invalid byte at offset {exc.start})"]) from None
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise FileProblems([f"{path}: not valid TOML: {exc}"]) from None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise FileProblems([f"{path}: not valid JSON: {exc}"]) from None


class Reader:
    """Turns files of one config into monitors; probe settings validated once per shape."""

    def __init__(self, config: Config, env: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.env = os.environ if env is None else env
        self._settings: dict[tuple[str, str], BaseModel] = {}

    def read(
        self,
        source: DiscoveryConfig,
        path: Path,
        data: bytes,
        known: Mapping[str, MonitorConfig] | None = None,
        made: dict[str, MonitorConfig] | None = None,
    ) -> list[MonitorConfig]:
        """The monitors in ``data`` (the bytes of ``path``); raise FileProblems.

        ``known`` maps an entry (as canonical JSON) to the monitor an earlier read
        made of it, so an edit of one target in ten thousand validates one; every
        monitor made here is put in ``made`` the same way.
        """
        doc = _decode(path, data)
        if source.kind == "file_sd":
            raws = self._from_file_sd(source, path, doc)
        else:
            raws = self._from_monitor_file(path, doc)
        errors: list[str] = []
        out: list[MonitorConfig] = []
        seen: dict[str, tuple[str | int, ...]] = {}
        for where, raw in raws:
            key = json.dumps(raw, sort_keys=True, default=str)
            monitor = known.get(key) if known is not None else None
            if monitor is None:
                monitor = self._monitor(where, raw, errors)
            if monitor is None:
                continue
            if made is not None:
                made[key] = monitor
            if monitor.id in seen:
                errors.append(
                    f"{format_loc(where)}: monitor id {monitor.id!r} is made twice "
                    f"(first by {format_loc(seen[monitor.id])})"
                )
                continue
            seen[monitor.id] = where
            out.append(monitor)
        if errors:
            raise FileProblems(errors)
        return out

    def _monitor(
        self, where: tuple[str | int, ...], raw: dict[str, Any], errors: list[str]
    ) -> MonitorConfig | None:
        try:
            monitor = MonitorConfig.model_validate(raw)
        except ValidationError as exc:
            errors.extend(error_lines(exc, where))
            return None
        # Ten thousand targets from one template share their settings: validate once.
        settings_raw = monitor.probe_settings()
        key = (monitor.type, json.dumps(settings_raw, sort_keys=True, default=str))
        settings = self._settings.get(key)
        if settings is None:
            try:
                settings = PROBE_TYPES[monitor.type].settings.model_validate(settings_raw)
            except ValidationError as exc:
                errors.extend(error_lines(exc, where))
                return None
            self._settings[key] = settings
        return check_monitor(self.config.bus, monitor, where, errors, settings)

    def _from_monitor_file(
        self, path: Path, doc: Any
    ) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
        name = str(path)
        if isinstance(doc, dict):
            unknown = sorted(set(doc) - {"monitors"})
            if unknown:
                raise FileProblems(
                    [f"{name}.{k}: unknown key (a monitor file has monitors only)" for k in unknown]
                )
            prefix: tuple[str | int, ...] = (name, "monitors")
            entries = doc.get("monitors", [])
        else:
            entries, prefix = doc, (name,)
        if not isinstance(entries, list):
            raise FileProblems([f"{format_loc(prefix)}: expected a list of monitors"])
        errors: list[str] = []
        out: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
        for i, entry in enumerate(entries):
            where = (*prefix, i)
            if not isinstance(entry, dict):
                errors.append(f"{format_loc(where)}: expected a table of monitor settings")
                continue
            out.append((where, expand_env(entry, self.env, errors, where)))
        if errors:
            raise FileProblems(errors)
        return out

    def _from_file_sd(
        self, source: DiscoveryConfig, path: Path, doc: Any
    ) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
        name = str(path)
        if not isinstance(doc, list):
            raise FileProblems([f"{name}: expected a list of target groups (Prometheus file_sd)"])
        template = source.template or {}
        errors: list[str] = []
        out: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
        for i, group in enumerate(doc):
            where: tuple[str | int, ...] = (name, i)
            if not isinstance(group, dict) or not isinstance(group.get("targets"), list):
                errors.append(
                    f'{format_loc(where)}: expected {{"targets": [...], "labels": {{...}}}}'
                )
                continue
            labels = group.get("labels") or {}
            if not isinstance(labels, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
            ):
                errors.append(f"{format_loc((*where, 'labels'))}: expected string labels")
                continue
            for j, target in enumerate(group["targets"]):
                at = (*where, "targets", j)
                if not isinstance(target, str) or not target:
                    errors.append(f"{format_loc(at)}: expected a target string")
                    continue
                values = {**labels, "target": target, **_host_port(target)}
                try:
                    raw = render(template, values)
                except KeyError as exc:
                    errors.append(
                        f"{format_loc(at)}: the template says {{{exc.args[0]}}}, "
                        "which this target has no label for"
                    )
                    continue
                raw["id"] = make_id(raw.get("id") or f"{source.id}-{target}")
                raw.setdefault("target", target)
                raw.setdefault("name", target)
                out.append((at, raw))
        if errors:
            raise FileProblems(errors)
        return out


def _host_port(target: str) -> dict[str, str]:
    """``host`` and ``port`` of ``host:port`` or ``[v6]:port`` (empty when absent)."""
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        return {"host": host, "port": rest.removeprefix(":")}
    host, sep, port = target.rpartition(":")
    if not sep or ":" in host or not port.isdigit():
        return {"host": target, "port": ""}
    return {"host": host, "port": port}
