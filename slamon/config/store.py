"""``[store]``: the database, retention and the writer's batching."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import (
    Field,
    field_validator,
)

from probes.durations import Duration
from slamon.config.common import Section, at_least

_SQLITE = "sqlite+aiosqlite:///"


class StoreConfig(Section):
    """Where results and intervals are kept."""

    url: str = "sqlite+aiosqlite:///slamon.db"
    retention: Annotated[Duration, at_least(7200, "s (2h: rollups are rebuilt from it)")] = (
        7 * 86400
    )
    batch_size: int = Field(default=2000, ge=1, le=100_000)
    flush_interval: Annotated[Duration, at_least(0.01, "s")] = 0.5
    # Results waiting for the database beyond this are dropped, oldest first.
    max_pending: int = Field(default=500_000, ge=100, le=100_000_000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must be a sqlite+aiosqlite:// or postgresql+asyncpg:// SQLAlchemy URL"
            )
        return value

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None (PostgreSQL, or an in-memory database)."""
        if not self.url.startswith(_SQLITE):
            return None
        path = self.url.removeprefix(_SQLITE).partition("?")[0]
        if not path or path == ":memory:" or path.startswith("file:"):
            return None
        return Path(path)

    def relative_to(self, base: Path) -> StoreConfig:
        """This section with a relative SQLite path made absolute under ``base``.

        ``sqlite+aiosqlite:///slamon.db`` means ``slamon.db`` beside the config file:
        resolved against the current folder, a command run from elsewhere would
        create an empty database there and report on it.
        """
        path = self.sqlite_path
        if path is None or path.is_absolute():
            return self
        rest = self.url.removeprefix(_SQLITE).partition("?")
        url = _SQLITE + str(base / path) + rest[1] + rest[2]
        return self.model_copy(update={"url": url})
