"""Writing a built site to a folder, swapped in atomically.

``OUT`` is a symbolic link to the current build, ``OUT.builds/<stamp>``: a build is
written in full to a new folder beside the others, then a new link is made under a
temporary name and renamed over ``OUT`` (``rename(2)`` replaces it in one step), so a web
server or a sync to a CDN never sees half a site. The previous build is kept (a reader
that resolved the old link a moment ago can still open its files); older ones are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

KEEP_BUILDS = 2


STALE_STAGING = 600.0  # seconds


class SiteFolderError(Exception):
    """The output folder cannot be used (it is a real folder slamon did not make)."""


def write_site(
    files: Mapping[str, bytes],
    out: str | Path,
    now: datetime | None = None,
    *,
    prune: bool = True,
    unchanged: Callable[[str, bytes], Path | None] | None = None,
) -> Path:
    """Write ``files`` to a new build folder and point the link ``out`` at it atomically.

    Returns the build folder. ``out`` may not exist yet, may be a link a previous build
    made, or an empty folder; a non-empty real folder is refused, never deleted. With
    ``prune``, builds older than the previous one are removed after the swap.
    ``unchanged(path, data)`` may name an existing file with those very bytes (in a
    previous build): it is hard-linked instead of written again.
    """
    out = Path(out)
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_symlink():
        if not out.is_dir() or any(out.iterdir()):
            raise SiteFolderError(
                f"{out} exists and is not a link to a slamon build; remove it or choose "
                "another --out"
            )
        out.rmdir()
    builds = parent / f"{out.name}.builds"
    builds.mkdir(exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%f")
    build = builds / f"{stamp}-{os.getpid()}"
    staging = builds / f".tmp-{build.name}"
    try:
        made: set[Path] = set()
        for path, data in files.items():
            target = staging / path
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            same = unchanged(path, data) if unchanged is not None else None
            if same is not None:
                try:
                    os.link(same, target)
                    continue
                except OSError:  # gone meanwhile, or links not allowed here: write it
                    pass
            target.write_bytes(data)
        staging.rename(build)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    link = parent / f".{out.name}.tmp-{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path(builds.name) / build.name, target_is_directory=True)
    link.replace(out)
    if prune:
        prune_builds(out)
    return build


class SiteWriter:
    """Writes builds of one site, hard-linking each file whose bytes the last build had.

    It keeps a digest of every file it wrote (not the bytes): a page that did not change
    is linked from the previous build, not written again.
    """

    def __init__(self) -> None:
        self._last: tuple[Path, dict[str, bytes]] | None = None
        self.linked = 0  # files of the last build linked, not written

    def write(
        self,
        files: Mapping[str, bytes],
        out: str | Path,
        now: datetime | None = None,
        *,
        prune: bool = True,
    ) -> Path:
        """:func:`write_site`, linking what is unchanged since this writer's last build."""
        digests = {
            path: hashlib.blake2b(data, digest_size=16).digest() for path, data in files.items()
        }
        last = self._last
        linked = 0

        def unchanged(path: str, _data: bytes) -> Path | None:
            nonlocal linked
            if last is not None and last[1].get(path) == digests[path]:
                linked += 1
                return last[0] / path
            return None

        build = write_site(files, out, now, prune=prune, unchanged=unchanged)
        self._last = (build, digests)
        self.linked = linked
        return build


def prune_builds(out: str | Path) -> None:
    """Remove the builds of ``out`` but the current and the previous one, and leftovers."""
    out = Path(out)
    builds = out.parent / f"{out.name}.builds"
    current = Path(os.readlink(out)).name if out.is_symlink() else ""
    done = sorted(p for p in builds.iterdir() if not p.name.startswith(".tmp-"))
    for old in done[:-KEEP_BUILDS]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
    # A staging folder is another writer's work in progress, unless it is old: then it
    # was left by a crash.
    for stale in builds.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if time.time() - stale.stat().st_mtime > STALE_STAGING:
                shutil.rmtree(stale, ignore_errors=True)
