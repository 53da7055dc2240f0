"""The agent's on-disk spool: ordered, bounded, and kept across restarts."""

from __future__ import annotations

from pathlib import Path

from slamon.agent import Spool


def test_rows_survive_a_reopen_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_items=100)
    spool.append([(f"t/{i}", f"body{i}".encode()) for i in range(10)])
    rows = spool.read(3)
    spool.remove([seq for seq, _, _ in rows])
    spool.close()
    again = Spool(tmp_path / "s.db", max_items=100)
    assert again.count == 7
    assert [body for _, _, body in again.read(100)] == [f"body{i}".encode() for i in range(3, 10)]
    # New rows go after the old ones even though the first ones were deleted.
    again.append([("t/x", b"later")])
    assert again.read(100)[-1][2] == b"later"


def test_the_oldest_are_dropped_and_counted_past_the_bound(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_items=100)
    for batch in range(5):
        spool.append([("t", f"{batch}-{i}".encode()) for i in range(30)])
    assert spool.count == 100
    assert spool.dropped == 50
    assert spool.read(1)[0][2] == b"1-20"
