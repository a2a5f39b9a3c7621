"""docker-compose.scale.yml, checked without Docker: three replicas of the documented serve
command on one PostgreSQL, and nginx balancing over exactly those replicas."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.helpers.support import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.scale.yml").read_text())
SERVICES = COMPOSE["services"]
REPLICAS = sorted(name for name in SERVICES if name.startswith("tgwebhook-"))


def test_three_replicas_postgres_and_nginx():
    assert set(SERVICES) == {*REPLICAS, "postgres", "nginx"} and len(REPLICAS) == 3


@pytest.mark.parametrize("name", REPLICAS)
def test_each_replica_serves_from_the_shared_postgres(name):
    replica, postgres = SERVICES[name], SERVICES["postgres"]["environment"]
    assert replica["command"] == ["python", "app.py", "serve"]
    url = replica["environment"]["TGWEBHOOK_DB"]
    match = re.fullmatch(
        r"postgresql://(\w+):\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/(\w+)", url
    )
    assert match and match.groups() == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert replica["environment"]["TGWEBHOOK_LISTEN"] == "0.0.0.0:8080"


def test_nginx_balances_over_every_replica_and_only_those():
    nginx = SERVICES["nginx"]
    host, container = nginx["volumes"][0].split(":")[:2]
    config = (ROOT / host).read_text()
    assert container == "/etc/nginx/conf.d/default.conf"
    assert sorted(re.findall(r"server (tgwebhook-\d):8080", config)) == REPLICAS
    assert set(nginx["depends_on"]) == set(REPLICAS)
    assert "non_idempotent" in config  # a POST is retried elsewhere: dedup makes that safe


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck_and_declared_volumes(name):
    service = SERVICES[name]
    assert service["healthcheck"]["test"][0] == "CMD"
    for volume in service.get("volumes", []):
        host = volume.split(":")[0]
        assert (ROOT / host).exists() if host.startswith(".") else host in COMPOSE["volumes"]


def test_the_compose_file_is_described_in_the_scaling_docs():
    text = Path(ROOT / "docs" / "scaling.md").read_text()
    assert "docker-compose.scale.yml" in text and "max by (bot)" in text
