"""What a client offers on a "Dân vận khéo" model (``available_actions``: the ``actions`` of the ``model``
query) is exactly what the service accepts: for a model at every point of its life, on the three-tier
ladder and the 2025 two-tier one, and for people of the commune, the district, the province, a national
operator and an auditor, every command the query offers is accepted with valid input, and every one it
does not offer is refused (and stores nothing). Through the request edge and the real handlers, on the
in-memory event store (the ``model`` query and the commands read only the log)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from reporting.models_support import at, deployment, evaluation, notice, registration, vote
from support import Harness, credential

from caunoi.reporting.bootstrap import STREAM, wire
from caunoi.reporting.domain.models import ACTS
from caunoi.reporting.handlers import ENDPOINTS
from caunoi.shared.context import Role
from caunoi.shared.identity import Credential
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio

NOW = at(2026, 6, 1)
Step = Callable[["Life"], Any]


class Life:
    """One model taken through some of its steps, each by a national operator (who acts for any
    committee), so that the people asking afterwards see it as its history made it."""

    def __init__(self, svc: Harness[Any], commune: str) -> None:
        self.svc, self.commune, self.id = svc, commune, ""

    async def shown(self, as_: Credential | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.svc.ok("model", {"model_id": self.id}, as_=as_)
        return result

    async def run(self, steps: list[str]) -> Life:
        self.id = (await self.svc.ok("model_register", registration(self.commune)))["model_id"]
        for step in steps:
            await STEPS[step](self)
        return self


async def _rung(life: Life, name: str) -> None:
    shown = await life.shown()
    tier = shown["next_tier"]
    body = {"model_report": {"model_id": life.id, "achievements": "Đạt các chỉ tiêu"},
            "model_vote": vote(life.id, tier), "model_notice": notice(life.id, tier, f"{tier}-TB")}[name]  # fmt: skip
    await life.svc.ok(name, body)


async def _commend(life: Life, by_unit: str) -> None:
    await life.svc.ok("model_commend", {"model_id": life.id, "year": 2026, "reason": "Tiêu biểu", "by_unit": by_unit})


async def _climb(life: Life) -> None:
    while (await life.shown())["next_tier"]:
        for name in ("model_report", "model_vote", "model_notice"):
            await _rung(life, name)


STEPS: dict[str, Step] = {
    "deploy": lambda life: life.svc.ok("model_deploy", deployment(life.id)),
    "monitor": lambda life: life.svc.ok("model_monitor", {"model_id": life.id, "kind": "activity", "text": "Họp dân"}),
    "evaluate": lambda life: life.svc.ok("model_evaluate", evaluation(life.id)),
    "evaluate below": lambda life: life.svc.ok("model_evaluate", evaluation(life.id, results=(30, 3, 2))),
    "evaluate, replicable at the grassroots": lambda life: life.svc.ok(
        "model_evaluate", evaluation(life.id, replicable_at="grassroots")
    ),
    "report": lambda life: _rung(life, "model_report"),
    "vote": lambda life: _rung(life, "model_vote"),
    "notice": lambda life: _rung(life, "model_notice"),
    "climb": _climb,
    "commend (province)": lambda life: _commend(life, "08"),
    "commend (commune)": lambda life: _commend(life, life.commune),
}
RECOGNISED = ["deploy", "evaluate", "report", "vote", "notice"]
TOP = ["deploy", "evaluate", "climb"]
LOCAL = ["deploy", "evaluate, replicable at the grassroots", "report", "vote", "notice", "report"]
#: a model at each point of its life
LIVES: dict[str, list[str]] = {
    "registered": [],
    "deployed": ["deploy"],
    "monitored": ["deploy", "monitor"],
    "evaluated": ["deploy", "evaluate"],
    "evaluated below, reported": ["deploy", "evaluate below", "report"],
    "reported": ["deploy", "evaluate", "report"],
    "reported, then evaluated again": ["deploy", "evaluate", "report", "evaluate"],
    "voted": ["deploy", "evaluate", "report", "vote"],
    "recognised": RECOGNISED,
    "recognised, proposed higher": [*RECOGNISED, "report"],
    "recognised, replicable only at the grassroots, proposed higher": LOCAL,
    "recognised, voted higher": [*RECOGNISED, "report", "vote"],
    "at the top": TOP,
    "at the top, commended by the province": [*TOP, "commend (province)"],
    "at the top, commended by the commune and the province": [*TOP, "commend (province)", "commend (commune)"],
}


def people(dataset: str) -> dict[str, tuple[Credential, list[str]]]:
    """Who asks: each credential and the units it may commend or plan for (a national operator: any on
    the model's path)."""
    commune, district = ("02227", "072") if dataset == "vn-2024" else ("00691", None)
    path = [commune, *([district] if district else []), "08"]
    out = {
        "commune clerk": (credential(commune, Role.clerk, dataset=dataset), [commune]),
        "province officer": (credential("08", Role.officer, dataset=dataset), ["08"]),
        "national operator": (credential(dataset=dataset), path),
        "auditor": (credential("08", Role.auditor, dataset=dataset), ["08"]),
    }
    if district:
        out["district officer"] = (credential(district, Role.officer, dataset=dataset), [district])
    return out


def valid(name: str, mid: str, shown: dict[str, Any], units: list[str]) -> dict[str, Any]:
    """A body for ``name`` that the model's state and the person, not its input, decide on."""
    pending = [t for t in shown["votes"] if t not in shown["notices"]]
    tier = pending[0] if pending else shown["next_tier"] or "province"
    # step 6: a unit of the person's with a year left since the model's recognition, else their first
    first = min((int(n["issued_on"][:4]) for n in shown["notices"].values()), default=NOW.year)
    options = [(u, y) for u in units for y in range(first, NOW.year + 1)
               if not any(c["year"] == y and c["by_unit"] == u for c in shown["commendations"])]  # fmt: skip
    by_unit, year = options[0] if options else (units[0], 2026)
    match name:
        case "model_deploy":
            return deployment(mid)
        case "model_monitor":
            return {"model_id": mid, "kind": "progress_check", "text": "Kiểm tra tiến độ"}
        case "model_evaluate":
            return evaluation(mid)
        case "model_report":
            return {"model_id": mid, "achievements": "Đạt"}
        case "model_vote":
            return vote(mid, tier)
        case "model_notice":
            return notice(mid, tier, "9-TB")
        case "model_commend":
            return {"model_id": mid, "year": year, "reason": "Tiêu biểu", "by_unit": by_unit}
        case "model_replicate":
            return {"model_id": mid, "scope": "grassroots", "plan": "Nhân rộng", "units": [], "by_unit": units[0]}
    raise AssertionError(name)


def service(dataset: str) -> Harness[Any]:
    store = InMemoryEventStore(STREAM)
    svc = Harness("reporting", ENDPOINTS, wire(store, UnitTree.load(dataset)), store)
    svc.edge = replace(svc.edge, clock=lambda: NOW)
    return svc


@pytest.mark.parametrize("dataset", ["vn-2024", "vn-2025"])
@pytest.mark.parametrize("life", list(LIVES))
async def test_offered_actions_are_exactly_those_the_service_accepts(dataset: str, life: str) -> None:
    svc = service(dataset)
    commune = "02227" if dataset == "vn-2024" else "00691"
    for who, (cred, units) in people(dataset).items():
        model = await Life(svc, commune).run(LIVES[life])
        shown = await model.shown(as_=cred)
        offered = shown["actions"]
        assert set(offered) <= set(ACTS), offered
        for name in ACTS:
            before = await svc.messages()
            reply = await svc.call(name, valid(name, model.id, shown, units), as_=cred)
            if reply["ok"]:
                assert name in offered, (life, who, name, "accepted but not offered")
                model = await Life(svc, commune).run(LIVES[life])  # the next command on the model as it was
            else:
                assert name not in offered, (life, who, name, reply["error"]["message_en"])
                assert await svc.messages() == before, (life, who, name, "a refused command stored an event")


async def test_what_each_person_is_offered() -> None:
    svc = service("vn-2024")
    clerk, district, province, operator, auditor = (people("vn-2024")[k][0] for k in (
        "commune clerk", "district officer", "province officer", "national operator", "auditor"))  # fmt: skip

    async def offered(life: str, as_: Credential) -> list[str]:
        model = await Life(svc, "02227").run(LIVES[life])
        return list((await model.shown(as_=as_))["actions"])

    assert await offered("registered", clerk) == ["model_deploy"]
    assert await offered("evaluated", clerk) == ["model_deploy", "model_monitor", "model_evaluate", "model_report"]
    # the results report written, the commune's committee votes at the grassroots; the tiers above only reach it
    assert "model_vote" in await offered("reported", clerk)
    assert "model_vote" not in await offered("reported", district)
    assert "model_vote" not in await offered("evaluated below, reported", clerk)
    assert "model_vote" not in await offered("reported, then evaluated again", clerk)
    assert "model_notice" in await offered("voted", clerk) and "model_notice" not in await offered("voted", province)
    # proposed to the district: its committee votes, then issues the notice
    assert "model_vote" in await offered("recognised, proposed higher", district)
    assert "model_vote" not in await offered("recognised, proposed higher", clerk)
    assert "model_notice" in await offered("recognised, voted higher", district)
    # step 6, for a unit on the model's path; an auditor reads only
    top = await offered("at the top", province)
    assert "model_report" not in top and {"model_commend", "model_replicate"} <= set(top)
    assert "model_commend" not in await offered("at the top, commended by the province", province)
    assert "model_commend" in await offered("at the top, commended by the province", clerk)
    assert await offered("at the top", auditor) == []
    # the units a commendation may be given for: the person's own, or, for a national operator, the model's path
    model = await Life(svc, "02227").run(LIVES["at the top"])
    assert (await model.shown(as_=operator))["by_units"] == ["02227", "072", "08"]
    assert (await model.shown(as_=province))["by_units"] == ["08"]
    assert (await model.shown(as_=auditor))["by_units"] == []
