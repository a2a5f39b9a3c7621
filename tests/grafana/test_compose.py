"""docker-compose.yml, checked without Docker: paths, commands and wiring agree with the repo."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

import pytest
import yaml

from tests.helpers.grafana_kit import GRAFANA, PROMETHEUS_DIR, ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCS = (ROOT / "docs" / "dashboards.md").read_text()
OPS_SECRET = "ops_token"


def binds(service: dict) -> dict[str, str]:
    """Container path -> repo-relative host path of the service's bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        host, container = volume.split(":")[:2]
        if host.startswith("."):
            found[container] = host.removeprefix("./")
    return found


def in_repo(service: dict, container_path: str) -> str:
    """The repo path a container path of `service` comes from, through its bind mounts."""
    path = PurePosixPath(container_path)
    for target, host in binds(service).items():
        if path == PurePosixPath(target) or PurePosixPath(target) in path.parents:
            return str(PurePosixPath(host) / path.relative_to(target))
    raise AssertionError(f"{container_path} is not mounted from the repo")


def flag(service: dict, name: str) -> str:
    values = [arg.split("=", 1)[1] for arg in service["command"] if arg.startswith(name + "=")]
    assert len(values) == 1, (name, service["command"])
    return values[0]


def test_the_stack_is_the_appliance_prometheus_alertmanager_and_grafana():
    assert set(SERVICES) == {"tgwebhook", "prometheus", "alertmanager", "grafana"}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_bind_mount_exists_and_named_volumes_are_declared(name):
    for volume in SERVICES[name].get("volumes", []):
        host = volume.split(":")[0]
        if host.startswith("."):
            assert (ROOT / host).exists(), volume
        else:
            assert host in COMPOSE["volumes"], volume


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck_and_known_dependencies(name):
    service = SERVICES[name]
    assert service["healthcheck"]["test"][0] == "CMD"
    assert set(service.get("depends_on", {})) <= set(SERVICES)


def test_the_appliance_runs_the_documented_serve_command_of_the_image():
    appliance = SERVICES["tgwebhook"]
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), flags=re.M)
    assert appliance["build"] == "."
    assert appliance["command"] == json.loads(cmd.group(1)) == ["python", "app.py", "serve"]
    assert appliance["environment"]["TGWEBHOOK_LISTEN"] == "0.0.0.0:8080"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_command_is_the_one_documented(name):
    service = SERVICES[name]
    command = " ".join(service["command"]) if "command" in service else "(image default)"
    assert f"| `{name}` | " in DOCS, f"docs/dashboards.md has no row for {name}"
    row = next(line for line in DOCS.splitlines() if line.startswith(f"| `{name}` | "))
    assert f"`{command}`" in row, row


def test_prometheus_loads_the_repo_config_and_rules_and_scrapes_the_appliance():
    prometheus = SERVICES["prometheus"]
    config_path = in_repo(prometheus, flag(prometheus, "--config.file"))
    assert ROOT / config_path == PROMETHEUS_DIR / "prometheus.yml"
    config = yaml.safe_load((ROOT / config_path).read_text())
    for rules in config["rule_files"]:
        assert (ROOT / config_path).parent.joinpath(rules).is_file(), rules
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    # The ops listener, never the public one, with the token the appliance requires there.
    appliance = SERVICES["tgwebhook"]["environment"]
    port = appliance["TGWEBHOOK_OPS_LISTEN"].rsplit(":", 1)[1]
    assert port != appliance["TGWEBHOOK_LISTEN"].rsplit(":", 1)[1]
    assert targets["tgwebhook"] == [f"tgwebhook:{port}"]
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "tgwebhook")
    assert job["authorization"]["credentials_file"] == f"/run/secrets/{OPS_SECRET}"
    managers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert managers == ["alertmanager:9093"]


def test_the_ops_listener_has_a_token_shared_with_prometheus_and_is_not_published():
    appliance = SERVICES["tgwebhook"]
    assert appliance["environment"]["TGWEBHOOK_OPS_TOKEN_FILE"] == f"/run/secrets/{OPS_SECRET}"
    assert OPS_SECRET in appliance["secrets"] and OPS_SECRET in SERVICES["prometheus"]["secrets"]
    assert COMPOSE["secrets"][OPS_SECRET] == {"environment": "TGWEBHOOK_OPS_TOKEN"}
    ops_port = appliance["environment"]["TGWEBHOOK_OPS_LISTEN"].rsplit(":", 1)[1]
    assert all(ops_port not in str(port) for port in appliance["ports"])
    assert f"127.0.0.1:{ops_port}/readyz" in " ".join(appliance["healthcheck"]["test"])


def test_alertmanager_loads_the_repo_config():
    alertmanager = SERVICES["alertmanager"]
    path = in_repo(alertmanager, flag(alertmanager, "--config.file"))
    assert ROOT / path == GRAFANA / "alertmanager" / "alertmanager.yml"


def test_grafana_is_provisioned_with_the_datasource_and_the_dashboards():
    grafana = SERVICES["grafana"]
    provisioning = ROOT / in_repo(grafana, "/etc/grafana/provisioning")
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    source = datasources["datasources"][0]
    assert (source["type"], source["uid"]) == ("prometheus", "tgwebhook-prometheus")
    assert source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((provisioning / "dashboards" / "tgwebhook.yml").read_text())
    folder = providers["providers"][0]["options"]["path"]
    assert folder == "/var/lib/grafana/dashboards"
    assert ROOT / in_repo(grafana, folder) == GRAFANA / "dashboards"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / in_repo(grafana, home)).is_file()
