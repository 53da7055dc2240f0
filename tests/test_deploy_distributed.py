"""deploy/compose.yaml and the configs it mounts (Docker cannot run here: checked as files)."""

from __future__ import annotations

from pathlib import Path

import yaml

from slamon.config.load import load_config

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_compose_file_has_every_service_and_its_files() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {
        "postgres",
        "mosquitto",
        "slamon-1",
        "slamon-2",
        "slamon-3",
        "agent-oslo",
        "agent-frankfurt",
        "prometheus",
        "grafana",
    }
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), f"{name}: {source} is missing"
    # Prometheus scrapes the engine and the agents by their service names.
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        t
        for job in prometheus["scrape_configs"]
        for c in job["static_configs"]
        for t in c["targets"]
    }
    engines = [s for s in services if s.startswith("slamon-")]
    assert {f"{e}:8080" for e in engines} | {"agent-oslo:9108", "agent-frankfurt:9108"} <= targets
    # Three engines of one cluster: each its own id and host port, time to hand over.
    ids = {services[e]["environment"]["SLAMON_ENGINE_ID"] for e in engines}
    assert ids == set(engines)
    ports = {services[e]["ports"][0].split(":")[0] for e in engines}
    assert len(ports) == 3
    for e in engines:
        assert services[e]["command"][:2] == ["slamon", "engine"]
        assert services[e]["stop_grace_period"] == "30s"
    assert set(services["prometheus"]["depends_on"]) == set(engines)
    agents = [s for s in services if s.startswith("agent-")]
    for agent in agents:
        command = services[agent]["command"]
        assert command[:2] == ["slamon", "agent"]
        assert command[command.index("--location") + 1] == agent.removeprefix("agent-")


def test_the_shared_config_is_valid_for_the_engine_and_each_agent() -> None:
    env = {
        "PG_PASSWORD": "x",
        "MQTT_USERNAME": "oslo",
        "MQTT_PASSWORD": "y",
        "SLAMON_ADMIN_TOKEN": "z",
        "SLAMON_ENGINE_ID": "slamon-2",
    }
    config = load_config(DEPLOY / "slamon" / "slamon.toml", env)
    assert config.bus.kind == "mqtt"
    assert config.bus.locations == ["oslo", "frankfurt"]
    assert config.store.url.startswith("postgresql+asyncpg://slamon:x@postgres")
    # A cluster: this engine's id from the environment, more shards than engines.
    assert config.cluster.enabled
    assert config.cluster.engine_id == "slamon-2"
    assert config.bus.shards >= 3
    assert config.cluster.renew_every < config.cluster.lease_ttl / 2
    engines = {"slamon-engine-1", "slamon-engine-2", "slamon-engine-3"}
    assert {c.monitor_id for c in config.checks("oslo")} == engines | {"postgres-port"}
    assert {c.monitor_id for c in config.checks("frankfurt")} == engines


def test_mosquitto_keeps_sessions_and_room_for_the_engine() -> None:
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    settings = dict(
        line.split(None, 1) for line in conf.splitlines() if line and not line.startswith("#")
    )
    assert settings["persistence"] == "true"
    assert int(settings["max_queued_messages"]) >= 100_000  # the default 1000 drops results
    assert settings["allow_anonymous"] == "false"
    acl = (DEPLOY / "mosquitto" / "acl").read_text()
    assert "pattern write slamon/v1/results/%u/#" in acl
