"""A deliberately plain reference for a location's history, and results to test it with.

``reference_state`` says, for one instant, what the rules of
``sla_engine.accounting.timeline`` say: straight from the results, with no memory,
no marks and no arrival order.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import strategies as st

from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.accounting.timeline import to_us
from sla_engine.time.states import State

S = 1_000_000  # microseconds
U, G, D, X = State.UP, State.DEGRADED, State.DOWN, State.UNKNOWN


def reference_state(
    results: list[tuple[int, State]],
    t: int,
    *,
    policy: ConfirmPolicy,
    cover: int,
    silence: int,
    silent_end: bool,
) -> State:
    """The location's state at ``t``, straight from the rules, result by result."""
    rs = sorted(dict(results).items())  # one result per instant
    if not rs:
        return X
    # Split into stretches of evidence wherever two results are more than silence apart.
    stretches: list[list[tuple[int, State]]] = [[rs[0]]]
    for prev, cur in itertools.pairwise(rs):
        if cur[0] - prev[0] > silence:
            stretches.append([])
        stretches[-1].append(cur)
    for k, stretch in enumerate(stretches):
        last_one = k == len(stretches) - 1
        end = None if last_one and not silent_end else stretch[-1][0] + cover
        if t < stretch[0][0] or (end is not None and t >= end):
            continue
        # Inside this stretch: the last run long enough to confirm its state, begun by t.
        state = X
        i = 0
        while i < len(stretch):
            j = i
            while j + 1 < len(stretch) and stretch[j + 1][1] is stretch[i][1]:
                j += 1
            run_state, first, length = stretch[i][1], stretch[i][0], j - i + 1
            if first <= t and length >= policy.needed(run_state):
                state = run_state
            i = j + 1
        return state
    return X


def breakpoints(results: list[tuple[int, State]], cover: int) -> list[int]:
    times = {t for t, _ in results} | {t + cover for t, _ in results}
    return sorted(times | {min(times) - 1})


T0 = to_us(datetime(2026, 11, 2, 8, 0, tzinfo=UTC))

states = st.sampled_from([U, U, U, D, D, G])


@st.composite
def location_results(draw: st.DrawFn, max_size: int = 24) -> list[tuple[int, State]]:
    # Whole and half seconds, so gaps of exactly the silence limit happen.
    times = draw(
        st.lists(st.integers(0, 120), min_size=1, max_size=max_size, unique=True).map(sorted)
    )
    return [(T0 + t * S // 2, draw(states)) for t in times]


policies = st.builds(ConfirmPolicy, st.integers(1, 3), st.integers(1, 3))


@st.composite
def rules(draw: st.DrawFn) -> tuple[ConfirmPolicy, int, int]:
    cover = draw(st.integers(1, 4)) * S // 2
    return draw(policies), cover, cover * draw(st.integers(1, 4))
