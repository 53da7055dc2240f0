"""The built site in headless Chromium: desktop and phone, light and dark, axe-core.

Screenshots (taken with JavaScript off) land in test-artifacts/statuspage/. Fails on
any axe violation, on a page that scrolls sideways, or on a page that carries script.
Needs Debian's chromium, node, and ``npm ci`` in tests/browser (``make test`` runs it);
outside CI a missing piece skips loudly, under CI it fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from slamon.web.headers import html_headers
from statuspage.customer import render_customer, render_customer_login
from statuspage.render import PageRenderer, component_groups
from tests.conftest import require
from tests.statuspage_samples import big_snapshot, customer, snapshot

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "tests" / "browser"
ARTIFACTS = ROOT / "test-artifacts" / "statuspage"
CHROMIUM = Path("/usr/bin/chromium")
PAGES = [
    "index.html",
    "components/api.html",
    "incidents/inc-2026-11-27-api.html",
    "history.html",
    "subscribe.html",
    "nb/index.html",
    "nb/subscribe.html",
    "c/C-1001.html",
    "c/login.html",
    "notice/confirm.html",
    "notice/errors.html",
    "big/index.html",
]

pytestmark = pytest.mark.browser


class _Quiet(SimpleHTTPRequestHandler):
    """Serves the built site with the headers `slamon run` sends (its CSP above all)."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def end_headers(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix == ".html" and path.is_file():
            for name, value in html_headers(path.read_bytes()).items():
                self.send_header(name, value)
        super().end_headers()


def write(files: dict[str, bytes], root: Path) -> None:
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@pytest.fixture
def served_site(tmp_path: Path) -> Iterator[str]:
    renderer = PageRenderer()
    write(renderer.render_site(snapshot()), tmp_path)
    write(renderer.render_site(snapshot("nb")), tmp_path / "nb")
    write({"index.html": renderer.render_index(big_snapshot(200)).encode()}, tmp_path / "big")
    # Pages slamon serves but never builds: a customer's, its token form, the subscribe
    # form's answers.
    s = snapshot()
    served = {
        "c/C-1001.html": render_customer(renderer, s, customer()),
        "c/login.html": render_customer_login(renderer, s, "C-1001", wrong=True),
        "notice/confirm.html": renderer.render_notice(
            s,
            "Confirm your subscription",
            ["Updates from Example status by webhook to https://hooks.example.com/x."],
            action="https://status.example.com/subscriptions/confirm",
            token="abc.def",
            button="Confirm",
            key="0" * 64,
        ),
        "notice/errors.html": renderer.render_notice(
            s,
            "Get updates",
            errors=["That is not an email address."],
            groups=component_groups(s),
            chosen=["api"],
        ),
    }
    write({path: html.encode() for path, html in served.items()}, tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_pages_in_chromium_pass_axe_and_fit_a_phone(served_site: str) -> None:
    node = shutil.which("node")
    require(CHROMIUM.exists(), "Debian's chromium (/usr/bin/chromium)")
    require(node is not None, "node")
    require(
        (DRIVER / "node_modules" / "playwright-core").is_dir()
        and (DRIVER / "node_modules" / "axe-core").is_dir(),
        "playwright-core and axe-core in tests/browser/node_modules (make test runs npm ci)",
    )
    assert node is not None
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    proc = subprocess.run(
        [node, str(DRIVER / "check.mjs"), served_site, str(ARTIFACTS), *PAGES],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=DRIVER,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout)
    (ARTIFACTS / "report.json").write_text(json.dumps(report, indent=2))
    results = report["results"]
    assert len(results) == 4 + 2 * (len(PAGES) - 1)  # index.html in all four, others in two
    problems = []
    for r in results:
        where = f"{r['page']} {r['viewport']} {r['scheme']}"
        if r["status"] != 200:
            problems.append(f"{where}: HTTP {r['status']}")
        if not (r["csp"] or "").startswith("default-src 'none'"):
            problems.append(f"{where}: served without the CSP: {r['csp']}")
        if r["scripts"]:
            problems.append(f"{where}: {r['scripts']} script elements")
        if r["overflow"] > 0:
            problems.append(f"{where}: scrolls sideways by {r['overflow']} px")
        for v in r["violations"]:
            problems.append(f"{where}: axe {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}")
        assert (ARTIFACTS / r["screenshot"]).stat().st_size > 0
    problems += [f"CSP violation: {v}" for v in report["cspViolations"]]
    assert not problems, "\n".join(problems)
