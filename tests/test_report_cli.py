"""`slamon report ...` as a subprocess: whatif on every vector, reports, finalize, suggest."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from slamon.store import migrate
from slamon.store.sql import Store
from tests.conftest import require
from tests.report_fixtures import populate

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
VECTORS = DATA / "sla_vectors.json"
OWN = DATA / "whatif_cases.json"


def slamon(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slamon", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("path", [VECTORS, OWN], ids=["sla_vectors", "own_cases"])
def test_whatif_json_prints_every_expected_field(path: Path) -> None:
    cases: list[dict[str, Any]] = json.loads(path.read_text(), parse_float=Decimal)
    run = slamon("report", "whatif", str(path), "--format", "json")
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert [g.pop("id") for g in got] == [c["id"] for c in cases]
    assert got == [c["expected"] for c in cases]


def test_whatif_table_and_explanation() -> None:
    run = slamon("report", "whatif", str(VECTORS), "--explain")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "total_seconds", "downtime_seconds"]
    p1 = next(line.split() for line in lines if line.startswith("P1 "))
    assert p1 == ["P1", "2592000", "2700", "99.895833", "-4.166667", "10", "100.00"]
    assert "Amount owed: 100.00 EUR (rounded once, half_up, to 2 decimals)" in lines


def test_whatif_single_object_and_errors(tmp_path: Path) -> None:
    case = json.loads(VECTORS.read_text())[0]
    one = tmp_path / "one.json"
    one.write_text(json.dumps(case))
    run = slamon("report", "whatif", str(one), "--format", "json")
    assert json.loads(run.stdout)[0]["credit_amount"] == "100.00"
    case["currency"] = "EURO"
    one.write_text(json.dumps(case))
    run = slamon("report", "whatif", str(one))
    assert run.returncode == 2
    assert "case 0 (P1): currency must be a three-letter ISO 4217 code" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"tiers": [{"below": "120", "credit_percent": 10}]},
            "case 1 (P2): tiers[0].below: must be a percent in (0, 100], got 120",
        ),
        ({"credit_cap": "10"}, "case 1 (P2): credit_cap: unknown key"),
        ({"rounding": "bankers"}, "case 1 (P2): rounding: unknown rounding rule 'bankers'"),
    ],
    ids=["tier-over-100", "unknown-key", "rounding"],
)
def test_whatif_bad_input_exits_2_naming_case_and_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    cases = json.loads(VECTORS.read_text())[:2]
    cases[1].update(change)
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    run = slamon("report", "whatif", str(path))
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr.startswith(f"slamon: {path}: {message}")
    assert "Traceback" not in run.stderr


def test_whatif_batch_with_an_empty_exclusion_answers_every_case(tmp_path: Path) -> None:
    cases = json.loads(VECTORS.read_text(), parse_float=Decimal)
    at = "2026-06-03T08:30:00+00:00"
    cases[0]["exclusions"] = [{"start": at, "end": at, "reason": "typo", "kind": "force_majeure"}]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases, default=str))
    run = slamon("report", "whatif", str(path), "--format", "json", "--explain")
    assert run.returncode == 0, run.stderr
    assert [r["credit_amount"] for r in json.loads(run.stdout)] == [
        c["expected"]["credit_amount"] for c in cases
    ]


CONFIG = """
[store]
url = "sqlite+aiosqlite:///{db}"

[[monitors]]
id = "api-eu"
type = "http"
target = "http://127.0.0.1/"

[[monitors]]
id = "api-us"
type = "http"
target = "http://127.0.0.1/"

[[components]]
id = "api"
name = "API"
monitors = ["api-eu", "api-us"]

[[contracts]]
id = "acme-api"
customer = "ACME Corp"
customer_id = "C-1001"
components = ["api"]
target = "99.99"
timezone = "Europe/Oslo"
unknown = "exclude"
monthly_fee = "2500.00"
currency = "EUR"
tiers = [
  {{ below = "99.99", credit_percent = 10 }},
  {{ below = "99.9", credit_percent = 25 }},
]
"""


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    db = tmp_path / "slamon.db"
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(db=db))

    async def fill() -> None:
        store = Store.from_url(f"sqlite+aiosqlite:///{db}")
        try:
            await migrate.upgrade(store.engine)
            await populate(store)
        finally:
            await store.close()

    asyncio.run(fill())
    return path


def test_credits_csv_files_with_checksums(configured: Path, tmp_path: Path) -> None:
    out = tmp_path / "credits.csv"
    args = ("report", "credits", "--period", "2026-06", "-c", str(configured))
    run = slamon(*args, "--format", "csv", "--output", str(out))
    assert run.returncode == 0, run.stderr
    detail = tmp_path / "credits.detail.csv"
    sums = (tmp_path / "credits.csv.sha256").read_text().splitlines()
    assert sums == [
        f"{hashlib.sha256(out.read_bytes()).hexdigest()}  credits.csv",
        f"{hashlib.sha256(detail.read_bytes()).hexdigest()}  credits.detail.csv",
    ]
    (row,) = csv.DictReader(io.StringIO(out.read_bytes().decode(), newline=""))
    assert (row["contract_id"], row["credit_percent"], row["credit_amount"]) == (
        "acme-api",
        "25",
        "625.00",
    )
    first = out.read_bytes()
    assert slamon(*args, "--format", "csv", "--output", str(out)).returncode == 0
    assert out.read_bytes() == first
    table = slamon(*args)
    assert "acme-api" in table.stdout and "625.00" in table.stdout
    assert table.stderr.startswith("sha256: ")


def test_finalize_and_json_through_the_cli(configured: Path) -> None:
    base = ("--period", "2026-06", "-c", str(configured))
    run = slamon("report", "finalize", *base)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("acme-api 2026-06: finalized at ")
    doc = json.loads(slamon("report", "credits", *base, "--format", "json").stdout)
    assert doc["contracts"][0]["status"] == "finalized"
    avail = slamon("report", "availability", *base, "--format", "json")
    assert "credit_amount" not in avail.stdout
    bad = slamon(
        "report", "credits", "--period", "2026-06", "--contract", "x", "-c", str(configured)
    )
    assert bad.returncode == 2 and "no contract has the id 'x'" in bad.stderr


def test_suggest_through_the_cli(configured: Path) -> None:
    run = slamon(
        "report",
        "suggest",
        "--component",
        "api",
        "--months",
        "6",
        "-c",
        str(configured),
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["component"] == "api" and len(doc["months"]) == 6
    assert {c["target_percent"] for c in doc["candidates"]} >= {"99", "99.99"}


def test_an_unwritable_output_is_an_error_not_a_traceback(configured: Path, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "credits.csv"
    run = slamon(
        "report",
        "credits",
        "--period",
        "2026-06",
        "-c",
        str(configured),
        "--format",
        "csv",
        "-o",
        str(out),
    )
    assert run.returncode == 1
    assert "cannot write" in run.stderr and "Traceback" not in run.stderr


def test_a_month_without_enough_data_says_so_everywhere_and_finalize_refuses_it(
    configured: Path,
) -> None:
    # History starts on May 30th: May has 2 of its 31 days measured.
    base = ("--period", "2026-05", "-c", str(configured))
    table = slamon("report", "credits", *base)
    assert table.returncode == 0, table.stderr
    (row,) = [line for line in table.stdout.splitlines() if line.startswith("acme-api")]
    assert "insufficient data" in row and " yes " not in row
    # Universal newlines: the CSV's CRLF reads as LF here, so the parts split on "\n\n".
    summary = slamon("report", "credits", *base, "--format", "csv").stdout.split("\n\n")[0]
    (csv_row,) = csv.DictReader(io.StringIO(summary, newline=""))
    assert (csv_row["met"], csv_row["min_coverage_percent"]) == ("insufficient data", "90")
    assert Decimal(csv_row["coverage_percent"]) < 90
    doc = json.loads(slamon("report", "availability", *base, "--format", "json").stdout)
    assert doc["contracts"][0]["met"] == "insufficient data"

    refused = slamon("report", "finalize", *base)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert "period 2026-05 has insufficient data for acme-api (coverage " in refused.stderr
    assert "--accept-insufficient-data --reason TEXT" in refused.stderr
    no_reason = slamon("report", "finalize", *base, "--accept-insufficient-data")
    assert no_reason.returncode == 2 and "needs --reason TEXT" in no_reason.stderr
    doc = json.loads(slamon("report", "credits", *base, "--format", "json").stdout)
    assert doc["contracts"][0]["status"] == "closed"

    reason = "probes moved hosts; agreed with ACME on June 3"
    done = slamon("report", "finalize", *base, "--accept-insufficient-data", "--reason", reason)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(f"(insufficient data accepted: {reason})\n")
    doc = json.loads(slamon("report", "credits", *base, "--format", "json").stdout)
    entry = doc["contracts"][0]
    assert (entry["status"], entry["insufficient_data_accepted"]) == (
        "finalized",
        {"reason": reason},
    )


def test_suggest_skips_months_without_data(configured: Path) -> None:
    args = ("report", "suggest", "--component", "api", "--months", "24", "-c", str(configured))
    doc = json.loads(slamon(*args, "--format", "json").stdout)
    # History starts on May 30th 2026: every month before June is without enough data.
    skipped = [m["period"] for m in doc["months"] if m["insufficient_data"]]
    assert "2026-05" in skipped and "2026-04" in skipped and "2026-06" not in skipped
    assert doc["skipped_months"] == skipped
    assert all(m["availability_percent"] is None for m in doc["months"] if m["insufficient_data"])
    table = slamon(*args).stdout
    assert "Skipped, insufficient data (under 90 % of the month measured" in table
    assert "2026-04                -" in table


SECRETS = """
[server]
admin_token = "${{SLAMON_TEST_ADMIN_TOKEN}}"
finance_token = "${{SLAMON_TEST_FINANCE_TOKEN}}"

[bus]
password = "${{SLAMON_TEST_BUS_PASSWORD}}"
"""


def secret_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SLAMON_TEST_")}


def test_offline_commands_do_not_need_the_servers_tokens(configured: Path) -> None:
    # Issue 13, defect 7: finance could not run a report without the admin token.
    configured.write_text(SECRETS.format() + configured.read_text())
    env = secret_env()
    c = ("-c", str(configured))
    for args in (
        ("report", "credits", "--period", "2026-06", *c),
        ("rules", *c),
        ("incident", "list", "--since", "3650d", *c),
    ):
        run = subprocess.run(
            [sys.executable, "-m", "slamon", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=ROOT,
        )
        assert run.returncode == 0, (args, run.stderr)
    report = subprocess.run(
        [sys.executable, "-m", "slamon", "report", "credits", "--period", "2026-06", *c],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert "625.00" in report.stdout
    # The service itself still needs them, and says which.
    check = subprocess.run(
        [sys.executable, "-m", "slamon", "check-config", *c],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert check.returncode == 2
    assert "server.admin_token: environment variable SLAMON_TEST_ADMIN_TOKEN is not set" in (
        check.stderr
    )


def test_an_offline_command_still_needs_the_database_url(configured: Path) -> None:
    text = configured.read_text()
    configured.write_text(text.replace('url = "sqlite', 'url = "${SLAMON_TEST_DB_URL}sqlite'))
    args = ("report", "credits", "--period", "2026-06", "-c", str(configured))
    run = subprocess.run(
        [sys.executable, "-m", "slamon", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=secret_env(),
    )
    assert run.returncode == 2
    assert "store.url: environment variable SLAMON_TEST_DB_URL is not set" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_relative_sqlite_path_is_next_to_the_config(configured: Path, tmp_path: Path) -> None:
    # Issue 13, defect 8: run from another folder, a report made a new empty database
    # there and reported 100 %.
    configured.write_text(
        configured.read_text().replace(f"sqlite+aiosqlite:///{tmp_path}/", "sqlite+aiosqlite:///")
    )
    assert 'url = "sqlite+aiosqlite:///slamon.db"' in configured.read_text()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = slamon("report", "credits", "--period", "2026-06", "-c", str(configured), cwd=elsewhere)
    assert run.returncode == 0, run.stderr
    assert "625.00" in run.stdout
    assert list(elsewhere.iterdir()) == []


def test_a_report_on_a_missing_sqlite_database_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(db=tmp_path / "typo.db"))
    run = slamon("report", "credits", "--period", "2026-06", "-c", str(path))
    assert run.returncode == 2
    assert f"store.url: no database at {tmp_path / 'typo.db'}" in run.stderr
    assert not (tmp_path / "typo.db").exists()


def test_statement_writes_html_and_pdf_the_same_bytes_twice(
    configured: Path, tmp_path: Path
) -> None:
    require(shutil.which("pdftotext") is not None, "pdftotext (Debian's poppler-utils)")
    args = ("report", "statement", "--customer", "C-1001", "--period", "2026-06")
    files = []
    for out in (tmp_path / "one", tmp_path / "two"):
        run = slamon(*args, "-c", str(configured), "-o", str(out))
        assert run.returncode == 0, run.stderr
        assert "INFO" not in run.stderr
        files.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert files[0] == files[1]
    stem = "statement-C-1001-2026-06"
    assert sorted(files[0]) == [f"{stem}.html", f"{stem}.pdf", f"{stem}.sha256"]
    sums = files[0][f"{stem}.sha256"].decode()
    assert sums == "".join(
        f"{hashlib.sha256(files[0][name]).hexdigest()}  {name}\n"
        for name in (f"{stem}.html", f"{stem}.pdf")
    )
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "one" / f"{stem}.pdf"), "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "625.00 EUR" in text
    bad = slamon(*args[:3], "C-9", *args[4:], "-c", str(configured), "-o", str(tmp_path))
    assert bad.returncode == 2 and "no contract has the customer id 'C-9'" in bad.stderr
