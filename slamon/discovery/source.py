"""The configuration a process runs: its file, plus the monitors its sources discover."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from slamon.config.load import parse_config, read_toml, with_monitors
from slamon.discovery.catalog import Catalog

if TYPE_CHECKING:
    from collections.abc import Mapping

    from slamon.config.model import Config
    from slamon.config.monitors import MonitorConfig


class ConfigSource:
    """Loads the config file and its discovered monitors; remembers the file's part.

    ``hash`` is the SHA-256 of the file's bytes as last loaded successfully.
    """

    def __init__(self, path: str | Path, env: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self.env = env
        self.catalog = Catalog(self.path.parent, env)
        self.static: Config | None = None
        self.hash = ""

    def load(self, *, offline: bool = False) -> Config:
        """Read and validate the file and every discovery source; raise ConfigError.

        A relative SQLite path is the file's folder's; ``offline`` as for ``parse_config``.
        """
        data, raw = read_toml(self.path)
        seen: list[Config] = []

        def discover(static: Config) -> list[MonitorConfig]:
            seen.append(static)
            return self.catalog.scan(static)

        config = parse_config(
            data,
            self.env,
            discover=discover,
            offline=offline,
            base_dir=self.path.resolve().parent,
        )
        self.static = seen[0]
        self.hash = hashlib.sha256(raw).hexdigest()
        return config

    def rediscover(self) -> Config:
        """The last loaded file with what its sources find now; raise ConfigError."""
        if self.static is None:
            return self.load()
        return with_monitors(self.static, self.catalog.scan(self.static))
