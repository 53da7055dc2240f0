"""Config validation: every error names its TOML path; the CLI exits 2 without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from slamon.config.common import ConfigError
from slamon.config.load import load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def errors_of(data: dict[str, object], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env or {})
    return info.value.errors


def mon(**kw: object) -> dict[str, object]:
    return {"id": "m", "type": "http", "target": "http://127.0.0.1/", **kw}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"monitors": [mon(), mon(id="b"), mon(id="c", interval="0.5s")]},
            "monitors[2].interval: must be at least 1s",
        ),
        (
            {"monitors": [mon(interval="soon")]},
            "monitors[0].interval: expected a duration such as 30s, 5m or 1h30m, got 'soon'",
        ),
        (
            {"monitors": [mon(type="ftp")]},
            "monitors[0].type: unknown probe type 'ftp'; known: http, tcp",
        ),
        (
            {"monitors": [mon(type="tcp", target="localhost")]},
            "monitors[0].target: expected host:port, got 'localhost'",
        ),
        (
            {"monitors": [mon(target="ftp://x/")]},
            "monitors[0].target: expected an http:// or https:// URL, got 'ftp://x/'",
        ),
        (
            {"monitors": [mon(expected_status=[99])]},
            "monitors[0].expected_status: status 99 is not an HTTP status code",
        ),
        ({"monitors": [mon(colour="red")]}, "monitors[0].colour: unknown key"),
        ({"monitors": [mon(id="Bad Id")]}, "monitors[0].id: must be 1-64 characters"),
        (
            {"monitors": [mon(interval="5s", timeout="10s")]},
            "monitors[0].timeout: must not be longer than the interval",
        ),
        ({"monitors": [mon(), mon()]}, "monitors[1].id: 'm' is already used by monitors[0]"),
        (
            {"store": {"url": "mysql://x"}},
            "store.url: must be a sqlite+aiosqlite:// or postgresql+asyncpg://",
        ),
        ({"server": {"port": 70000}}, "server.port: Input should be less than or equal to 65535"),
        (
            {"statuspage": {"timezone": "Mars/Olympus"}},
            "statuspage.timezone: unknown IANA time zone 'Mars/Olympus'",
        ),
        ({"nonsense": 1}, "nonsense: unknown key"),
    ],
    ids=[
        "interval-too-short",
        "interval-not-a-duration",
        "unknown-type",
        "tcp-target",
        "http-target",
        "status-code",
        "unknown-probe-key",
        "bad-id",
        "timeout-over-interval",
        "duplicate-id",
        "store-url",
        "port-range",
        "timezone",
        "unknown-section",
    ],
)
def test_error_names_the_path(data: dict[str, object], expected: str) -> None:
    errors = errors_of(data)
    assert any(e.startswith(expected) for e in errors), errors


def test_all_errors_are_reported_at_once() -> None:
    errors = errors_of({"monitors": [mon(interval="0s"), mon(id="b", type="tcp", target="x")]})
    assert len(errors) == 2


def test_secrets_come_from_the_environment() -> None:
    data = {
        "server": {"admin_token": "${ADMIN_TOKEN}"},
        "monitors": [mon(headers={"Authorization": "Bearer ${API_TOKEN}"})],
    }
    config = parse_config(data, {"ADMIN_TOKEN": "s3cret", "API_TOKEN": "t0k"})
    assert config.server.admin_token is not None
    assert config.server.admin_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(config.server)
    settings = config.monitors[0].settings
    assert settings.headers == {"Authorization": "Bearer t0k"}
    assert errors_of(data, {"ADMIN_TOKEN": "x"}) == [
        "monitors[0].headers.Authorization: environment variable API_TOKEN is not set"
    ]


def test_defaults_and_durations() -> None:
    config = parse_config({"monitors": [mon(interval="1m30s", latency_limit="250ms")]}, {})
    check = config.checks()[0]
    assert check.interval == 90
    assert check.timeout == 10
    assert check.settings.latency_limit == 0.25
    assert config.policy_for(config.monitors[0]).down_after == 3


def test_example_config_is_valid() -> None:
    config = load_config(ROOT / "config.toml")
    assert config.monitors, "the example must monitor something that works offline"
    assert any("127.0.0.1" in m.target for m in config.monitors)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slamon", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_check_config_exits_2_naming_the_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[monitors]]\nid="a"\ntype="http"\ntarget="http://127.0.0.1/"\n'
        '[[monitors]]\nid="b"\ntype="tcp"\ntarget="127.0.0.1:1"\n'
        '[[monitors]]\nid="c"\ntype="http"\ntarget="http://127.0.0.1/"\ninterval="0s"\n'
    )
    proc = run_cli("check-config", "--config", str(bad), cwd=tmp_path)
    assert proc.returncode == 2
    assert "monitors[2].interval: must be at least 1s" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot read"),
        ("[[monitors]\n", "not valid TOML"),
    ],
    ids=["missing-file", "toml-syntax"],
)
def test_unreadable_config_exits_2(tmp_path: Path, content: str | None, fragment: str) -> None:
    path = tmp_path / "c.toml"
    if content is not None:
        path.write_text(content)
    proc = run_cli("run", "--config", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_config_accepts_the_example() -> None:
    proc = run_cli("check-config", "--config", "config.toml", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_components_reference_known_monitors() -> None:
    data = {
        "monitors": [mon(), mon(id="b")],
        "components": [
            {"id": "api", "name": "API", "monitors": ["m", "b"], "quorum": 2},
            {"id": "web", "name": "Web", "monitors": ["nope"]},
            {"id": "api", "name": "Again", "monitors": ["m"], "quorum": 3},
        ],
    }
    assert errors_of(data) == [
        "components[1].monitors[0]: no monitor has the id 'nope'",
        "components[2].id: 'api' is already used by components[0]",
        "components[2].quorum: 3 is more than its 1 monitors",
    ]


def test_without_components_each_public_monitor_is_one() -> None:
    config = parse_config({"monitors": [mon(name="M"), mon(id="hidden", public=False)]}, {})
    [component] = config.effective_components()
    assert (component.id, component.name, component.monitors) == ("m", "M", ["m"])
