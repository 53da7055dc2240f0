"""bench/vs_prometheus.py run small: both answers exact, against a real Prometheus."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.conftest import require

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_vs_prometheus_small_run_gives_exact_answers_on_both_sides(tmp_path: Path) -> None:
    require(
        shutil.which("promtool") is not None and shutil.which("prometheus") is not None,
        "promtool and prometheus (Debian package 'prometheus')",
    )
    sys.path.insert(0, str(BENCH))
    try:
        import vs_prometheus
    finally:
        sys.path.remove(str(BENCH))
    lines: list[str] = []
    # Eight monitors: the eighth is still down when the window ends, where counting
    # samples and weighting time give different exact answers.
    fig = vs_prometheus.run(8, days=2, repeat=1, workdir=tmp_path, log=lines.append)
    assert fig["monitors"] == 8
    assert fig["samples"] == 8 * 2 * 2880
    assert fig["slamon_exact"], fig
    assert fig["prometheus_exact"], fig
    assert fig["differ"] >= 1, fig
    assert fig["prometheus_s"] > 0
    assert fig["slamon_s"] > 0
