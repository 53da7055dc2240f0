"""The SLA engine is a functional core: importing it pulls in no I/O libraries."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for p in (ROOT / "sla_engine").rglob("*.py")
    if p.stem != "__init__"
)
FORBIDDEN = ("aiohttp", "sqlalchemy", "asyncio", "socket")


def test_the_module_list_is_complete() -> None:
    for name in (
        "accounting.availability",
        "slis.budget",
        "money.credits",
        "reports.explain",
        "time.periods",
        "contracts",
    ):
        assert f"sla_engine.{name}" in MODULES


def test_importing_sla_engine_imports_no_io_libraries() -> None:
    code = (
        f"import sys, {', '.join(MODULES)}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
