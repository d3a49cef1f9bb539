"""A query that reads the read models waits until they have applied what was stored when it came
(read your writes); a ping or a whoami reads none and answers at once, also while a long
catch-up is under way."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
import pytest
from pydantic import BaseModel
from support import TEST_KEY, credential

from caunoi.shared.context import RequestContext
from caunoi.shared.endpoints import Edge, dispatch, query
from caunoi.shared.identity import Verifier, bearer
from caunoi.shared.service import KERNEL_ENDPOINTS

pytestmark = pytest.mark.asyncio


class Request(BaseModel):
    pass


async def listing(_req: Request, _ctx: RequestContext, _deps: object) -> dict[str, str]:
    return {"rows": "from the read model"}


async def test_a_ping_does_not_wait_for_the_read_models_and_a_listing_does() -> None:
    caught_up = asyncio.Event()
    edge = Edge("svc", Verifier(TEST_KEY.public_key()), settle=caught_up.wait)
    headers = bearer(credential().token)
    kernel = {e.name: e for e in KERNEL_ENDPOINTS}
    assert not kernel["ping"].reads_models and not kernel["whoami"].reads_models
    waiting = asyncio.create_task(dispatch(edge, query("list", Request, listing, "rows"), None, b"{}", headers))
    service = SimpleNamespace(name="svc", settings=SimpleNamespace(role="all"))  # what ping reports
    for name in ("ping", "whoami"):  # answered while the read models are still behind
        reply = orjson.loads(await asyncio.wait_for(dispatch(edge, kernel[name], service, b"{}", headers), 30))
        assert reply["ok"], reply
    await asyncio.sleep(0)
    assert not waiting.done()
    caught_up.set()
    assert orjson.loads(await asyncio.wait_for(waiting, 30)) == {"ok": True, "result": {"rows": "from the read model"}}
