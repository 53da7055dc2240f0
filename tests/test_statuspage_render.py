"""The status site rendered from a fixed snapshot: golden files, words, times, size."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from xml.etree import ElementTree

import pytest

from sla_engine.time.states import State
from statuspage.api import PATHS
from statuspage.charts import day_bar, day_level
from statuspage.i18n import Locale
from statuspage.render import PageRenderer
from statuspage.snapshot import DayStat, IncidentView, check_public_id
from tests.golden_files import assert_golden
from tests.statuspage_samples import INCIDENT, NOW, TODAY, big_snapshot, snapshot

GOLDEN_FILES = [
    "index.html",
    "history.html",
    "subscribe.html",
    "feed.atom",
    "components/api.html",
    "incidents/inc-2026-11-27-api.html",
    "badges/api-status.svg",
    "badges/api-uptime.svg",
    "badges/api-response.svg",
    "api/v2/summary.json",
]


@pytest.fixture(scope="module")
def site() -> dict[str, bytes]:
    return PageRenderer().render_site(snapshot())


@pytest.mark.parametrize("path", GOLDEN_FILES)
def test_golden(site: dict[str, bytes], path: str) -> None:
    text = site[path].decode()
    if path.endswith(".json"):  # compact on the wire, indented in the golden file for diffs
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    assert_golden(f"statuspage/{path}", text)


def test_golden_norwegian() -> None:
    nb = PageRenderer().render_site(snapshot("nb"))
    assert_golden("statuspage/nb/index.html", nb["index.html"].decode())
    assert_golden("statuspage/nb/components/api.html", nb["components/api.html"].decode())
    assert_golden("statuspage/nb/subscribe.html", nb["subscribe.html"].decode())


def test_the_site_has_every_file(site: dict[str, bytes]) -> None:
    s = snapshot()
    expected = {"index.html", "history.html", "subscribe.html", "feed.atom"}
    expected |= {f"incidents/{i.id}.html" for i in s.incidents}
    expected |= {f"components/{c.id}.html" for c in s.components}
    expected |= {
        f"badges/{c.id}-{k}.svg" for c in s.components for k in ("status", "uptime", "response")
    }
    expected |= {f"api/v2/{p}" for p in PATHS}
    assert set(site) == expected


def test_rendering_is_a_pure_function_of_the_snapshot() -> None:
    assert PageRenderer().render_site(snapshot()) == PageRenderer().render_site(snapshot())


def test_banner_states_and_local_times(site: dict[str, bytes]) -> None:
    html = site["index.html"].decode()
    assert '<p class="banner partial" role="status">Partial outage</p>' in html
    # api is down with 1 of 3 monitors down: a partial outage, not a major one
    assert re.search(r'id="component-api"><div class="h">.*class="s partial">Partial outage', html)
    assert "No data" in html  # the silent component is never shown as up
    assert "27 Nov 2026, 12:40 CET" in html  # Europe/Oslo, zone named
    assert "27 Nov 2026, 12:10 CET" in html  # when the API went down
    assert "Times are in Europe/Oslo." in html
    assert "99.901% uptime \u00b7" in html  # truncated, never rounded up


def test_norwegian_words_dates_and_numbers() -> None:
    html = PageRenderer().render_index(snapshot("nb"))
    assert '<html lang="nb">' in html
    assert "Delvis driftsavbrudd" in html
    assert "27. nov. 2026 kl. 12:40 CET" in html
    assert "99,901\u00a0% oppetid \u00b7" in html
    assert "Tidspunkter er i Europe/Oslo." in html


def test_each_bar_has_a_text_alternative(site: dict[str, bytes]) -> None:
    # The component's page tells every day apart (the main page has a lighter bar).
    html = site["components/api.html"].decode()
    bar = html.split('aria-label="Daily availability of Public API, last 90 days">')[1]
    bar = bar.split("</svg>")[0]
    titles = re.findall(r"<title>([^<]*)</title>", bar)
    assert "27 Nov: 93.05% available, 50 min down, 0 min maintenance" in titles
    assert "18 Oct: 99.99% available, 1 min down, 60 min maintenance" in titles
    assert "3 Oct: 94.94% available, 67 min down, 0 min maintenance, 120 min without data" in titles
    base = "Other days, 30 Aug\u201327 Nov: 100% available, no downtime or maintenance"
    assert titles[0].startswith(base)  # the background: every perfect day
    # Every day that is not perfect has a rect of its own, over the background.
    api = snapshot().component("api")
    assert api is not None
    apart = [k for k, d in enumerate(api.days) if d.percent != 100 or d.maintenance_seconds]
    xs = [int(x) for x in re.findall(r'<rect x="(\d+)" width="4"', bar)]
    assert xs == [5 * k for k in apart]
    assert len(titles) == 1 + len(apart)


def test_the_main_page_bar_says_in_words_what_it_shows(site: dict[str, bytes]) -> None:
    html = site["index.html"].decode()
    row = html.split('id="component-api">')[1].split("</li>")[0]
    # The bar is drawn for the eye; its text equivalent is visible beside it: the
    # uptime and the days with downtime (today, 12, 40 and 55 days ago).
    assert re.search(r'<svg class="st" [^>]*aria-hidden="true">', row)
    assert "<span>99.901% uptime \u00b7 4 days with downtime</span>" in row
    api = snapshot().component("api")
    assert api is not None
    runs = {
        k: [(int(x), int(w)) for x, w in re.findall(r"M(\d+) \.5h(\d+)", d)]
        for k, d in re.findall(r'<path class="(b\d|bm|bn)" d="([^"]*)"/>', row)
    }
    # Perfect days are one background run; every other day is drawn over it, at its
    # place (one unit per day, oldest first).
    assert runs.pop("b0") == [(0, 90)]
    drawn = {x: k for k, xs in runs.items() for x0, w in xs for x in range(x0, x0 + w)}
    expected = {k: day_level(d) for k, d in enumerate(api.days) if day_level(d) != "b0"}
    assert drawn == expected
    assert "<title>" not in row  # the days' own texts are on the component's page


def test_the_main_page_bar_of_a_component_without_data() -> None:
    html = PageRenderer().render_index(snapshot())
    row = html.split('id="component-mail">')[1].split("</li>")[0]
    assert "100.000% uptime \u00b7 30 without data" in row
    assert '<path class="bn" d="M0 .5h30"/>' in row
    nb = PageRenderer().render_index(snapshot("nb"))
    row = nb.split('id="component-mail">')[1].split("</li>")[0]
    assert "100,000\u00a0% oppetid \u00b7 30 uten data" in row


@pytest.mark.parametrize(
    ("percent", "maint", "level"),
    [
        (Decimal(100), 0, "b0"),
        (Decimal("99.99"), 0, "b1"),
        (Decimal("99.5"), 0, "b1"),
        (Decimal("99.49"), 0, "b2"),
        (Decimal("95"), 0, "b2"),
        (Decimal("94.99"), 0, "b3"),
        (Decimal(100), 60, "bm"),
        (None, 60, "bm"),
        (None, 0, "bn"),
    ],
    ids=[
        "perfect",
        "minor",
        "minor-edge",
        "major",
        "major-edge",
        "critical",
        "maintenance",
        "all-maintenance",
        "no-data",
    ],
)
def test_day_colours(percent: Decimal | None, maint: int, level: str) -> None:
    assert day_level(DayStat(TODAY, percent, 0, 0, maint, 0)) == level


def test_a_day_with_seconds_of_downtime_is_not_rounded_to_zero() -> None:
    day = DayStat(TODAY, Decimal("99.9884"), 10, 0, 0, 0)
    svg = day_bar(Locale("en", "UTC"), [day], "x")
    assert "99.98% available, 1 min down" in svg


def test_statuses_map_to_words() -> None:
    html = PageRenderer().render_index(snapshot())
    assert re.search(
        r'id="component-cdn"><div class="h">[^\n]*class="s maintenance">Under maintenance', html
    )
    assert re.search(
        r'id="component-search"><div class="h">[^\n]*class="s degraded">Degraded performance',
        html,
    )


def test_an_incident_page_has_its_timeline_newest_first(site: dict[str, bytes]) -> None:
    html = site["incidents/inc-2026-11-27-api.html"].decode()
    first = html.index("A faulty deploy")
    second = html.index("We are looking")
    assert first < second
    assert "oncall-alice" not in html  # the author is internal


def test_history_groups_by_month(site: dict[str, bytes]) -> None:
    html = site["history.html"].decode()
    heads = re.findall(r"<h2 [^>]*>([^<]+)</h2>", html)
    assert heads[:3] == ["November 2026", "October 2026", "September 2026"]
    oct_section = html.split("October 2026")[1].split("<h2")[0]
    assert "Website unreachable" in oct_section
    assert "3 Oct 2026, 10:10 CEST" in oct_section  # summer time, zone named


def test_the_feed_is_valid_atom(site: dict[str, bytes]) -> None:
    root = ElementTree.fromstring(site["feed.atom"])
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.find("a:id", ns) is not None
    entries = root.findall("a:entry", ns)
    titles = [e.findtext("a:title", namespaces=ns) for e in entries]
    assert "Elevated error rates on the API" in titles
    assert "Maintenance: Database upgrade" in titles
    for e in entries:
        assert (e.findtext("a:id", namespaces=ns) or "").startswith("urn:uuid:")
        link = e.find("a:link", ns)
        assert link is not None
        assert link.get("href", "").startswith("https://status.example.com/")


def test_badges_are_svg_with_a_text_alternative(site: dict[str, bytes]) -> None:
    for kind in ("status", "uptime", "response"):
        root = ElementTree.fromstring(site[f"badges/api-{kind}.svg"])
        assert root.get("role") == "img"
        assert root.get("aria-label")
        assert root.findtext("{http://www.w3.org/2000/svg}title") == root.get("aria-label")
    assert b"partial outage" in site["badges/api-status.svg"]
    assert b"99.87%" in site["badges/api-uptime.svg"]
    assert b"143 ms" in site["badges/api-response.svg"]


def test_main_page_with_200_components_is_at_most_100_kb() -> None:
    # bench/site_build.py measures the same for a store with 90 days of random outages.
    html = PageRenderer().render_index(big_snapshot(200))
    size = len(html.encode())
    print(f"main page with 200 components: {size} bytes")
    assert html.count('class="c"') == 200
    assert size <= 100_000, f"{size} bytes"


def test_unsafe_ids_never_become_paths() -> None:
    for bad in ("../etc", "a/b", "", ".hidden", "x" * 200):
        with pytest.raises(ValueError, match="safe public id"):
            check_public_id(bad)
    with pytest.raises(ValueError, match="safe public id"):
        IncidentView.of(
            INCIDENT.__class__(
                id="../../x",
                title="t",
                component_ids=(),
                impact=INCIDENT.impact,
                status=INCIDENT.status,
                opened=NOW - timedelta(hours=1),
            )
        )


def test_unknown_is_never_operational() -> None:
    s = snapshot()
    mail = s.component("mail")
    assert mail is not None and mail.state is State.UNKNOWN
    html = PageRenderer().render_index(s)
    row = html.split('id="component-mail"')[1].split("</li>")[0]
    assert "Operational" not in row


def test_a_state_not_confirmed_since_a_restart_says_it_is_the_last_known() -> None:
    from dataclasses import replace

    s = snapshot()
    components = tuple(replace(c, last_known=True) if c.id == "api" else c for c in s.components)
    html = PageRenderer().render_index(replace(s, components=components))
    row = html.split('id="component-api"')[1].split("</li>")[0]
    assert "last known state; checks are resuming" in row
    other = html.split('id="component-web"')[1].split("</li>")[0]
    assert "last known" not in other
    assert "last known" not in PageRenderer().render_index(s)
