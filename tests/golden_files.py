"""Compare output with a golden file; UPDATE_GOLDEN=1 rewrites the file instead."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def assert_golden(name: str, actual: str) -> None:
    """Fail with a diff-friendly assertion when ``actual`` differs from the golden file."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        if os.environ.get("CI") and not path.exists():
            raise AssertionError(f"golden file {name} is missing")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    # Bytes, not text mode: CSV goldens end their lines in CRLF and that is part of them.
    assert actual == path.read_bytes().decode("utf-8"), f"differs from tests/golden/{name}"
