"""What the web tests share: a hamlet to raise petitions in, login files of people of several
units, issued and recorded as ``caunoi identities issue`` does, and a browser logged in with one
(Playwright driving Debian's Chromium)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
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
    from conftest import Sinks
    from playwright.async_api import Browser, Page

    from caunoi.shared.client import Client

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
    options: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, "accept_downloads": True} | context
    ctx = await browser.new_context(**options)
    page = await ctx.new_page()
    await page.goto(f"{web.url}/login")
    await page.set_input_files("input[name=login_file]", str(login))
    await page.click("form button.primary")
    await page.wait_for_url(re.compile(r".*/petitions$"))
    return page


async def failed_notice(c: Client, sinks: Sinks, commune: str) -> tuple[str, str]:
    """A written reply (to a petition raised by letter in ``commune``) whose SMS the gateway keeps
    refusing: the notice fails after its attempts; the gateway then works again. Its notice id and
    the number it goes to."""
    phone = f"09{uuid.uuid4().int % 10**8:08d}"
    e164 = f"+84{phone[1:]}"
    sinks.http.failing[e164] = 503
    body = {"channel": "letter", "category": "roads", "petitioner": {"name": "Sùng Mí Chứ", "phone": phone},
            "commune_code": commune, "text": "Đường lên cột cờ bị sạt sau mưa lớn."}  # fmt: skip
    pid = (await c.command("petitions", "raise", body))["petition_id"]
    await c.command("petitions", "forward", {"petition_id": pid, "to_unit": PROVINCE})
    await c.command("petitions", "reply", {"petition_id": pid, "document_no": "7/SXD", "summary": "Đã gia cố."})
    deadline = time.monotonic() + 30
    while True:
        await wait_projected(c, "notify")
        items = (await c.query("notify", "list", {"event": pid, "limit": 10}))["items"]
        if items and items[0]["state"] == "failed":
            del sinks.http.failing[e164]
            return str(items[0]["id"]), e164
        assert time.monotonic() < deadline, items
        await asyncio.sleep(0.2)
