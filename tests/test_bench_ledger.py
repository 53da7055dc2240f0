"""The performance ledger: figures recorded, goals judged, calibration applied, README kept."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import compare  # noqa: E402
import ledger  # noqa: E402


def test_record_appends_one_json_line_per_figure(tmp_path: Path) -> None:
    path = tmp_path / "lines"
    ledger.record(path, "x.rss_mb", 12, unit="MB", goal="<= 300", scales="none", command="c")
    ledger.record(path, "x.rate", 5.5, unit="/s", better="higher", scales="rate")
    ledger.record(None, "x.nothing", 1, unit="s")  # no ledger: nothing written
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {
            "figure": "x.rss_mb",
            "value": 12.0,
            "unit": "MB",
            "goal": "<= 300",
            "better": "lower",
            "scales": "none",
            "command": "c",
        },
        {
            "figure": "x.rate",
            "value": 5.5,
            "unit": "/s",
            "goal": None,
            "better": "higher",
            "scales": "rate",
            "command": "",
        },
    ]


@pytest.mark.parametrize(
    "kwargs", [{"better": "faster"}, {"scales": "gpu"}], ids=["bad-better", "bad-scales"]
)
def test_record_refuses_unknown_directions(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ledger.record(tmp_path / "lines", "x", 1, unit="s", **kwargs)


@pytest.mark.parametrize(
    ("value", "goal", "met"),
    [
        (300, "<= 300", True),
        (300.1, "<= 300", False),
        (10, "< 10", False),
        (9.9, "< 10", True),
        (20000, ">= 20000", True),
        (0.5, "> 0.5", False),
        (1, None, None),
        (1, "", None),
    ],
)
def test_meets(value: float, goal: str | None, met: bool | None) -> None:
    assert ledger.meets(value, goal) is met


def test_meets_refuses_a_goal_it_cannot_read() -> None:
    with pytest.raises(ValueError):
        ledger.meets(1, "== 1")


def test_calibration_times_both_workloads() -> None:
    cal = ledger.calibration()
    assert set(cal) == {"python_ms", "sqlite_ms"}
    assert cal["python_ms"] > 0 and cal["sqlite_ms"] > 0


def _ledger(python_ms: float, sqlite_ms: float, **values: tuple[float, str, str]) -> dict[str, Any]:
    return {
        "path": "x.json",
        "date": "2026-12-05",
        "commit": "abc1234",
        "calibration": {"python_ms": python_ms, "sqlite_ms": sqlite_ms},
        "figures": [
            {
                "figure": name,
                "value": value,
                "unit": "",
                "goal": None,
                "better": better,
                "scales": scales,
                "command": "",
            }
            for name, (value, better, scales) in values.items()
        ],
    }


def test_compare_flags_what_is_worse_after_calibration_not_a_slower_machine() -> None:
    before = _ledger(
        100,
        50,
        cpu_slower_machine=(1.0, "lower", "cpu"),
        cpu_regressed=(1.0, "lower", "cpu"),
        rate_slower_machine=(1000, "higher", "rate"),
        rate_regressed=(1000, "higher", "rate"),
        sqlite_slower_machine=(2.0, "lower", "sqlite"),
        sqlite_regressed=(2.0, "lower", "sqlite"),
        size_same=(100, "lower", "none"),
        size_regressed=(100, "lower", "none"),
        size_better=(100, "lower", "none"),
    )
    # The machine is twice as slow for Python and three times for SQLite.
    now = _ledger(
        200,
        150,
        cpu_slower_machine=(2.2, "lower", "cpu"),  # +10 % after calibration
        cpu_regressed=(2.4, "lower", "cpu"),  # +20 %
        rate_slower_machine=(450, "higher", "rate"),  # -10 % of the expected 500
        rate_regressed=(400, "higher", "rate"),  # -20 %
        sqlite_slower_machine=(6.5, "lower", "sqlite"),  # +8 % of the expected 6
        sqlite_regressed=(7.0, "lower", "sqlite"),  # +17 %
        size_same=(114, "lower", "none"),  # sizes do not scale: +14 %
        size_regressed=(116, "lower", "none"),
        size_better=(50, "lower", "none"),
        brand_new=(1.0, "lower", "cpu"),
    )
    rows = {r.name: r for r in compare.compare(before, now)}
    flagged = {name for name, r in rows.items() if r.flagged}
    assert flagged == {"cpu_regressed", "rate_regressed", "sqlite_regressed", "size_regressed"}
    assert rows["cpu_slower_machine"].reference == pytest.approx(2.0)
    assert rows["rate_slower_machine"].reference == pytest.approx(500)
    assert rows["sqlite_slower_machine"].reference == pytest.approx(6.0)
    assert rows["size_better"].change == pytest.approx(-0.5)
    assert rows["brand_new"].previous is None and not rows["brand_new"].flagged


def test_compare_strict_exits_1_only_when_something_is_flagged(tmp_path: Path) -> None:
    before = _ledger(100, 50, t=(1.0, "lower", "cpu"))
    ok = _ledger(100, 50, t=(1.1, "lower", "cpu"))
    bad = _ledger(100, 50, t=(1.2, "lower", "cpu"))
    paths = {}
    for name, data in (("before", before), ("ok", ok), ("bad", bad)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(data))
    assert compare.main(["--strict", str(paths["before"]), str(paths["ok"])]) == 0
    assert compare.main(["--strict", str(paths["before"]), str(paths["bad"])]) == 1
    assert compare.main([str(paths["before"]), str(paths["bad"])]) == 0  # flagged, not strict


def _readme_check(readme: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / "readme_table.py"), "--check", "--readme", str(readme)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_readme_table_is_the_latest_ledger_and_check_catches_a_hand_edit(tmp_path: Path) -> None:
    latest = compare.ledgers()[-1]
    done = _readme_check(ROOT / "README.md")
    assert done.returncode == 0, done.stdout + done.stderr
    copy = tmp_path / "README.md"
    shutil.copy(ROOT / "README.md", copy)
    text = copy.read_text()
    begin, end = text.index("<!-- perf-table:begin -->"), text.index("<!-- perf-table:end -->")
    key = next(iter(compare.figures(compare.load(latest))))
    row = next(line for line in text[begin:end].splitlines() if f"`{key}`" in line)
    value_cell = row.split("|")[2]
    edited = row.replace(value_cell, " 0.001 ", 1)
    assert edited != row
    copy.write_text(text.replace(row, edited))
    done = _readme_check(copy)
    assert done.returncode == 1, done.stdout
    assert "not what" in done.stdout
