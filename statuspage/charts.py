"""Inline SVG, written as text: the 90-day bar and the response-time chart.

Both are server-rendered and need no JavaScript. Every piece of text that goes into
them passes through ``escape``. The bar is the heaviest part of a page with many
components, so it is written tightly (see ``day_bar``): striped patterns draw many
days with one element where the days have nothing to tell apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from html import escape

from markupsafe import Markup

from statuspage.i18n import Locale
from statuspage.snapshot import DayStat, LatencyPoint

# A day's colour by its availability: 100 % green, at least MINOR yellow, at least
# MAJOR orange, below red; no downtime but maintenance blue; nothing measured grey.
MINOR = Decimal("99.5")
MAJOR = Decimal("95")
_SLOT = 5  # viewBox units per day: a bar 4 wide and a gap of 1
_BAR_H = 24


def day_level(d: DayStat) -> str:
    """The CSS class of a day's bar: b0 (100 %) to b3, bm maintenance, bn no data."""
    if d.percent is None:
        return "bm" if d.maintenance_seconds > 0 else "bn"
    if d.percent >= 100:
        return "bm" if d.maintenance_seconds > 0 else "b0"
    if d.percent >= MINOR:
        return "b1"
    if d.percent >= MAJOR:
        return "b2"
    return "b3"


def minutes(seconds: int) -> int:
    """Whole minutes, rounded up: 10 s of downtime is reported, not hidden."""
    return -(-seconds // 60)


def day_text(loc: Locale, d: DayStat) -> str:
    """The text alternative of one day's bar."""
    day = loc.day(d.day, year=False)
    if d.percent is None and d.maintenance_seconds == 0:
        return loc.t("day_nodata", day=day)
    text = loc.t(
        "day_text",
        day=day,
        p=loc.percent(d.percent, 2),
        down=minutes(d.down_seconds),
        maint=minutes(d.maintenance_seconds),
    )
    if d.unknown_seconds:
        text += ", " + loc.t("day_extra", unknown=minutes(d.unknown_seconds))
    return text


def _plain(d: DayStat) -> str | None:
    """The run a day can join: 'ok' (a perfect day), 'none' (no data), or None."""
    if d.maintenance_seconds or d.down_seconds:
        return None
    if d.percent is None:
        return "none"
    if d.percent >= 100 and not d.unknown_seconds:
        return "ok"
    return None


def bar_patterns() -> Markup:
    """The striped fills that runs of days use; once per page, before any bar."""
    stripes = "".join(
        f'<pattern id="p{k}" width="{_SLOT}" height="{_BAR_H}" patternUnits="userSpaceOnUse">'
        f'<rect width="{_SLOT - 1}" height="{_BAR_H}" class="{k}"/></pattern>'
        for k in ("b0", "bn")
    )
    # Only constants go into this markup.
    return Markup(  # noqa: S704
        '<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false">'
        f"<defs>{stripes}</defs></svg>"
    )


def day_bar(loc: Locale, days: Sequence[DayStat], label: str) -> Markup:
    """One bar per day, oldest on the left, each with a text alternative.

    Perfect days are the background: one striped ``rect`` across the whole bar whose
    text covers every day not told apart. Each other day is a ``rect`` of its own
    drawn over it (hovering shows that day's text), and a run of days without data is
    one striped ``rect``. A bar of 90 perfect days is one element; each day worth
    telling costs one more.
    """
    n = len(days)
    parts = [
        f'<svg class="bar" viewBox="0 0 {n * _SLOT} {_BAR_H}" '
        f'preserveAspectRatio="none" aria-label="{escape(label)}">'
    ]
    if n and any(_plain(d) == "ok" for d in days):
        first, last = loc.day(days[0].day, False), loc.day(days[-1].day, False)
        title = loc.t("run_text", first=first, last=last)
        parts.append(
            f'<rect width="{n * _SLOT - 1}" height="{_BAR_H}" fill="url(#pb0)">'
            f"<title>{escape(title)}</title></rect>"
        )
    i = 0
    while i < n:
        kind = _plain(days[i])
        if kind == "ok":
            i += 1
            continue
        j = i + 1
        if kind == "none":
            while j < n and _plain(days[j]) == "none":
                j += 1
        x = i * _SLOT
        if kind == "none" and j - i > 1:
            first, last = loc.day(days[i].day, False), loc.day(days[j - 1].day, False)
            title = loc.t("run_nodata", first=first, last=last)
            parts.append(
                f'<rect x="{x}" width="{(j - i) * _SLOT - 1}" height="{_BAR_H}" '
                f'fill="url(#pbn)"><title>{escape(title)}</title></rect>'
            )
        else:
            d = days[i]
            parts.append(
                f'<rect x="{x}" width="{_SLOT - 1}" height="{_BAR_H}" class="{day_level(d)}">'
                f"<title>{escape(day_text(loc, d))}</title></rect>"
            )
        i = j
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in parts was escaped


def strip_text(loc: Locale, days: Sequence[DayStat], uptime: Decimal | None) -> str:
    """What the main page's bar shows, in words: the uptime, days with downtime, without data.

    It is the bar's text equivalent, visible to everyone (the bar itself is hidden
    from assistive technology); each day's figures are on the component's page.
    """
    levels = [day_level(d) for d in days]
    parts = [loc.t("uptime", p=loc.percent(uptime))]
    below = sum(level in ("b1", "b2", "b3") for level in levels)
    if below:
        parts.append(loc.t("strip.below_one") if below == 1 else loc.t("strip.below", n=below))
    if "bn" in levels:
        parts.append(loc.t("strip.nodata", n=levels.count("bn")))
    return " \u00b7 ".join(parts)


def day_strip(days: Sequence[DayStat]) -> Markup:
    """The main page's bar: the same colours as ``day_bar`` in a couple of hundred bytes.

    One ``path`` per colour, each run of days of that colour one horizontal segment
    drawn as a thick dashed line (0.8 on, 0.2 off: a bar per day). The days are told
    apart on the component's page (``day_bar`` and its table), so the main page of a
    few hundred components stays light; here ``strip_text`` says in words what the
    bar shows.
    """
    levels = [day_level(d) for d in days]
    n = len(days)
    # One unit per day. Perfect days are the background, one segment under the whole
    # bar; every other run is drawn over it (the dashes line up: every segment starts
    # on a day).
    runs: dict[str, list[str]] = {"b0": [f"M0 .5h{n}"]} if "b0" in levels else {}
    i = 0
    while i < n:
        j = i + 1
        while j < n and levels[j] == levels[i]:
            j += 1
        if levels[i] != "b0":
            runs.setdefault(levels[i], []).append(f"M{i} .5h{j - i}")
        i = j
    paths = "".join(f'<path class="{k}" d="{"".join(v)}"/>' for k, v in sorted(runs.items()))
    return Markup(  # noqa: S704 - numbers and constants only
        f'<svg class="st" viewBox="0 0 {n} 1" preserveAspectRatio="none" '
        f'aria-hidden="true">{paths}</svg>'
    )


def daily_rows(loc: Locale, days: Sequence[DayStat]) -> Markup:
    """The rows of the per-day table, newest day first (written here: it is the bulk)."""
    return Markup("".join(_daily_row(loc.language, d) for d in reversed(days)))  # noqa: S704


@lru_cache(maxsize=1 << 16)
def _daily_row(language: str, d: DayStat) -> str:
    # A row depends on the day's figures and the language only (not the zone): perfect
    # days repeat across components and builds, so each is written once.
    loc = Locale(language, "UTC")
    return (
        f'<tr><th scope="row">{escape(loc.day(d.day))}</th>'
        f'<td class="n">{escape(loc.percent(d.percent, 3))}</td>'
        f'<td class="n">{minutes(d.down_seconds)}</td>'
        f'<td class="n">{minutes(d.maintenance_seconds)}</td>'
        f'<td class="n">{minutes(d.unknown_seconds)}</td></tr>\n'
    )


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _path(points: Sequence[tuple[float, float | None]]) -> str:
    return _path_pen(points)[0]


def _path_pen(points: Sequence[tuple[float, float | None]]) -> tuple[str, bool]:
    """The path through ``points`` (a gap where y is None) and whether its pen ends up."""
    out = []
    pen_up = True
    for x, y in points:
        if y is None:
            pen_up = True
            continue
        out.append(f"{'M' if pen_up else 'L'}{x:.1f} {y:.1f}")
        pen_up = False
    return "".join(out), pen_up


def latency_summary(loc: Locale, points: Sequence[LatencyPoint]) -> str:
    """The chart's text alternative: the range of the hourly means and the latest."""
    means = [p.mean_ms for p in points if p.mean_ms is not None]
    if not means:
        return loc.t("response_none")
    return loc.t(
        "response_summary",
        lo=loc.number(min(means)),
        hi=loc.number(max(means)),
        last=loc.number(means[-1]),
    )


class ChartMemo:
    """What drawing one component's chart can keep for the next build.

    Between two builds of one hour only the last point (the current hour's mean)
    moves: the day ticks (a function of the hours alone) and the line through the
    closed hours are kept, and only the last segment is drawn again. The result is
    the same text as drawing from scratch.
    """

    def __init__(self) -> None:
        self._ticks: dict[tuple[object, ...], str] = {}
        # By label: the closed hours' values and the scale they were drawn to, the
        # line through them, and whether its pen was up after the last of them.
        self._lines: dict[str, tuple[tuple[object, ...], str, bool]] = {}
        self._used: set[str] = set()

    def ticks(self, loc: Locale, points: Sequence[LatencyPoint]) -> str:
        """The grid line and label of each local midnight."""
        key = (loc.language, loc.timezone, *(p.at for p in points))
        text = self._ticks.get(key)
        if text is None:
            if len(self._ticks) > 4:  # the hours move on: older ones are not asked again
                self._ticks.clear()
            text = self._ticks[key] = _ticks(loc, points)
        return text

    def line(self, label: str, points: Sequence[LatencyPoint], top_ms: float) -> str:
        """``_path`` of the points, the closed hours' part taken from the last build."""
        n = len(points)
        if n < 2:
            return _path([_xy(i, n, p.mean_ms, top_ms) for i, p in enumerate(points)])
        self._used.add(label)
        key = (n, top_ms, *(p.mean_ms for p in points[:-1]))
        kept = self._lines.get(label)
        if kept is not None and kept[0] == key:
            head, pen_up = kept[1], kept[2]
        else:
            head, pen_up = _path_pen([_xy(i, n, points[i].mean_ms, top_ms) for i in range(n - 1)])
            self._lines[label] = (key, head, pen_up)
        x, y = _xy(n - 1, n, points[-1].mean_ms, top_ms)
        if y is None:
            return head
        return f"{head}{'M' if pen_up else 'L'}{x:.1f} {y:.1f}"

    def sweep(self) -> None:
        """Forget the charts not drawn since the last sweep."""
        for gone in self._lines.keys() - self._used:
            del self._lines[gone]
        self._used = set()


_W, _H, _LEFT, _BOTTOM, _TOP = 720, 200, 44, 20, 16
_INNER_W, _INNER_H = _W - _LEFT - 4, _H - _BOTTOM - _TOP


def _xy(i: int, n_points: int, v: float | None, top_ms: float) -> tuple[float, float | None]:
    x = _LEFT + _INNER_W * i / max(n_points - 1, 1)
    return x, (None if v is None else _TOP + _INNER_H - _INNER_H * min(v, top_ms) / top_ms)


def _ticks(loc: Locale, points: Sequence[LatencyPoint]) -> str:
    parts = []
    previous_day = None
    for i, p in enumerate(points):
        local = loc.local(p.at)
        if local.hour == 0 and local.date() != previous_day:
            previous_day = local.date()
            x = _xy(i, len(points), None, 1.0)[0]
            # The last label ends at its tick, so that it stays inside the chart.
            near_end = x > _W - 80
            anchor = f' x="{x - 3:.1f}" text-anchor="end"' if near_end else f' x="{x + 3:.1f}"'
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{_TOP + _INNER_H}" class="grid"/>'
                f'<text{anchor} y="{_H - 6}">'
                f"{escape(loc.day(local.date(), year=False))}</text>"
            )
    return "".join(parts)


def latency_chart(
    loc: Locale, points: Sequence[LatencyPoint], label: str, memo: ChartMemo | None = None
) -> Markup:
    """The hourly mean as a line over a millisecond axis, a tick at each local midnight.

    ``memo`` (kept between builds) draws again only what changed since the last one.
    """
    summary = latency_summary(loc, points)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{escape(label)}"><desc>{escape(summary)}</desc>'
    ]
    values = [p.mean_ms for p in points if p.mean_ms is not None]
    top_ms = _nice_ceiling(max(values) if values else 1.0)
    for k in range(5):
        ms = top_ms * k / 4
        y = _TOP + _INNER_H - _INNER_H * k / 4
        parts.append(
            f'<line x1="{_LEFT}" x2="{_W - 4}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{loc.number(ms)}</text>'
        )
    if memo is None:
        parts.append(_ticks(loc, points))
        line = _path([_xy(i, len(points), p.mean_ms, top_ms) for i, p in enumerate(points)])
    else:
        parts.append(memo.ticks(loc, points))
        line = memo.line(label, points, top_ms)
    if line:
        parts.append(f'<path d="{line}" class="mean"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in parts was escaped
