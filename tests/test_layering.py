"""DESIGN.md's arrows: the core imports no I/O libraries and never the shell."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=60,
    ).stdout
    return {line.split(".")[0] for line in out.splitlines()}


def test_sla_engine_imports_no_io() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "sla_engine").rglob("*.py")
        if p.stem != "__init__"
    )
    assert len(modules) > 20
    code = "\n".join(f"import {m}" for m in modules)
    loaded = imported_after(code)
    for forbidden in (
        "aiohttp",
        "sqlalchemy",
        "asyncpg",
        "aiosqlite",
        "aiomqtt",
        "slamon",
        "probes",
        "statuspage",
    ):
        assert forbidden not in loaded, f"sla_engine imported {forbidden}"


@pytest.mark.parametrize("package", ["probes", "statuspage", "sla_engine"])
def test_core_packages_never_import_the_shell(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            assert not stripped.startswith(("import slamon", "from slamon")), f"{path}: {line}"


def test_statuspage_imports_no_database() -> None:
    loaded = imported_after("import statuspage.render, statuspage.snapshot")
    assert "sqlalchemy" not in loaded
    assert "slamon" not in loaded
