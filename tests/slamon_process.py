"""`slamon run` as a real subprocess: started on port 0, its port read from its log."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

_SERVING = re.compile(r"serving (http://127\.0\.0\.1:(\d+)/)")


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of ``name{labels}`` in an exposition, None when absent."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{([^}]*)\})? (\S+)$", line)
        if m and m.group(1) == name and ",".join(sorted((m.group(2) or "").split(","))) == want:
            return float(m.group(3))
    return None


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition"
) -> None:
    """Await ``check`` every 100 ms until it is true, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await check():
                return
        except (aiohttp.ClientError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.1)


@dataclass
class SlamonProcess:
    """A running ``slamon run``; ``log`` is its stderr."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    base: str = ""
    log_start: int = 0  # where this run's lines begin in a log shared with earlier runs

    @classmethod
    async def start(cls, config: Path, log_path: Path, timeout: float = 60.0) -> SlamonProcess:
        """Start on port 0 and wait until it serves."""
        start = log_path.stat().st_size if log_path.exists() else 0
        log_file = log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "slamon", "run", "-c", str(config), "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env=env,
        )
        log_file.close()
        me = cls(proc, log_path, log_start=start)
        deadline = time.monotonic() + timeout
        while not me.base:
            m = _SERVING.search(me.log())
            if m:
                me.base = m.group(1)
                break
            if proc.poll() is not None:
                raise AssertionError(f"slamon exited with {proc.returncode}:\n{me.log()}")
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"slamon did not serve within {timeout}s:\n{me.log()}")
            await asyncio.sleep(0.05)
        return me

    def log(self) -> str:
        """This run's log lines."""
        with self.log_path.open("rb") as f:
            f.seek(self.log_start)
            return f.read().decode(errors="replace")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    async def get_json(self, path: str, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with aiohttp.ClientSession() as s, s.get(self.url(path), headers=headers) as r:
            return await r.json()

    async def metrics(self) -> str:
        async with aiohttp.ClientSession() as s, s.get(self.url("/metrics")) as r:
            return await r.text()

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait(self, timeout: float) -> int:
        """The exit status, waiting at most ``timeout`` seconds (AssertionError after)."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"slamon still runs {timeout}s later:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)
        return self.proc.returncode

    async def stop(self) -> int:
        """SIGTERM, then the exit status (killed if it hangs)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return await self.wait(15)
            finally:
                if self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait()
        return self.proc.returncode

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")
