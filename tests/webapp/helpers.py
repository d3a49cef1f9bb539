"""What the web tests share: a hamlet to raise petitions in, login files of people of several
units, issued and recorded as ``caunoi identities issue`` does, and a browser logged in with one
(Playwright driving Debian's Chromium)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support import DATASET, Servers, ServiceProcess, wait_projected

from caunoi.cli.bus import CLIENTS
from caunoi.cli.installation import record_issued
from caunoi.shared.context import Role
from caunoi.shared.identity import Verifier, load_public_key
from caunoi.shared.units import slugify

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

PROVINCE, COMMUNE, OTHER = "08", "00691", "00694"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]  # fmt: skip


def require_chromium() -> None:
    """Skip the calling test module, saying why, where Debian's Chromium is missing."""
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's Chromium at /usr/bin/chromium; `make test` installs it when run as root on"
            " Debian (apt-get install chromium), otherwise these tests are skipped",
            allow_module_level=True,
        )


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


async def logged_in(browser: Browser, web: Web, login: Path, **context: Any) -> Page:
    """A browser of its own (cookies apart), logged in with the login file."""
    ctx = await browser.new_context(
        **({"viewport": {"width": 1280, "height": 900}, "accept_downloads": True} | context)
    )
    page = await ctx.new_page()
    await page.goto(f"{web.url}/login")
    await page.set_input_files("input[name=login_file]", str(login))
    await page.click("form button.primary")
    await page.wait_for_url(re.compile(r".*/petitions$"))
    return page
