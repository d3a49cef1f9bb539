"""The web application as its own process (uvicorn), on the session's servers and services, as
`caunoi up` runs it: the installation's `clients` bus user, an Open311 keys file of its own."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio
from support import Servers, ServiceProcess
from webapp.helpers import ARGS, CHROMIUM, Web

if TYPE_CHECKING:
    from playwright.async_api import Browser

from caunoi.cli.embedded import free_port


def wait_up(url: str, proc: ServiceProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.proc is not None and proc.proc.poll() is None, proc.log.read_text()[-3000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the web application is not up:\n{proc.log.read_text()[-3000:]}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def web(servers: Servers, services: object) -> Iterator[Web]:
    port = free_port()
    keys = servers.root / "web" / "open311-keys.json"
    env = servers.env(
        **servers.installation.client_env(),
        CAUNOI_WEB_PORT=str(port),
        CAUNOI_WEB_OPEN311_KEYS_FILE=str(keys),
        CAUNOI_LOG_LEVEL="info",
    )
    proc = ServiceProcess("caunoi.web", "web", env, servers.root / "logs" / "web.log")
    proc.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url, proc)
        yield Web(url, keys, proc)
    finally:
        proc.stop()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, driven by Playwright (the test modules skip where it is missing)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            await b.close()
