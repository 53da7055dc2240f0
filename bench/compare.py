"""Print the latest ledger against the previous one, figure by figure, after calibration.

A figure from the previous ledger is first moved to the latest machine by its
``scales``: ``cpu`` times by the ratio of the ``python_ms`` calibrations, ``rate``
figures by its inverse, ``sqlite`` times by the ratio of ``sqlite_ms``, ``none`` (sizes,
counts, ratios to a peer measured in the same run) not at all. A figure more than 15 %
worse than that is flagged; ``--strict`` then exits with status 1. Each figure's goal
is shown as met or not.

    .venv/bin/python bench/compare.py                       # the two latest in bench/results
    .venv/bin/python bench/compare.py --strict OLD.json NEW.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from ledger import meets  # noqa: E402

RESULTS = BENCH / "results"
WORSE = 0.15
"""A figure is flagged when it is more than this much worse after calibration."""

Ledger = dict[str, Any]


def load(path: Path) -> Ledger:
    """One ledger file."""
    data: Ledger = json.loads(path.read_text())
    data["path"] = str(path)
    return data


def ledgers(results: Path = RESULTS) -> list[Path]:
    """The ledger files under ``results``, oldest first (by start time, date, then name)."""

    def order(path: Path) -> tuple[str, str]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return ("", path.name)
        return (str(data.get("started") or data.get("date") or ""), path.name)

    return sorted(results.glob("*.json"), key=order)


def figures(ledger: Ledger) -> dict[str, dict[str, Any]]:
    """The ledger's figures by name; a name two runs share gets the run in brackets."""
    lines = ledger.get("figures", [])
    counts: dict[str, int] = {}
    for line in lines:
        counts[line["figure"]] = counts.get(line["figure"], 0) + 1
    out: dict[str, dict[str, Any]] = {}
    for line in lines:
        key = line["figure"]
        if counts[key] > 1 and line.get("run"):
            key = f"{key} ({line['run']})"
        out[key] = line
    return out


def adjusted(previous: float, scales: str, before: Ledger, now: Ledger) -> float:
    """``previous`` as it would read on the machine that produced ``now``."""
    if scales == "none":
        return previous
    key = "sqlite_ms" if scales == "sqlite" else "python_ms"
    old, new = before["calibration"][key], now["calibration"][key]
    if not old or not new:
        return previous
    factor = new / old
    return previous / factor if scales == "rate" else previous * factor


def worse_by(value: float, reference: float, better: str) -> float | None:
    """How much worse ``value`` is than ``reference`` (0.2 = 20 % worse; negative is better).

    None when the reference is not positive: a ratio to zero or a negative growth says
    nothing; such figures are judged by their goal alone."""
    if reference <= 0 or value < 0:
        return None
    if better == "lower":
        return value / reference - 1
    return 1 - value / reference


@dataclass(frozen=True)
class Row:
    """One figure of the latest ledger, with its previous value moved to this machine."""

    name: str
    value: float
    unit: str
    goal: str | None
    met: bool | None
    previous: float | None
    reference: float | None
    change: float | None
    flagged: bool


def compare(before: Ledger | None, now: Ledger) -> list[Row]:
    """A row per figure of ``now``; ``flagged`` when over 15 % worse than ``before``."""
    old = figures(before) if before is not None else {}
    rows = []
    for name, line in figures(now).items():
        value = float(line["value"])
        prev = old.get(name)
        reference = change = None
        if prev is not None and before is not None:
            reference = adjusted(float(prev["value"]), line["scales"], before, now)
            change = worse_by(value, reference, line["better"])
        rows.append(
            Row(
                name=name,
                value=value,
                unit=line.get("unit", ""),
                goal=line.get("goal"),
                met=meets(value, line.get("goal")),
                previous=float(prev["value"]) if prev is not None else None,
                reference=reference,
                change=change,
                flagged=change is not None and change > WORSE,
            )
        )
    return rows


def fmt(value: float | None) -> str:
    """A figure as people read it: grouped thousands, three significant digits below 10."""
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def met_text(met: bool | None) -> str:
    """``yes``, ``NO`` or ``-`` (no goal)."""
    return "-" if met is None else ("yes" if met else "NO")


def print_rows(before: Ledger | None, now: Ledger, rows: list[Row]) -> None:
    """The comparison as a plain-text table."""

    def head(ledger: Ledger) -> str:
        cal = ledger["calibration"]
        load = ledger.get("machine", {}).get("load_before", [])
        return (
            f"{Path(ledger['path']).name} ({ledger.get('date')}, commit {ledger.get('commit')}; "
            f"python_ms {cal.get('python_ms')}, sqlite_ms {cal.get('sqlite_ms')}; load {load})"
        )

    print(f"latest:   {head(now)}")
    print(f"previous: {head(before)}" if before else "previous: none (nothing to compare with)")
    width = max([len(r.name) for r in rows] + [6])
    print(
        f"\n{'figure':<{width}}  {'previous':>10}  {'adjusted':>10}  {'latest':>10}  "
        f"{'change':>7}  {'goal':>10}  met"
    )
    for r in rows:
        change = (
            "new" if r.previous is None else ("n/a" if r.change is None else f"{r.change:+.0%}")
        )
        flag = "  <-- WORSE by more than 15 %" if r.flagged else ""
        print(
            f"{r.name:<{width}}  {fmt(r.previous):>10}  {fmt(r.reference):>10}  "
            f"{fmt(r.value):>10}  {change:>7}  {r.goal or '-':>10}  {met_text(r.met)}"
            f" {r.unit}{flag}"
        )
    if before is not None:
        gone = sorted(set(figures(before)) - {r.name for r in rows})
        for name in gone:
            print(f"{name:<{width}}  no longer in the latest ledger")
    for item in now.get("missing", []):
        print(f"missing: {item['bench']}: {item['why']}")
    flagged = [r.name for r in rows if r.flagged]
    unmet = [r.name for r in rows if r.met is False]
    print(
        f"\n{len(rows)} figures; {len(flagged)} more than 15 % worse"
        + (f" ({', '.join(flagged)})" if flagged else "")
        + f"; {len(unmet)} short of their goal"
        + (f" ({', '.join(unmet)})" if unmet else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="PREVIOUS LATEST (default: the two latest)")
    parser.add_argument("--results", default=str(RESULTS), help="where ledgers are")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure is flagged")
    args = parser.parse_args(argv)
    if len(args.files) == 2:
        before, now = load(Path(args.files[0])), load(Path(args.files[1]))
    elif len(args.files) == 1:
        before, now = None, load(Path(args.files[0]))
    elif args.files:
        parser.error("give PREVIOUS LATEST, LATEST alone, or nothing")
    else:
        found = ledgers(Path(args.results))
        if not found:
            print(f"no ledger in {args.results}: run `make bench` first")
            return 1
        now = load(found[-1])
        before = load(found[-2]) if len(found) > 1 else None
    rows = compare(before, now)
    print_rows(before, now, rows)
    return 1 if args.strict and any(r.flagged for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
