"""Failed checks leave no reference cycles: RSS stays flat under ``slamon run``'s tuned gc.

``slamon run`` freezes the heap and raises the collector's thresholds to 50,000, so
garbage that only the cyclic collector can free lives for a long time. A failed check
used to leave its exception's traceback in a cycle (frames holding the protocol, its
future holding the exception), keeping buffers alive: a megabyte of header, an SSL
object's memory BIOs. Here each failure runs N times with the collector off; then the
collector must find no exception, frame or traceback among the garbage, and free at
most a few hundred bytes per check (asyncio's own socket transports are self-referencing
on every connection, failed or not; uvloop's are not, so under uvloop, which ``slamon
run`` uses, nothing at all is left).

The targets run in another process (``python -m tests.hostile_servers``) so that the
servers' own garbage does not count.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import pytest
import uvloop
from pydantic import BaseModel

from probes import dns, http, tcp, tls
from probes.dispatch import Check, run_check
from probes.resources import ProbeResources
from probes.result import ErrorClass

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

N = 12
"""Checks per case: enough that a per-check cycle stands far above any one-off."""
HANG = 0.3
"""The timeout of checks of targets that never answer."""
BYTES_PER_CONNECTION = 1536
"""What the collector may free per connection a failed check opened: asyncio's socket
transport refers to itself through a bound method (about 1 KB, on every connection,
failed or not). Before the fix a failed HTTPS handshake left several KB here per check,
and its frames kept buffers alive besides."""


@dataclass(frozen=True)
class Targets:
    ports: dict[str, int]
    dns_port: int
    ca_pem: Path


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    ca_pem = tmp_path_factory.mktemp("hostile") / "ca.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.hostile_servers", "--ca-pem", str(ca_pem)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # ends when the server prints or exits
        assert line, f"the hostile server process exited with {proc.wait(5)}"
        started = json.loads(line)
        yield Targets(started["ports"], started["dns"], ca_pem)
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.stdout.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# (id, probe type, server (a port name, or a DNS name), settings, times out?)
CASES: list[tuple[str, str, str, dict[str, object], bool]] = [
    ("http-refused", "http", "refused", {}, False),
    ("http-reset", "http", "reset", {}, False),
    ("http-not-http", "http", "garbage", {}, False),
    ("http-1mb-header", "http", "huge_header", {}, False),
    ("http-redirect-forever", "http", "redirect_forever", {}, False),
    ("http-never-answers", "http", "silent", {}, True),
    ("http-trickle", "http", "trickle", {}, True),
    ("https-self-signed", "https", "tls_self_signed", {}, False),
    ("https-wrong-host", "https", "tls_wrong_host", {}, False),
    ("https-expired", "https", "tls_expired", {}, False),
    ("https-not-tls", "https", "garbage", {}, False),
    ("tcp-refused", "tcp", "refused", {}, False),
    ("tcp-reset-before-expect", "tcp", "reset", {"expect": "220"}, False),
    ("tcp-tls-self-signed", "tcp", "tls_self_signed", {"tls": True}, False),
    ("tcp-expect-never-answers", "tcp", "silent", {"expect": "220"}, True),
    ("tls-refused", "tls", "refused", {}, False),
    ("tls-self-signed", "tls", "tls_self_signed", {}, False),
    ("tls-wrong-host", "tls", "tls_wrong_host", {}, False),
    ("tls-not-tls", "tls", "garbage", {}, False),
    ("tls-never-answers", "tls", "silent", {}, True),
    ("dns-nxdomain", "dns", "nxdomain.example.", {}, False),
    ("dns-timeout", "dns", "timeout.example.", {}, True),
]

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


def make_check(
    t: Targets, kind: str, server: str, settings: dict[str, object], hangs: bool
) -> Check:
    timeout = HANG if hangs else 10.0
    model: BaseModel
    if kind == "dns":
        model = dns.Settings(server="127.0.0.1", port=t.dns_port, **settings)  # type: ignore[arg-type]
        return Check(f"cycles-{kind}", "dns", server, 30, timeout, model)
    port = t.ports[server]
    if kind in ("http", "https"):
        model = http.Settings(**settings)  # type: ignore[arg-type]
        host = "localhost" if kind == "https" else "127.0.0.1"
        return Check(f"cycles-{kind}", "http", f"{kind}://{host}:{port}/", 30, timeout, model)
    if kind == "tcp":
        model = tcp.Settings(server_name="localhost", **settings)  # type: ignore[arg-type]
    else:
        model = tls.Settings(server_name="localhost", **settings)  # type: ignore[arg-type]
    return Check(f"cycles-{kind}", kind, f"127.0.0.1:{port}", 30, timeout, model)


@dataclass(frozen=True)
class Leftover:
    """What the cyclic collector found after N checks."""

    objects: int
    freed_bytes: int
    kinds: collections.Counter[str]
    errors: set[ErrorClass | None]


def _collect_leftover() -> tuple[int, collections.Counter[str], int]:
    """Collect with the garbage kept for a look, then free it and measure what it held."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        found = gc.collect()
        kinds = collections.Counter(type(o).__name__ for o in gc.garbage)
        suspects = sum(isinstance(o, BaseException | FrameType | TracebackType) for o in gc.garbage)
        kinds["(exceptions, frames, tracebacks)"] = suspects
    finally:
        gc.set_debug(0)
    before = tracemalloc.get_traced_memory()[0]
    gc.garbage.clear()
    gc.collect()
    return found, kinds, before - tracemalloc.get_traced_memory()[0]


def leftover(check: Check, ca_pem: Path, loop: Callable[[], asyncio.AbstractEventLoop]) -> Leftover:
    """Run ``check`` N times with the collector off; what the collector then finds."""
    with asyncio.Runner(loop_factory=loop) as runner:
        resources = ProbeResources()
        for ctx in (resources.tls.get(True), resources.tls.get(True, minimum="TLSv1_2")):
            ctx.load_verify_locations(cafile=str(ca_pem))

        async def run(n: int) -> set[ErrorClass | None]:
            errors = set()
            for _ in range(n):
                errors.add((await run_check(check, "cycles", resources)).error)
            await asyncio.sleep(0.2)  # let closing transports call connection_lost
            return errors

        runner.run(run(2))  # warm: caches, pools, first-use imports
        gc.collect()
        tracemalloc.start()
        gc.disable()
        try:
            errors = runner.run(run(N))
            found, kinds, freed = _collect_leftover()
        finally:
            gc.enable()
            tracemalloc.stop()
        runner.run(resources.close())
    return Leftover(found, freed, kinds, errors)


@pytest.mark.parametrize("loop", list(LOOPS), ids=list(LOOPS))
@pytest.mark.parametrize(
    ("kind", "server", "settings", "hangs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_failed_checks_leave_no_cycles(
    targets: Targets, loop: str, kind: str, server: str, settings: dict[str, Any], hangs: bool
) -> None:
    check = make_check(targets, kind, server, settings, hangs)
    left = leftover(check, targets.ca_pem, LOOPS[loop])
    assert None not in left.errors, "every check of this case must fail"
    if hangs:
        assert left.errors == {ErrorClass.TIMEOUT}
    detail = (left.objects, left.freed_bytes, left.kinds.most_common(8))
    assert left.kinds["(exceptions, frames, tracebacks)"] == 0, detail
    connections = 11 if server == "redirect_forever" else 1  # ten redirects and the first
    assert left.freed_bytes <= N * connections * BYTES_PER_CONNECTION, detail
    if loop == "uvloop":
        assert left.objects < N, detail  # not one per check
