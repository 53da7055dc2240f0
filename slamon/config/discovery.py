"""``[[discovery]]``: monitors read from files that other tools write.

``kind = "monitors"`` reads slamon's own monitor tables from TOML (``[[monitors]]``)
or JSON (``{"monitors": [...]}`` or a list) files. ``kind = "file_sd"`` reads
Prometheus ``file_sd`` JSON (a list of ``{"targets": [...], "labels": {...}}``) and
makes one monitor per target from ``template``, whose strings may say ``{target}``,
``{host}``, ``{port}`` and ``{<label>}``.
"""

from __future__ import annotations

import hashlib
import re
import string
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from probes.durations import Duration
from slamon.config.common import MonitorId, Section, at_least

_PLACEHOLDER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ID_JUNK = re.compile(r"[^a-z0-9_.-]+")


class DiscoveryConfig(Section):
    """One source of discovered monitors: files (globs), their kind, a template."""

    id: MonitorId
    kind: Literal["monitors", "file_sd"]
    files: list[str] = Field(min_length=1)
    # Files are watched for changes; everything is re-read this often as well.
    refresh: Annotated[Duration, at_least(1, "s")] = 300
    template: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _template(self) -> Self:
        if self.kind == "file_sd":
            if not self.template or "type" not in self.template:
                raise ValueError(
                    'template: a file_sd source needs a monitor template with a "type"'
                )
        elif self.template is not None:
            raise ValueError('template: only kind = "file_sd" takes a template')
        return self


def placeholders(value: object) -> set[str]:
    """The ``{name}`` placeholders used in the strings of ``value``; ValueError if odd."""
    found: set[str] = set()
    if isinstance(value, str):
        try:
            parsed = list(string.Formatter().parse(value))
        except ValueError as exc:
            raise ValueError(f"{exc} in {value!r} (write {{{{ and }}}} for braces)") from None
        for _text, name, spec, conversion in parsed:
            if name is None:
                continue
            if not _PLACEHOLDER_NAME.match(name) or spec or conversion:
                raise ValueError(f"placeholder {{{name}}} in {value!r}: write {{name}} only")
            found.add(name)
    elif isinstance(value, list):
        for item in value:
            found |= placeholders(item)
    elif isinstance(value, dict):
        for item in value.values():
            found |= placeholders(item)
    return found


def render(value: Any, values: dict[str, str]) -> Any:
    """``value`` with every ``{name}`` in its strings replaced from ``values``.

    Raises KeyError naming a placeholder that ``values`` does not have.
    """
    if isinstance(value, str):
        return value.format_map(values) if "{" in value or "}" in value else value
    if isinstance(value, list):
        return [render(v, values) for v in value]
    if isinstance(value, dict):
        return {k: render(v, values) for k, v in value.items()}
    return value


def make_id(text: str) -> str:
    """A monitor id from any text: lowercase, other characters as ``-``, at most 64.

    A text cut to fit keeps a hash of the whole, so two long targets stay apart.
    """
    out = _ID_JUNK.sub("-", text.lower())
    out = re.sub(r"-{2,}", "-", out).strip("-._") or "x"
    if len(out) > 64:
        digest = hashlib.blake2b(text.encode(), digest_size=4).hexdigest()
        out = out[:55].rstrip("-._") + "-" + digest
    return out
