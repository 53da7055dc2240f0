"""``[statuspage]``: the public page's title, zone, language, address and output."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    field_validator,
)

from probes.durations import Duration
from slamon.config.common import Section, at_least


class StatusPageConfig(Section):
    """What the public status page says about itself, and where its files go.

    ``refresh`` is how often the running service rebuilds the site (it also rebuilds
    on every state change); ``output``, when set, is the folder it writes the site
    to; ``url`` is the page's public address, used for absolute links in the feed
    and the JSON. ``render_worker`` is where a rebuild computes and renders:
    ``process`` is a separate process at a lower CPU priority, so that a large site
    never takes CPU from ingestion; ``thread`` is in the service's own process;
    ``auto`` (the default) is a process from 200 components on.
    """

    title: str = "Service status"
    render_worker: Literal["auto", "process", "thread"] = "auto"
    description: str = ""
    timezone: str = "UTC"
    refresh: Annotated[Duration, at_least(1, "s")] = 10
    language: Literal["en", "nb"] = "en"
    url: str = ""
    output: str = ""

    @field_validator("url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be the page's public http(s):// address, or empty")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value
