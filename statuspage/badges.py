"""SVG badges in the look of shields.io's flat style: grey label, coloured value.

Text widths are estimated from Verdana's advance widths at 11 px (the font shields.io
measures with), in a few classes of glyphs; the estimate errs wide, so text never
overflows its box.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from statuspage.charts import MAJOR, MINOR
from statuspage.i18n import Locale
from statuspage.snapshot import ComponentView
from statuspage.statuses import ComponentStatus, component_status

GREEN, LIGHT_GREEN, YELLOW = "#44cc11", "#97ca00", "#dfb317"
ORANGE, RED, BLUE, GREY = "#fe7d37", "#e05d44", "#007ec6", "#9f9f9f"
_STATUS_COLOUR = {
    ComponentStatus.OPERATIONAL: GREEN,
    ComponentStatus.DEGRADED_PERFORMANCE: YELLOW,
    ComponentStatus.PARTIAL_OUTAGE: ORANGE,
    ComponentStatus.MAJOR_OUTAGE: RED,
    ComponentStatus.UNDER_MAINTENANCE: BLUE,
}
_NARROW = set("fijlrt.,:;!|'()[]{} ")
_WIDE = set("mwMW%@")
_UPPER_WIDE = set("ABCDGHKNOQRUVXY&")


def text_width(text: str) -> float:
    """Estimated width of ``text`` in Verdana 11 px."""
    width = 0.0
    for ch in text:
        if ch in _NARROW:
            width += 4.0
        elif ch in _WIDE:
            width += 11.0
        elif ch in _UPPER_WIDE:
            width += 8.0
        elif ch.isdigit() or ch.isupper():
            width += 7.0
        else:
            width += 6.9 if ord(ch) > 0x7F else 6.3
    return width


def badge(label: str, value: str, colour: str, subject: str = "") -> str:
    """A complete SVG document: ``label`` on grey, ``value`` on ``colour``.

    ``subject`` (the component's name) starts the badge's text alternative when the
    label alone does not say what the badge is about.
    """
    lw = round(text_width(label) + 10)
    vw = round(text_width(value) + 10)
    w = lw + vw
    name = escape(f"{subject}, {label}: {value}" if subject else f"{label}: {value}")
    lab, val = escape(label), escape(value)
    lx, vx = lw / 2, lw + vw / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" '
        f'aria-label="{name}"><title>{name}</title>'
        '<linearGradient id="g" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="c"><rect width="{w}" height="20" rx="3"/></clipPath>'
        f'<g clip-path="url(#c)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{vw}" height="20" fill="{colour}"/>'
        f'<rect width="{w}" height="20" fill="url(#g)"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{lx}" y="15" fill="#010101" fill-opacity=".3">{lab}</text>'
        f'<text x="{lx}" y="14">{lab}</text>'
        f'<text x="{vx}" y="15" fill="#010101" fill-opacity=".3">{val}</text>'
        f'<text x="{vx}" y="14">{val}</text></g></svg>'
    )


def _uptime_colour(percent: Decimal | None) -> str:
    if percent is None:
        return GREY
    if percent >= Decimal("99.9"):
        return GREEN
    if percent >= MINOR:
        return LIGHT_GREEN
    if percent >= MAJOR:
        return ORANGE
    return RED


def _response_colour(ms: float | None) -> str:
    if ms is None:
        return GREY
    if ms < 500:
        return GREEN
    if ms < 1500:
        return YELLOW
    return ORANGE


def component_badges(loc: Locale, c: ComponentView) -> dict[str, str]:
    """The three badges of a component by kind: status, uptime, response."""
    status = component_status(c)
    if c.state.value == "unknown":
        status_text, status_colour = loc.t("no_data"), GREY
    else:
        status_text = loc.t(f"status.{status.value}").lower()
        status_colour = _STATUS_COLOUR[status]
    response = loc.t("no_data") if c.response_ms is None else f"{loc.number(c.response_ms)} ms"
    return {
        "status": badge(c.name, status_text, status_colour),
        "uptime": badge(
            loc.t("badge.uptime"),
            loc.percent(c.uptime_30, 2),
            _uptime_colour(c.uptime_30),
            c.name,
        ),
        "response": badge(
            loc.t("badge.response"), response, _response_colour(c.response_ms), c.name
        ),
    }
