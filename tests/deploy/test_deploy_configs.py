"""Static checks of the deployment files: docker-compose.yml, deploy/cluster/, deploy/Dockerfile.

No Docker engine is needed: the compose files are read as text (the subset of YAML they use:
block mappings, flow lists, anchors and ``<<`` merges), plus a structural check with PyYAML when
it is installed; every NATS config is checked by the real ``nats-server -t``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from caunoi.cli import bus
from caunoi.cli.embedded import find_nats_server, nats_config_env
from caunoi.cli.installation import Installation

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
CLUSTER_DIR = ROOT / "deploy" / "cluster"
CLUSTER_COMPOSE = CLUSTER_DIR / "docker-compose.cluster.yml"
NATS_CONF = ROOT / "deploy" / "nats" / "nats-server.conf"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
NODE_CONFS = [CLUSTER_DIR / f"nats-{i}.conf" for i in (1, 2, 3)]
NATS_ENV = ("CAUNOI_NATS_HOST", "CAUNOI_NATS_PORT", "CAUNOI_NATS_MONITOR_PORT", "CAUNOI_NATS_STORE_DIR")
COMPOSE_FILES = {"single": COMPOSE, "cluster": CLUSTER_COMPOSE}
NATS_SERVICES = {"single": ["nats"], "cluster": ["nats-1", "nats-2", "nats-3"]}
REPLICAS = {"single": "1", "cluster": "3"}


def installed_services() -> list[str]:
    return sorted(ep.name for ep in entry_points(group="caunoi.services"))


# ----------------------------------------------------------- a reader for our compose files

Block = list[tuple[int, str]]  # (indent, text without comment), blank lines dropped


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _block(text: str) -> Block:
    out = []
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if line.strip():
            out.append((len(line) - len(line.lstrip(" ")), line.strip()))
    return out


_KEY = re.compile(r"^(?P<key>[A-Za-z0-9_.<-]+):(?:\s+(?P<value>.*))?$")


def _mapping(block: Block) -> dict[str, tuple[str, Block]]:
    """Keys at the block's outer indent -> (inline value, nested lines)."""
    if not block:
        return {}
    indent = min(i for i, _ in block)
    out: dict[str, tuple[str, Block]] = {}
    key = None
    for i, text in block:
        if i == indent:
            m = _KEY.match(text)
            assert m, f"not a mapping key: {text!r}"
            key = m["key"]
            out[key] = ((m["value"] or "").strip(), [])
        else:
            assert key is not None
            out[key][1].append((i, text))
    return out


def _scalar(value: str) -> str:
    if value.startswith("'"):
        assert value.endswith("'"), value
        return value[1:-1].replace("''", "'")
    if value.startswith('"'):
        result: str = json.loads(value)
        return result
    return value


def _items(block: Block) -> list[str]:
    """A block sequence of scalars."""
    return [_scalar(text[2:].strip()) for _, text in block if text.startswith("- ")]


def _anchors(block: Block) -> dict[str, Block]:
    out = {}
    for n, (indent, text) in enumerate(block):
        m = re.match(r"^[A-Za-z0-9_.-]+:\s+&([A-Za-z0-9_-]+)$", text)
        if m:
            nested = []
            for i, t in block[n + 1 :]:
                if i <= indent:
                    break
                nested.append((i, t))
            out[m[1]] = nested
    return out


@cache
def compose(path: Path) -> dict[str, dict[str, tuple[str, Block]]]:
    """``{service: {key: (inline value, nested lines)}}`` with ``<<: *anchor`` merged in."""
    lines = _block(path.read_text())
    anchors = _anchors(lines)
    services = {}
    for name, (_, body) in _mapping(_mapping(lines)["services"][1]).items():
        own = _mapping(body)
        merged: dict[str, tuple[str, Block]] = {}
        if "<<" in own:
            alias = own.pop("<<")[0]
            assert alias.startswith("*"), alias
            merged.update(_mapping(anchors[alias[1:]]))
        merged.update(own)  # explicit keys win over merged ones, as in YAML
        services[name] = merged
    return services


def env(service: dict[str, tuple[str, Block]]) -> dict[str, str]:
    return {k: _scalar(v) for k, (v, _) in _mapping(service["environment"][1]).items()}


def command(service: dict[str, tuple[str, Block]]) -> list[str]:
    value = service["command"][0]
    assert value.startswith("["), f"command should be a flow list: {value}"
    result: list[str] = json.loads(value)
    return result


def volumes(service: dict[str, tuple[str, Block]]) -> list[str]:
    return _items(service["volumes"][1])


def top_level_volumes(path: Path) -> set[str]:
    return set(_mapping(_mapping(_block(path.read_text()))["volumes"][1]))


def depends_on(service: dict[str, tuple[str, Block]]) -> dict[str, str]:
    deps = _mapping(service["depends_on"][1])
    return {name: _mapping(body)["condition"][0] for name, (_, body) in deps.items()}


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
    test = json.loads(_mapping(nats["healthcheck"][1])["test"][0])
    assert test[:2] == ["CMD", "wget"]
    assert test[-1] == "http://127.0.0.1:8222/healthz?js-enabled-only=true"


def test_postgres_is_healthchecked_and_persistent() -> None:
    pg = compose(COMPOSE)["postgres"]
    assert pg["image"][0].startswith("postgres:16")
    assert "pg_isready" in _mapping(pg["healthcheck"][1])["test"][0]
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
        assert _mapping(svc["build"][1])["dockerfile"][0] == "deploy/Dockerfile"
        assert svc["restart"][0] == "unless-stopped"
        e = env(svc)
        assert e["NATS_URL"] == "nats://nats:4222"
        assert e["DATABASE_URL"].startswith("postgresql://") and e["DATABASE_URL"].endswith("@postgres:5432/postgres")
        assert e["CAUNOI_STREAM_REPLICAS"] == REPLICAS[variant]
        deps = depends_on(svc)
        assert set(deps) == {*NATS_SERVICES[variant], "postgres"}
        assert set(deps.values()) == {"service_healthy"}


@pytest.mark.parametrize("variant", sorted(COMPOSE_FILES))
def test_cli_is_an_on_demand_tool(variant: str) -> None:
    cli = compose(COMPOSE_FILES[variant])["cli"]
    assert cli["profiles"][0] == '["tools"]'
    assert command(cli)[0] == "caunoi"


@pytest.mark.parametrize("variant", sorted(COMPOSE_FILES))
def test_ports_are_published_on_loopback_only(variant: str) -> None:
    for name, svc in compose(COMPOSE_FILES[variant]).items():
        for port in _items(svc["ports"][1]) if "ports" in svc else []:
            assert port.startswith("127.0.0.1:"), f"{name}: {port}"


@pytest.mark.parametrize("variant", sorted(COMPOSE_FILES))
def test_nats_image_has_atomic_batch_publish(variant: str) -> None:
    for name in NATS_SERVICES[variant]:
        image = compose(COMPOSE_FILES[variant])[name]["image"][0]
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
        assert "nats" in node["networks"][1][-1][1], "the nats alias NATS_URL relies on"
        text = conf.read_text()
        assert 'include "nats-cluster-common.conf"' in text
        names.update(re.findall(r"^server_name:\s*(\S+)", text, re.M))
    assert len(names) == 3, "server_name must be unique per node"
    common = (CLUSTER_DIR / "nats-cluster-common.conf").read_text()
    assert set(re.findall(r"nats-route://([\w-]+):6222", common)) == {"nats-1", "nats-2", "nats-3"}


def test_durability_settings() -> None:
    """Single node fsyncs every write; the cluster relies on 3 replicas (deploy/README.md)."""
    assert re.search(r"^\s*sync_interval:\s*always\s*$", NATS_CONF.read_text(), re.M)
    assert not re.search(r"^\s*sync_interval:", (CLUSTER_DIR / "nats-cluster-common.conf").read_text(), re.M)


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


@pytest.mark.parametrize("conf", NODE_CONFS, ids=lambda p: p.name)
def test_cluster_config_is_valid(conf: Path, tmp_path: Path) -> None:
    res = nats_check(conf, {}, tmp_path)
    assert res.returncode == 0 and "is valid" in res.stdout + res.stderr, res.stdout + res.stderr


# ------------------------------------------------------------- with PyYAML, if installed


@pytest.mark.parametrize("variant", sorted(COMPOSE_FILES))
def test_text_reader_agrees_with_yaml(variant: str) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed; the text checks above stand alone")
    doc = yaml.safe_load(COMPOSE_FILES[variant].read_text())
    services = compose(COMPOSE_FILES[variant])
    assert set(doc["services"]) == set(services)
    for name, svc in doc["services"].items():
        if "environment" in svc:
            assert {k: str(v) for k, v in svc["environment"].items()} == env(services[name]), name
        if "command" in svc:
            assert svc["command"] == command(services[name]), name
        if "volumes" in svc:
            assert svc["volumes"] == volumes(services[name]), name
        if isinstance(svc.get("depends_on"), dict):
            assert {k: v["condition"] for k, v in svc["depends_on"].items()} == depends_on(services[name])
