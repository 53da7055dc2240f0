"""Compare output with a golden file; ``pytest --update-goldens`` rewrites them instead.

A golden file is a reviewed, hand-checked expectation: a missing one is a failure, in
CI and on a laptop alike, never written silently. Regenerate on purpose with
``.venv/bin/python -m pytest --update-goldens tests/test_x.py``, then read the diff.
"""

from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"

UPDATE = False
"""Set from the ``--update-goldens`` option by ``tests/conftest.py``."""


def assert_golden(name: str, actual: str) -> None:
    """Fail with a diff-friendly assertion when ``actual`` differs from the golden file."""
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    if not path.exists():
        raise AssertionError(
            f"golden file tests/golden/{name} is missing; "
            "write it on purpose with `pytest --update-goldens` and review it"
        )
    # Bytes, not text mode: CSV goldens end their lines in CRLF and that is part of them.
    assert actual == path.read_bytes().decode("utf-8"), f"differs from tests/golden/{name}"
