"""Every discovery source's files, read once per change; a bad file is skipped whole.

A file is read again only when its size, mtime or inode changed, and parsed again only
when its bytes did. A file with any problem is reported (once per content) and its
previous good monitors, if it had any, stay in place: never half of a file. A file
that is gone takes its monitors with it. A monitor id already used by the config or
by an earlier file (sources in order, files by name) makes the later file bad.
"""

from __future__ import annotations

import glob
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from slamon.discovery.formats import FileProblems, Reader

if TYPE_CHECKING:
    from collections.abc import Mapping

    from slamon.config.discovery import DiscoveryConfig
    from slamon.config.model import Config
    from slamon.config.monitors import MonitorConfig

log = logging.getLogger("slamon.discovery")


@dataclass
class _File:
    """What one file of one source gave last time."""

    stat: tuple[int, int, int]
    digest: bytes
    monitors: list[MonitorConfig]  # the last good ones (kept while the file is bad)
    errors: list[str] = field(default_factory=list)


@dataclass
class SourceStatus:
    """Per source, for /metrics: files read, files with problems, monitors found."""

    files: int = 0
    bad_files: int = 0
    monitors: int = 0
    read_errors: int = 0


class Catalog:
    """The monitors of every ``[[discovery]]`` source, file by file."""

    def __init__(self, base: Path, env: Mapping[str, str] | None = None) -> None:
        self.base = base
        self.env = env
        self._files: dict[tuple[str, Path], _File] = {}
        # Per source: each entry (canonical JSON) and the monitor made of it last scan.
        self._made: dict[str, dict[str, MonitorConfig]] = {}
        self._clashes: set[str] = set()
        self.status: dict[str, SourceStatus] = {}
        self._reading: tuple[dict[str, MonitorConfig], dict[str, MonitorConfig]] = ({}, {})

    def paths(self, source: DiscoveryConfig) -> list[Path]:
        """The files a source names now (globs expanded, relative to the config's folder)."""
        out: set[Path] = set()
        for pattern in source.files:
            full = pattern if Path(pattern).is_absolute() else str(self.base / pattern)
            out.update(Path(p) for p in glob.glob(full) if Path(p).is_file())
        return sorted(out)

    def directories(self, config: Config) -> list[Path]:
        """The folders to watch for every source's files."""
        dirs = set()
        for source in config.discovery:
            for pattern in source.files:
                full = Path(pattern) if Path(pattern).is_absolute() else self.base / pattern
                parent = full.parent
                while glob.has_magic(str(parent)):
                    parent = parent.parent
                dirs.add(parent)
        return sorted(dirs)

    def scan(self, config: Config) -> list[MonitorConfig]:
        """Read what changed of every source of ``config``; return all monitors found."""
        reader = Reader(config, self.env)
        used = {m.id: "the config file" for m in config.monitors}
        found: list[MonitorConfig] = []
        kept: dict[tuple[str, Path], _File] = {}
        made: dict[str, dict[str, MonitorConfig]] = {}
        clashes: set[str] = set()
        status: dict[str, SourceStatus] = {}
        for source in config.discovery:
            # The source's settings (and the bus, which monitors are checked against)
            # are part of the key: a new template renders anew.
            skey = source.model_dump_json() + config.bus.model_dump_json()
            self._reading = (self._made.get(skey, {}), made.setdefault(skey, {}))
            st = status[source.id] = SourceStatus(
                read_errors=self.status.get(source.id, SourceStatus()).read_errors
            )
            for path in self.paths(source):
                entry = self._read(reader, source, skey, path, st)
                if entry is None:
                    continue
                kept[(skey, path)] = entry
                st.files += 1
                monitors = entry.monitors
                clash = next((m for m in monitors if m.id in used), None)
                if clash is not None:
                    problem = (
                        f"{path}: monitor id {clash.id!r} is already used by {used[clash.id]}; "
                        "the file is skipped"
                    )
                    clashes.add(problem)
                    if problem not in self._clashes:
                        log.error("discovery %s: %s", source.id, problem)
                        st.read_errors += 1
                    st.bad_files += 1
                    continue
                if entry.errors:
                    st.bad_files += 1
                for m in monitors:
                    used[m.id] = str(path)
                found.extend(monitors)
                st.monitors += len(monitors)
        self._files = kept
        # Unchanged files were not parsed this scan: keep what they were made of too,
        # as long as those monitors are still found.
        ids = {m.id for m in found}
        self._made = {
            skey: {k: m for k, m in {**self._made.get(skey, {}), **new}.items() if m.id in ids}
            for skey, new in made.items()
        }
        self._clashes = clashes
        self.status = status
        return found

    def problems(self) -> list[str]:
        """What is wrong with the files now (each line names its file)."""
        out = [e for f in self._files.values() for e in f.errors]
        return out + sorted(self._clashes)

    def _read(
        self, reader: Reader, source: DiscoveryConfig, skey: str, path: Path, st: SourceStatus
    ) -> _File | None:
        old = self._files.get((skey, path))
        try:
            s = path.stat()
            stat = (s.st_mtime_ns, s.st_size, s.st_ino)
            if old is not None and old.stat == stat:
                return old
            data = path.read_bytes()
        except OSError as exc:
            log.error("discovery %s: %s: cannot read: %s", source.id, path, exc.strerror)
            st.read_errors += 1
            return old
        digest = hashlib.sha256(data).digest()
        if old is not None and old.digest == digest:
            old.stat = stat
            return old
        try:
            monitors = reader.read(source, path, data, *self._reading)
        except FileProblems as exc:
            st.read_errors += 1
            log.error(
                "discovery %s: %s is skipped%s:\n  %s",
                source.id,
                path,
                " (its previous monitors stay)" if old is not None and old.monitors else "",
                "\n  ".join(exc.errors),
            )
            return _File(stat, digest, old.monitors if old is not None else [], exc.errors)
        return _File(stat, digest, monitors)
