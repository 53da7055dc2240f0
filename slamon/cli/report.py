"""``slamon report ...``: credits, availability, finalize, whatif, suggest."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from slamon.cli.common import Subparsers, load, with_config

FORMATS = ("table", "csv", "json")


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")


def _emit(outputs: Sequence[tuple[str, str]], output: str | None) -> None:
    """Print ``outputs`` (name suffix, text) or write them next to ``output`` with a .sha256."""
    from slamon.reports.entries import sha256_of

    if output is None:
        sys.stdout.write("".join(text for _, text in outputs))
        sys.stdout.flush()
        for suffix, text in outputs:
            print(f"sha256{suffix and ' ' + suffix}: {sha256_of(text)}", file=sys.stderr)
        return
    base = Path(output)
    lines = []
    for suffix, text in outputs:
        path = base.with_name(base.stem + suffix + base.suffix) if suffix else base
        _write(path, text)
        lines.append(f"{sha256_of(text)}  {path.name}\n")
        print(f"wrote {path}", file=sys.stderr)
    sums = base.with_name(base.name + ".sha256")
    _write(sums, "".join(lines))
    print(f"wrote {sums}", file=sys.stderr)


def _emit_or_fail(outputs: Sequence[tuple[str, str]], output: str | None) -> int:
    try:
        _emit(outputs, output)
    except OSError as exc:
        return _fail(f"cannot write {exc.filename}: {exc.strerror}", 1)
    return 0


def _run(coro_factory: Callable[[Any], Any], args: argparse.Namespace) -> Any:
    from slamon.reports.finalize import settle_startup
    from slamon.reports.gather import ReportError
    from slamon.store import migrate
    from slamon.store.sql import Store

    config = load(args.config, offline=True)
    settle_startup()
    path = config.store.sqlite_path
    if path is not None and not path.exists():
        # Opening it would create an empty database and report on nothing.
        raise ReportError(
            f"store.url: no database at {path}; run `slamon db upgrade` or `slamon run` "
            "with this config first"
        )

    async def go() -> Any:
        store = Store.from_url(config.store.url)
        try:
            await migrate.upgrade(store.engine)
            return await coro_factory((config, store))
        finally:
            await store.close()

    return asyncio.run(go())


def _fail(message: str, status: int = 2) -> int:
    print(f"slamon: {message}", file=sys.stderr)
    return status


def _cmd_report(args: argparse.Namespace) -> int:
    from slamon.reports.finalize import build_report, now_utc
    from slamon.reports.gather import ReportError
    from slamon.reports.render import (
        render_csv,
        render_csv_detail,
        render_csv_summary,
        render_json,
        render_table,
    )

    now = now_utc()
    try:
        report = _run(
            lambda cs: build_report(
                cs[0], cs[1], args.kind, args.period, now, contract_id=args.contract
            ),
            args,
        )
    except ReportError as exc:
        return _fail(str(exc))
    if args.format == "json":
        return _emit_or_fail([("", render_json(report))], args.output)
    if args.format == "csv":
        if args.output is None:
            return _emit_or_fail([("", render_csv(report))], None)
        return _emit_or_fail(
            [("", render_csv_summary(report)), (".detail", render_csv_detail(report))],
            args.output,
        )
    return _emit_or_fail([("", render_table(report, explain=args.explain))], args.output)


def _cmd_finalize(args: argparse.Namespace) -> int:
    from slamon.reports.finalize import finalize, now_utc
    from slamon.reports.gather import ReportError
    from slamon.store.finalized import AlreadyFinalized

    if args.accept_insufficient_data and not (args.reason or "").strip():
        return _fail("--accept-insufficient-data needs --reason TEXT: say why it is finalized")
    if args.reason is not None and not args.accept_insufficient_data:
        return _fail("--reason goes with --accept-insufficient-data")
    accepted = args.reason if args.accept_insufficient_data else None
    now = now_utc()
    try:
        report = _run(
            lambda cs: finalize(
                cs[0],
                cs[1],
                args.period,
                now,
                contract_id=args.contract,
                accept_insufficient_data=accepted,
            ),
            args,
        )
    except ReportError as exc:
        return _fail(str(exc))
    except AlreadyFinalized as exc:
        return _fail(
            f"{exc}; a finalized report is never replaced: the report commands show how "
            "today's figures differ from it",
            1,
        )
    for e in report.entries:
        assert e.finalized is not None
        note = ""
        if "insufficient_data_accepted" in e.data:
            note = (
                f" (insufficient data accepted: {e.data['insufficient_data_accepted']['reason']})"
            )
        print(
            f"{e.report.contract.id} {e.report.period.label}: finalized at "
            f"{e.finalized.finalized_at.isoformat()} sha256 {e.finalized.sha256}{note}"
        )
    return 0


def _cmd_whatif(args: argparse.Namespace) -> int:
    from sla_engine.reports.whatif import EXPECTED_FIELDS, CaseError, evaluate_case

    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        return _fail(f"{args.file}: cannot read: {exc.strerror}")
    except json.JSONDecodeError as exc:
        return _fail(f"{args.file}: not valid JSON: {exc}")
    cases = data if isinstance(data, list) else [data]
    results = []
    try:
        for i, case in enumerate(cases):
            if not isinstance(case, dict):
                return _fail(f"{args.file}: case {i}: expected an object")
            results.append(evaluate_case(case, i))
    except CaseError as exc:
        return _fail(f"{args.file}: {exc}")
    if args.format == "json":
        out = [{"id": r.id, **r.fields} for r in results]
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        return 0
    fields = [f for f in EXPECTED_FIELDS if any(f in r.fields for r in results)]
    rows = [["id", *fields]]
    for r in results:
        rows.append([r.id, *(_cell(r.fields.get(f)) for f in fields)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if k == 0:
            print("  ".join("-" * w for w in widths))
    if args.explain:
        for r in results:
            print(f"\n== {r.id}")
            print("\n".join(r.lines))
    return 0


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _cmd_suggest(args: argparse.Namespace) -> int:
    from slamon.reports.finalize import now_utc
    from slamon.reports.gather import ReportError
    from slamon.reports.suggest import render_suggestion, suggest

    now = now_utc()
    try:
        targets = [Decimal(t) for t in args.targets.split(",")] if args.targets else None
    except ArithmeticError:
        return _fail(f"--targets: expected decimals separated by commas, got {args.targets!r}")
    try:
        suggestion = _run(
            lambda cs: suggest(
                cs[0], cs[1], args.component, args.months, now, targets=targets, tz=args.tz
            ),
            args,
        )
    except ReportError as exc:
        return _fail(str(exc))
    sys.stdout.write(render_suggestion(suggestion, args.format))
    return 0


def _cmd_statement(args: argparse.Namespace) -> int:
    from slamon.reports.finalize import now_utc
    from slamon.reports.gather import ReportError
    from slamon.reports.pdf import html_to_pdf
    from slamon.reports.statement import build_statement, render_statement_html

    now = now_utc()
    try:
        statement = _run(
            lambda cs: build_statement(
                cs[0], cs[1], args.customer, args.period, now, language=args.language
            ),
            args,
        )
    except ReportError as exc:
        return _fail(str(exc))
    html = render_statement_html(statement)
    pdf = html_to_pdf(html)
    folder = Path(args.output)
    stem = statement.file_stem()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in ((f"{stem}.html", html.encode("utf-8")), (f"{stem}.pdf", pdf)):
            (folder / name).write_bytes(data)
            print(f"wrote {folder / name}", file=sys.stderr)
        sums = "".join(
            f"{sha256_of_bytes(data)}  {name}\n"
            for name, data in ((f"{stem}.html", html.encode("utf-8")), (f"{stem}.pdf", pdf))
        )
        _write(folder / f"{stem}.sha256", sums)
    except OSError as exc:
        return _fail(f"cannot write {exc.filename}: {exc.strerror}", 1)
    return 0


def sha256_of_bytes(data: bytes) -> str:
    """SHA-256 of ``data``, hex."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def add_parsers(sub: Subparsers) -> None:
    """``report`` and its subcommands."""
    report = sub.add_parser("report", help="finance reports: credits, availability, what-if")
    rsub = report.add_subparsers(dest="report_command", required=True)
    for kind, text in (
        ("credits", "service credits per contract for a period"),
        ("availability", "SLI, budget and downtime per contract for a period (no money)"),
    ):
        p = with_config(rsub.add_parser(kind, help=text))
        p.add_argument("--period", required=True, help="2026-10 or 2026-Q4")
        p.add_argument("--contract", help="only this contract id")
        p.add_argument("--format", choices=FORMATS, default="table")
        p.add_argument(
            "--output", "-o", help="write to FILE (csv: also FILE.detail) and FILE.sha256"
        )
        p.add_argument("--explain", action="store_true", help="table: add each explanation")
        p.set_defaults(func=_cmd_report, kind=kind)
    fin = with_config(rsub.add_parser("finalize", help="store a closed period's report for good"))
    fin.add_argument("--period", required=True, help="2026-10 or 2026-Q4")
    fin.add_argument("--contract", help="only this contract id")
    fin.add_argument(
        "--accept-insufficient-data",
        action="store_true",
        help="finalize periods below their contract's min_coverage too (needs --reason)",
    )
    fin.add_argument("--reason", help="why insufficient data is accepted (kept in the report)")
    fin.set_defaults(func=_cmd_finalize)
    st = with_config(
        rsub.add_parser("statement", help="one customer's statement for a period: HTML and PDF")
    )
    st.add_argument("--customer", required=True, help="the contracts' customer_id")
    st.add_argument("--period", required=True, help="2026-10 or 2026-Q4")
    st.add_argument("--language", choices=("en", "nb"), default="en")
    st.add_argument("--output", "-o", required=True, help="folder to write the files into")
    st.set_defaults(func=_cmd_statement)
    whatif = rsub.add_parser("whatif", help="evaluate cases in the sla_vectors.json format")
    whatif.add_argument("file", help="a JSON file: one case or a list of cases")
    whatif.add_argument("--format", choices=("table", "json"), default="table")
    whatif.add_argument("--explain", action="store_true", help="table: add each explanation")
    whatif.set_defaults(func=_cmd_whatif)
    sug = with_config(rsub.add_parser("suggest", help="targets and tiers history would support"))
    sug.add_argument("--component", required=True, help="component id")
    sug.add_argument("--months", type=int, default=6, help="closed months to look back")
    sug.add_argument("--targets", help="candidate targets, e.g. 99,99.5,99.9,99.95")
    sug.add_argument(
        "--tz", default=None, help="IANA zone of the months (default: the contract's or UTC)"
    )
    sug.add_argument("--format", choices=("table", "json"), default="table")
    sug.set_defaults(func=_cmd_suggest)
