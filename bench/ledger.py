"""The performance ledger: every bench records its figures here, with a calibration.

A bench run as ``--ledger FILE`` appends one JSON line per figure to FILE (``record``);
``make bench`` gathers those lines, with a machine calibration measured in the same run,
into ``bench/results/<date>-<commit>.json``. Figures from different days or machines are
compared after dividing by the calibration (``calibration()``: a fixed pure-Python loop
and a fixed SQLite workload), never raw.

A figure line::

    {"figure": "probe_throughput.rss_peak_mb", "value": 212.4, "unit": "MB",
     "goal": "<= 300", "better": "lower", "scales": "cpu", "command": "bench/..."}

``better`` says which way is an improvement; ``scales`` says how the figure moves with a
slower machine: ``cpu`` (times: divide by the CPU calibration), ``rate`` (throughputs:
multiply by it), ``sqlite`` (store-bound times), ``none`` (sizes, counts, ratios to a
peer measured in the same run, which need no calibration).
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

SCALES = ("cpu", "rate", "sqlite", "none")


def record(
    path: str | os.PathLike[str] | None,
    figure: str,
    value: float,
    *,
    unit: str,
    goal: str | None = None,
    better: str = "lower",
    scales: str = "cpu",
    command: str = "",
) -> None:
    """Append one figure to the ledger lines at ``path`` (nothing when ``path`` is None).

    ``goal`` is a comparison as text (``"<= 300"``, ``">= 20000"``) or None."""
    if path is None:
        return
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', not {better!r}")
    if scales not in SCALES:
        raise ValueError(f"scales must be one of {SCALES}, not {scales!r}")
    line = {
        "figure": figure,
        "value": float(value),
        "unit": unit,
        "goal": goal,
        "better": better,
        "scales": scales,
        "command": command,
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")


def meets(value: float, goal: str | None) -> bool | None:
    """Whether ``value`` meets a goal such as ``"<= 300"`` (None when there is none)."""
    if not goal:
        return None
    op, _, bound = goal.partition(" ")
    limit = float(bound)
    ops = {"<=": value <= limit, "<": value < limit, ">=": value >= limit, ">": value > limit}
    if op not in ops:
        raise ValueError(f"goal {goal!r}: expected '<=', '<', '>=' or '>' and a number")
    return ops[op]


def calibration() -> dict[str, float]:
    """Milliseconds of CPU for two fixed workloads, best of three each.

    ``python_ms``: a 3M-iteration arithmetic loop. ``sqlite_ms``: 50,000 inserts in
    batches of 500 into a file database with an index, then an aggregate over them."""
    python_ms = min(_python_loop() for _ in range(3))
    sqlite_ms = min(_sqlite_work() for _ in range(3))
    return {"python_ms": round(python_ms, 1), "sqlite_ms": round(sqlite_ms, 1)}


def _python_loop() -> float:
    cpu = time.process_time()
    total = 0
    for i in range(3_000_000):
        total += i * i % 7
    return (time.process_time() - cpu) * 1000


def _sqlite_work() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "calibration.db")
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, m TEXT, t REAL, up INTEGER)")
            db.execute("CREATE INDEX r_m_t ON r (m, t)")
            rows = [(f"m{i % 100}", i * 0.5, i % 3 != 0) for i in range(50_000)]
            cpu = time.process_time()
            for k in range(0, len(rows), 500):
                db.executemany("INSERT INTO r (m, t, up) VALUES (?, ?, ?)", rows[k : k + 500])
                db.commit()
            db.execute("SELECT m, avg(up), count(*) FROM r GROUP BY m").fetchall()
            return (time.process_time() - cpu) * 1000
        finally:
            db.close()


if __name__ == "__main__":
    print(json.dumps(calibration()))
