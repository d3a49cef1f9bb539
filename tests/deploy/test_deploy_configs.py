"""Static checks of the deployment files: docker-compose.yml, deploy/cluster/, deploy/Dockerfile.

No Docker engine is needed: the compose files are read with PyYAML (merges applied as Compose
does); every NATS config is checked by the real ``nats-server -t``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml

from caunoi.cli import bus
from caunoi.cli.cluster import NodePorts, cluster_env
from caunoi.cli.embedded import find_nats_server, nats_config_env
from caunoi.cli.installation import Installation
from caunoi.shared.settings import replay_user

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
CLUSTER_DIR = ROOT / "deploy" / "cluster"
CLUSTER_COMPOSE = CLUSTER_DIR / "docker-compose.cluster.yml"
NATS_CONF = ROOT / "deploy" / "nats" / "nats-server.conf"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
NODE_CONFS = [CLUSTER_DIR / f"nats-{i}.conf" for i in (1, 2, 3)]
NATS_ENV = ("CAUNOI_NATS_HOST", "CAUNOI_NATS_PORT", "CAUNOI_NATS_MONITOR_PORT", "CAUNOI_NATS_STORE_DIR")
CLUSTER_NATS_ENV = (*NATS_ENV, "CAUNOI_NATS_CLUSTER_PORT", "CAUNOI_NATS_ROUTES")
COMPOSE_FILES = {"single": COMPOSE, "cluster": CLUSTER_COMPOSE}
NATS_SERVICES = {"single": ["nats"], "cluster": ["nats-1", "nats-2", "nats-3"]}
REPLICAS = {"single": "1", "cluster": "3"}


def installed_services() -> list[str]:
    return sorted(ep.name for ep in entry_points(group="caunoi.services"))


#: the services that seal or open personal data (``Service(..., vault=True)``)
VAULT_USERS = {ep.name for ep in entry_points(group="caunoi.runtimes") if ep.load()().uses_vault}


# ------------------------------------------------------------------- the compose files

Service = dict[str, Any]


@cache
def compose(path: Path) -> dict[str, Service]:
    """The services of a compose file, ``<<`` merges applied (by PyYAML)."""
    services: dict[str, Service] = yaml.safe_load(path.read_text())["services"]
    return services


def env(service: Service) -> dict[str, str]:
    return {k: str(v) for k, v in service.get("environment", {}).items()}


def command(service: Service) -> list[str]:
    return list(service["command"])


def volumes(service: Service) -> list[str]:
    return list(service.get("volumes", []))


def top_level_volumes(path: Path) -> set[str]:
    return set(yaml.safe_load(path.read_text())["volumes"])


def depends_on(service: Service) -> dict[str, str]:
    return {name: dep["condition"] for name, dep in service["depends_on"].items()}


def nats_check(conf: Path, extra_env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("CAUNOI_NATS_")}
    run_env.update(extra_env)
    return subprocess.run(
        [str(find_nats_server()), "-t", "-c", str(conf)],
        env=run_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -------------------------------------------------------------------------- single node


def test_nats_service_runs_the_deploy_config() -> None:
    nats = compose(COMPOSE)["nats"]
    mounts = [v for v in volumes(nats) if v.startswith("./deploy/nats/nats-server.conf:")]
    assert len(mounts) == 1, volumes(nats)
    _source, target, mode = mounts[0].split(":")
    assert mode == "ro"
    argv = command(nats)
    assert argv[argv.index("-c") + 1] == target
    # beside it: the permission policy and this installation's users (caunoi bus init)
    beside = {v.split(":")[1]: v.split(":")[0] for v in volumes(nats)}
    assert beside["/etc/nats/permissions.conf"] == "./deploy/nats/permissions.conf"
    assert beside["/etc/nats/auth.conf"] == "./deploy/local/nats/conf/auth.conf"


def test_nats_env_is_quoted_like_the_embedded_server() -> None:
    """All four variables set, with the values and quoting of ``nats_config_env``."""
    nats = compose(COMPOSE)["nats"]
    want = nats_config_env("0.0.0.0", 4222, 8222, Path("/data"))
    assert set(want) == set(NATS_ENV)
    assert {k: v for k, v in env(nats).items() if k.startswith("CAUNOI_NATS_")} == want
    # /data (the store dir) is a named volume
    data = [v for v in volumes(nats) if v.split(":")[1] == "/data"]
    assert len(data) == 1 and data[0].split(":")[0] in top_level_volumes(COMPOSE)


def test_nats_healthcheck_uses_the_monitoring_port() -> None:
    nats = compose(COMPOSE)["nats"]
    test = nats["healthcheck"]["test"]
    assert test[:2] == ["CMD", "wget"]
    assert test[-1] == "http://127.0.0.1:8222/healthz?js-enabled-only=true"


def test_postgres_is_healthchecked_and_persistent() -> None:
    pg = compose(COMPOSE)["postgres"]
    assert pg["image"].startswith("postgres:16")
    assert "pg_isready" in pg["healthcheck"]["test"]
    assert any(v.split(":")[1] == "/var/lib/postgresql/data" for v in volumes(pg))


# ------------------------------------------------------------------------ both variants


@pytest.mark.parametrize("variant", sorted(COMPOSE_FILES))
def test_every_installed_service_has_a_container(variant: str) -> None:
    services = compose(COMPOSE_FILES[variant])
    names = installed_services()
    assert names, "no caunoi.services entry points installed"
    for name in names:
        assert name in services, f"{COMPOSE_FILES[variant].name}: no service {name!r}"
        svc = services[name]
        assert command(svc) == ["python", "-m", f"caunoi.{name}"]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert svc["restart"] == "unless-stopped"
        e = env(svc)
        assert e["NATS_URL"] == "nats://nats:4222"
        assert e["DATABASE_URL"].startswith("postgresql://") and e["DATABASE_URL"].endswith("@postgres:5432/postgres")
        assert e["CAUNOI_STREAM_REPLICAS"] == REPLICAS[variant]
        # it connects as its own NATS user and verifies credentials with the installation's key
        assert e["CAUNOI_NATS_USER"] == name
        mounts = dict(v.rsplit(":", 2)[:2] for v in volumes(svc))
        local = "./deploy/local" if variant == "single" else "../local"
        assert mounts[f"{local}/keys/nats/{name}.nk"] == e["CAUNOI_NATS_NKEY_FILE"]
        # its projections' bulk reads connect as its replay user
        assert mounts[f"{local}/keys/nats/{replay_user(name)}.nk"] == e["CAUNOI_NATS_REPLAY_NKEY_FILE"]
        assert mounts[f"{local}/keys/identity.pub"] == e["CAUNOI_IDENTITY_PUBLIC_KEY"]
        # it signs its stream's checkpoints with its own key; only the services that decrypt personal
        # data get the key store's master key
        assert mounts[f"{local}/keys/audit/{name}.pem"] == e["CAUNOI_AUDIT_KEY"]
        assert (mounts.get(f"{local}/keys/vault.key"), e.get("CAUNOI_VAULT_KEY")) == (
            ("/run/caunoi/vault.key",) * 2 if name in VAULT_USERS else (None, None)
        )
        deps = depends_on(svc)
        assert set(deps) == {*NATS_SERVICES[variant], "postgres"}
        assert set(deps.values()) == {"service_healthy"}


@pytest.mark.parametrize("variant", sorted(COMPOSE_FILES))
def test_the_web_application_is_a_client_with_its_own_container(variant: str) -> None:
    web = compose(COMPOSE_FILES[variant])["web"]
    assert command(web) == ["python", "-m", "caunoi.web"]
    e = env(web)
    assert e["CAUNOI_NATS_USER"] == "clients" and e["NATS_URL"] == "nats://nats:4222"
    local = "./deploy/local" if variant == "single" else "../local"
    mounts = dict(v.rsplit(":", 2)[:2] for v in volumes(web))
    assert mounts[f"{local}/keys/nats/clients.nk"] == e["CAUNOI_NATS_NKEY_FILE"]
    assert mounts[f"{local}/keys/identity.pub"] == e["CAUNOI_IDENTITY_PUBLIC_KEY"]
    assert mounts[f"{local}/keys/web-session.key"] == e["CAUNOI_WEB_SESSION_KEY_FILE"]
    assert e["CAUNOI_WEB_OPEN311_KEYS_FILE"].startswith(mounts[f"{local}/web"] + "/")
    assert web["ports"] == [f"127.0.0.1:{e['CAUNOI_WEB_PORT']}:{e['CAUNOI_WEB_PORT']}"]
    assert set(depends_on(web)) == {*NATS_SERVICES[variant], "postgres"}
    assert e["CAUNOI_STREAM_REPLICAS"] == REPLICAS[variant]
    text = DOCKERFILE.read_text()
    assert "COPY web/ web/" in text and "./web" in text and "caunoi.web.app" in text


@pytest.mark.parametrize("variant", sorted(COMPOSE_FILES))
def test_cli_is_an_on_demand_tool(variant: str) -> None:
    cli = compose(COMPOSE_FILES[variant])["cli"]
    assert cli["profiles"] == ["tools"]
    assert command(cli)[0] == "caunoi"


@pytest.mark.parametrize("variant", sorted(COMPOSE_FILES))
def test_ports_are_published_on_loopback_only(variant: str) -> None:
    for name, svc in compose(COMPOSE_FILES[variant]).items():
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port}"


@pytest.mark.parametrize("variant", sorted(COMPOSE_FILES))
def test_nats_image_has_atomic_batch_publish(variant: str) -> None:
    for name in NATS_SERVICES[variant]:
        image = compose(COMPOSE_FILES[variant])[name]["image"]
        m = re.fullmatch(r"nats:2\.(\d+)(?:\.\d+)?-alpine", image)
        assert m and int(m[1]) >= 12, f"{name}: {image} (JetStream atomic batch needs >= 2.12)"


# ------------------------------------------------------------------------------ cluster


def test_cluster_nodes_mount_their_config() -> None:
    services = compose(CLUSTER_COMPOSE)
    names = set()
    for i, conf in enumerate(NODE_CONFS, 1):
        node = services[f"nats-{i}"]
        mounts = dict(v.rsplit(":", 2)[:2] for v in volumes(node) if v.startswith("./"))
        assert mounts[f"./{conf.name}"] == "/etc/nats/nats.conf"
        assert mounts["./nats-cluster-common.conf"] == "/etc/nats/nats-cluster-common.conf"
        assert command(node) == ["nats-server", "-c", "/etc/nats/nats.conf"]
        assert any(v.split(":")[1] == "/data" for v in volumes(node))
        assert "nats" in next(iter(node["networks"].values()))["aliases"], "the nats alias NATS_URL relies on"
        assert node["hostname"] == f"nats-{i}"
        # beside it: the permission policy and this installation's users (caunoi bus init)
        beside = {v.split(":")[1]: v.split(":")[0] for v in volumes(node)}
        assert beside["/etc/nats/permissions.conf"] == "../nats/permissions.conf"
        assert beside["/etc/nats/auth.conf"] == "../local/nats/conf/auth.conf"
        text = conf.read_text()
        assert 'include "nats-cluster-common.conf"' in text
        names.update(re.findall(r"^server_name:\s*(\S+)", text, re.M))
    assert len(names) == 3, "server_name must be unique per node"


def cluster_compose_env(node: str = "nats-1") -> dict[str, str]:
    return {k: v for k, v in env(compose(CLUSTER_COMPOSE)[node]).items() if k.startswith("CAUNOI_NATS_")}


def test_cluster_nodes_get_the_env_of_the_loopback_cluster() -> None:
    """Every node the same variables (ports and store dir inside its container), the ones
    caunoi.cli.cluster passes to the same files on loopback; routes to every node on 6222."""
    want = {**nats_config_env("0.0.0.0", 4222, 8222, Path("/data")), **cluster_env(NodePorts(4222, 6222, 8222), [])}
    assert set(want) == set(CLUSTER_NATS_ENV)
    for node in NATS_SERVICES["cluster"]:
        have = cluster_compose_env(node)
        routes = yaml.safe_load(have.pop("CAUNOI_NATS_ROUTES"))  # a JSON list is YAML too
        assert routes == [f"nats-route://nats-{i}:6222" for i in (1, 2, 3)]
        assert have == {k: v for k, v in want.items() if k != "CAUNOI_NATS_ROUTES"}


def test_durability_settings() -> None:
    """Every write fsynced before its ack, on the single node and on the cluster too: replicas on
    nodes that share a power domain do not survive a power cut without it (deploy/README.md)."""
    for conf in (NATS_CONF, CLUSTER_DIR / "nats-cluster-common.conf"):
        settings = re.findall(r"^\s*sync_interval:\s*(\S+)\s*$", conf.read_text(), re.M)
        assert settings == ["always"], f"{conf.name}: {settings}"


# ---------------------------------------------------------------------------- Dockerfile


def test_dockerfile_installs_every_service() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}", text, re.M)
    assert "ARG PYTHON_IMAGE=python:3.12-slim" in text
    install = re.search(r"^RUN /opt/caunoi/bin/pip install (.+)$", text, re.M)
    assert install, "pip install line not found"
    paths = install[1].split()
    for name in installed_services():
        assert (ROOT / "services" / name / "pyproject.toml").is_file()
        assert f"./services/{name}" in paths, f"Dockerfile does not install services/{name}"
        assert f"COPY services/{name}/ services/{name}/" in text
        assert f"caunoi.{name}.bootstrap" in text, "the build-time import check misses it"
    assert {"./shared", "./cli"} <= set(paths)
    assert "-e" not in paths
    assert not any("[embedded]" in p for p in paths), "the image must not carry the embedded dev servers"
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0")), "image must run as non-root"
    assert not re.search(r"^ENTRYPOINT", text, re.M), "compose commands are the whole argv"


@pytest.mark.parametrize("variant", sorted(COMPOSE_FILES))
def test_images_are_not_pinned_to_one_platform(variant: str) -> None:
    assert "platform:" not in COMPOSE_FILES[variant].read_text()


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", ".caunoi", ".pytest_cache", "**/__pycache__"} <= ignored


# ----------------------------------------------------------------- nats-server -t checks


def deployed_conf(tmp_path: Path) -> Path:
    """deploy/nats/ as the nats container sees it: the committed files beside the auth.conf that
    `caunoi bus init` generates."""
    inst = Installation(tmp_path / "local")
    inst.prepare()
    conf = tmp_path / "etc-nats"
    conf.mkdir()
    for name in ("nats-server.conf", "permissions.conf"):
        shutil.copyfile(NATS_CONF.parent / name, conf / name)
    shutil.copyfile(inst.conf_dir / "auth.conf", conf / "auth.conf")
    return conf / "nats-server.conf"


def test_nats_config_is_valid_with_the_compose_env(tmp_path: Path) -> None:
    compose_env = {k: v for k, v in env(compose(COMPOSE)["nats"]).items() if k in NATS_ENV}
    res = nats_check(deployed_conf(tmp_path), compose_env, tmp_path)
    assert res.returncode == 0 and "is valid" in res.stdout + res.stderr, res.stdout + res.stderr


def test_nats_config_needs_every_variable(tmp_path: Path) -> None:
    """The check above really depends on the env it is given (no default syntax in nats)."""
    compose_env = {k: v for k, v in env(compose(COMPOSE)["nats"]).items() if k in NATS_ENV}
    conf = deployed_conf(tmp_path)
    for missing in NATS_ENV:
        res = nats_check(conf, {k: v for k, v in compose_env.items() if k != missing}, tmp_path)
        assert res.returncode != 0 and missing in res.stdout + res.stderr


def test_the_committed_permissions_are_what_the_code_generates() -> None:
    assert (NATS_CONF.parent / "permissions.conf").read_text() == bus.render_permissions(bus.installed_services()), (
        "run `caunoi bus permissions --write deploy/nats/permissions.conf` (and copy it to cli/src/caunoi/cli/data/)"
    )


def deployed_node_conf(tmp_path: Path, conf: Path) -> Path:
    """As a node's container sees /etc/nats: its file, the common one, the permissions, auth.conf."""
    etc = deployed_conf(tmp_path).parent
    for name in (conf.name, "nats-cluster-common.conf"):
        shutil.copyfile(CLUSTER_DIR / name, etc / name)
    return etc / conf.name


@pytest.mark.parametrize("conf", NODE_CONFS, ids=lambda p: p.name)
def test_cluster_config_is_valid_with_the_compose_env(conf: Path, tmp_path: Path) -> None:
    res = nats_check(deployed_node_conf(tmp_path, conf), cluster_compose_env(conf.stem), tmp_path)
    assert res.returncode == 0 and "is valid" in res.stdout + res.stderr, res.stdout + res.stderr


def test_cluster_config_needs_every_variable(tmp_path: Path) -> None:
    conf = deployed_node_conf(tmp_path, NODE_CONFS[0])
    compose_env = cluster_compose_env()
    for missing in CLUSTER_NATS_ENV:
        res = nats_check(conf, {k: v for k, v in compose_env.items() if k != missing}, tmp_path)
        assert res.returncode != 0 and missing in res.stdout + res.stderr
