"""The request edge: a query that reads the read models waits until they have applied what was
stored when it came (read your writes), while a ping or a whoami reads none and answers at once,
also during a long catch-up; an event store that does not answer is reported as a command's
unconfirmed write or as a read to try again."""

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

    async def settle() -> None:  # the read models have caught up
        await caught_up.wait()

    edge = Edge("svc", Verifier(TEST_KEY.public_key()), settle=settle)
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


async def test_an_event_store_that_does_not_answer_is_told_apart_for_commands_and_reads() -> None:
    """A command the store did not confirm may have been stored (resend it with the same command
    id); a query or an admin request that could not reach the store changed nothing."""
    from caunoi.shared.endpoints import admin, command
    from caunoi.shared.eventstore import StoreUnavailable

    async def store_down(_req: Request, _ctx: RequestContext, _deps: object) -> dict[str, str]:
        raise StoreUnavailable("no reply from JetStream")

    edge = Edge("svc", Verifier(TEST_KEY.public_key()))
    headers = bearer(credential().token)
    replies = {
        kind: orjson.loads(await dispatch(edge, make(kind, Request, store_down, kind), None, b"{}", headers))
        for kind, make in (("command", command), ("query", query), ("admin", admin))
    }
    assert {r["error"]["code"] for r in replies.values()} == {"unavailable"}
    assert "same command id" in replies["command"]["error"]["message_en"]
    for kind in ("query", "admin"):
        assert replies[kind]["error"]["message_en"] == "the event store did not answer in time; try again"
        assert replies[kind]["error"]["message"] == "Kho sự kiện tạm thời không trả lời; hãy thử lại"
