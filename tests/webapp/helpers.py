"""What the web tests share: a hamlet to raise petitions in, and login files of people of
several units, issued and recorded as ``caunoi identities issue`` does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import DATASET, Servers, ServiceProcess, wait_projected

from caunoi.cli.bus import CLIENTS
from caunoi.cli.installation import record_issued
from caunoi.shared.context import Role
from caunoi.shared.identity import Verifier, load_public_key
from caunoi.shared.units import slugify

PROVINCE, COMMUNE, OTHER = "08", "00691", "00694"


@dataclass
class Web:
    """The web application running as its own process."""

    url: str
    keys_file: Path
    proc: ServiceProcess


async def hamlet(servers: Servers) -> str:
    """The hamlet the web tests raise petitions in (added once; the same command id again stores
    nothing), once the petitions service's copy of the list has it."""
    c = await servers.client()
    try:
        body = {"commune_code": COMMUNE, "name": "Thôn Cầu Nối", "kind": "thon", "command_id": "web-test-hamlet"}
        result: dict[str, Any] = await c.command("scheduling", "hamlet_add", body)
        await wait_projected(c, "petitions")
        return str(result["hamlet_id"])
    finally:
        await c.close()


async def login_file(servers: Servers, folder: Path, name: str, unit: str, role: Role) -> Path:
    """A person's login file, issued and recorded as ``caunoi identities issue`` does."""
    inst = servers.installation
    cred = inst.issue(subject=f"{slugify(name)}.{unit}", name=name, unit=unit, dataset=DATASET, roles=[role])
    operator = Verifier(load_public_key(inst.public_key)).actor(servers.operator.headers())
    await record_issued(servers.operator, operator, cred)
    path = folder / f"{slugify(name)}.json"
    inst.login_for(cred, servers.nats_url, CLIENTS).save(path)
    return path
