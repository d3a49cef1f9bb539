"""The `caunoi` sub-commands that send commands, as a clerk types them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support import Servers, ServiceProcess

CAUNOI = [sys.executable, "-m", "caunoi.cli.main"]


def run(servers: Servers, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CAUNOI, *args], env=servers.env(), capture_output=True, text=True, timeout=60)


@pytest.mark.asyncio
async def test_clerk_adds_a_hamlet_and_raises_a_petition_there(
    servers: Servers, services: dict[str, ServiceProcess]
) -> None:
    add = ["scheduling", "hamlets", "add", "--commune", "00700", "--name", "Thôn Lũng Pủ", "--kind", "thon"]
    added = run(servers, "--json", *add, "--command-id", "cli-hamlet-1")
    assert added.returncode == 0, added.stderr
    hid = json.loads(added.stdout)["hamlet_id"]
    assert hid == "00700-thon-lung-pu"
    again = run(servers, *add, "--command-id", "cli-hamlet-1")
    assert again.returncode == 0 and "already done" in again.stdout

    args = [
        "petitions",
        "raise",
        "--channel",
        "meeting",
        "--category",
        "roads",
        "--name",
        "Lò Văn Dũng",
        "--commune",
        "00700",
        "--hamlet",
        hid,
        "--text",
        "Đề nghị làm đường lên bản",
    ]
    for _ in range(50):  # petitions learns the new hamlet from the scheduling stream
        raised = run(servers, *args, "--command-id", "cli-raise-1")
        if raised.returncode == 0:
            break
    assert raised.returncode == 0, raised.stderr
    assert raised.stdout.startswith("PA-") and "Đã tiếp nhận" in raised.stdout

    bad = run(servers, "--lang", "en", *[a if a != "00700" else "99999" for a in args])
    assert bad.returncode == 2
    assert "unknown_unit [commune_code]" in bad.stderr and "no commune" in bad.stderr


@pytest.mark.asyncio
async def test_operator_projection_commands_as_the_readme_gives_them(
    servers: Servers, services: dict[str, ServiceProcess]
) -> None:
    # a service with several read models (petitions: its own and its copy of the hamlets) rebuilds
    # the one named after it by default
    for service, projection in (("petitions", "petitions"), ("scheduling", "scheduling")):
        res = run(servers, "projections", "rebuild", service)
        assert res.returncode == 0, res.stderr
        assert f"done: {projection} at position" in res.stdout
        assert " s (nạp / loading " in res.stdout and " s, chỉ mục / indexes " in res.stdout
    res = run(servers, "projections", "skip", "scheduling", "999999", "--operator", "test")
    assert res.returncode == 0 and "nothing parked" in res.stdout, res.stderr
    res = run(servers, "--json", "projections", "parked", "petitions")
    assert res.returncode == 0 and json.loads(res.stdout) == []
    res = run(servers, "projections", "rebuild", "petitions", "--projection", "nope")
    assert res.returncode == 2 and "known" not in res.stdout
