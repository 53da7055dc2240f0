"""Write README's performance table from the latest ledger (never typed by hand).

The table sits between ``<!-- perf-table:begin -->`` and ``<!-- perf-table:end -->``:
figure, value, goal, whether it is met and the command, then the ledger's date,
commit, calibration and load. ``--check`` changes nothing and exits with status 1
when README's table is not what the latest ledger gives.

    .venv/bin/python bench/readme_table.py            # rewrite the table
    .venv/bin/python bench/readme_table.py --check    # is it up to date?
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from compare import RESULTS, Ledger, figures, fmt, ledgers, load, met_text  # noqa: E402
from ledger import meets  # noqa: E402

README = BENCH.parent / "README.md"
BEGIN = "<!-- perf-table:begin -->"
END = "<!-- perf-table:end -->"


def table(ledger: Ledger, name: str) -> str:
    """The markdown between the markers for ``ledger`` (whose file is called ``name``)."""
    lines = [
        "| figure | value | goal | met? | command |",
        "|---|---:|---|---|---|",
    ]
    for key, line in figures(ledger).items():
        value = float(line["value"])
        unit = line.get("unit", "")
        goal = line.get("goal")
        lines.append(
            f"| `{key}` | {fmt(value)} {unit} | {goal + ' ' + unit if goal else '-'} | "
            f"{met_text(meets(value, goal))} | `{line.get('command', '')}` |"
        )
    machine = ledger.get("machine", {})
    cal = ledger.get("calibration", {})
    before = " ".join(f"{x:.2f}" for x in machine.get("load_before", []))
    after = " ".join(f"{x:.2f}" for x in machine.get("load_after", []))
    lines.append("")
    lines.append(
        f"From `bench/results/{name}`: {ledger.get('date')}, commit {ledger.get('commit')}"
        f"{' (with uncommitted changes)' if ledger.get('dirty') else ''}, "
        f"{machine.get('nproc')} CPUs, Python {machine.get('python')}; calibration "
        f"python_ms {cal.get('python_ms')}, sqlite_ms {cal.get('sqlite_ms')}; "
        f"load average before {before}, after {after}."
    )
    if ledger.get("missing"):
        lines.append("")
    for item in ledger.get("missing", []):
        lines.append(f"- not in this ledger: {item['bench']} ({item['why']}).")
    return "\n".join(lines)


def render(readme: str, block: str) -> str:
    """``readme`` with the text between the markers replaced by ``block``."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"README has no {BEGIN} ... {END} markers")
    return readme[: start + len(BEGIN)] + "\n" + block + "\n" + readme[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README is stale")
    parser.add_argument("--readme", default=str(README))
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)
    found = ledgers(Path(args.results))
    if not found:
        print(f"no ledger in {args.results}: run `make bench` first")
        return 1
    readme_path = Path(args.readme)
    text = readme_path.read_text()
    wanted = render(text, table(load(found[-1]), found[-1].name))
    if args.check:
        if wanted != text:
            print(f"{readme_path}: the performance table is not what {found[-1].name} gives;")
            print("run .venv/bin/python bench/readme_table.py")
            return 1
        print(f"{readme_path}: the performance table matches {found[-1].name}")
        return 0
    if wanted != text:
        readme_path.write_text(wanted)
        print(f"{readme_path}: performance table written from {found[-1].name}")
    else:
        print(f"{readme_path}: performance table already matches {found[-1].name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
