"""Every "Dân vận khéo" model command refused stores nothing (``Harness.error`` checks the log), with a
structured error naming the field: bad input, steps out of order (quoting the six steps), dates in the
future or before the step they follow, a unit outside the actor's reach, the wrong committee; and the
views refuse another unit's area."""

from __future__ import annotations

import pytest
from reporting.models_support import at, deployment, evaluation, notice, registration, reporting, vote
from support import credential

from caunoi.shared.context import Role
from caunoi.shared.projection import Pool

pytestmark = pytest.mark.asyncio

CLERK, OTHER_CLERK = credential("00691", Role.clerk), credential("00694", Role.clerk)
OFFICER, OPERATOR = credential("08", Role.officer), credential()


async def test_refused_model_commands_store_nothing(pool: Pool) -> None:
    svc = await reporting(pool, at(2026, 6, 1))
    # registration: an unknown unit, a target twice, a date to come, no target, another commune's unit
    assert (await svc.error("model_register", registration("99999")))["code"] == "unknown_unit"
    twice = registration("00691", targets=[{"text": "Hộ", "value": 1}, {"text": "hộ", "value": 2}])
    assert (await svc.error("model_register", twice, as_=CLERK))["field"] == "targets"
    err = await svc.error("model_register", registration("00691", registered_on="2026-06-02"), as_=CLERK)
    assert err["code"] == "invalid" and err["field"] == "registered_on"
    err = await svc.error("model_register", registration("00691", targets=[]), as_=CLERK)
    assert err["code"] == "invalid" and err["field"] == "targets"
    err = await svc.error("model_register", registration("00691", field="sports"), as_=CLERK)
    assert err["code"] == "invalid" and err["field"] == "field"
    assert (await svc.error("model_register", registration("00691"), as_=OTHER_CLERK))["code"] == "forbidden"
    mid = (await svc.ok("model_register", registration("00691", registered_on="2026-01-10"), as_=CLERK))["model_id"]

    # an unknown model; steps out of order, quoting the six steps
    assert (await svc.error("model_deploy", deployment("MH-0000000A"), as_=CLERK))["code"] == "not_found"
    body = {"model_id": mid, "kind": "activity", "text": "Họp dân"}
    err = await svc.error("model_monitor", body, as_=CLERK)
    assert err["code"] == "rule_violated" and "Bước 3 theo dõi" in err["message"]
    err = await svc.error("model_report", {"model_id": mid, "achievements": "x"}, as_=CLERK)
    assert err["code"] == "rule_violated" and "Bước 4 đánh giá" in err["message"]
    err = await svc.error("model_deploy", deployment(mid, deployed_on="2026-01-09"), as_=CLERK)
    assert err["field"] == "deployed_on" and err["details"]["not_before"] == "2026-01-10"
    err = await svc.error("model_deploy", {**deployment(mid), "plan": {**deployment(mid)["plan"], "end": "2025-01-01"}},
                          as_=CLERK)  # fmt: skip
    assert err["code"] == "invalid" and err["field"].startswith("plan")
    await svc.ok("model_deploy", deployment(mid, deployed_on="2026-01-20"), as_=CLERK)
    err = await svc.error("model_monitor", {**body, "on": "2026-01-19"}, as_=CLERK)
    assert err["field"] == "on"
    err = await svc.error("model_evaluate", evaluation(mid, results=(1, 2, 3, 4)), as_=CLERK)
    assert err["code"] == "rule_violated" and err["details"]["unknown"] == ["t4"]  # only the registered targets
    err = await svc.error("model_evaluate", {**evaluation(mid), "replicable_at": "nation"}, as_=CLERK)
    assert err["field"] == "replicable_at"
    await svc.ok("model_evaluate", evaluation(mid), as_=CLERK)

    # commendation and replication wait for a recognition
    commend = {"model_id": mid, "year": 2026, "reason": "Tiêu biểu"}
    err = await svc.error("model_commend", commend, as_=CLERK)
    assert err["code"] == "rule_violated" and "Hàng năm" in err["message"]
    plan = {"model_id": mid, "scope": "grassroots", "plan": "Nhân rộng", "units": ["00694"]}
    assert (await svc.error("model_replicate", plan, as_=CLERK))["code"] == "rule_violated"
    await svc.ok("model_report", {"model_id": mid, "achievements": "Đạt"}, as_=CLERK)
    await svc.ok("model_vote", vote(mid, "grassroots"), as_=CLERK)
    err = await svc.error("model_notice", notice(mid, "grassroots", "1-TB", issued_on="2026-05-31"), as_=OFFICER)
    assert err["code"] == "forbidden"  # the commune's committee issues its notice
    await svc.ok("model_notice", notice(mid, "grassroots", "1-TB"), as_=CLERK)
    # a national operator names the committee it records for; the commune's clerk plans within the commune
    assert (await svc.error("model_commend", commend, as_=OPERATOR))["field"] == "by_unit"
    err = await svc.error("model_commend", {**commend, "by_unit": "08"}, as_=CLERK)
    assert err["code"] == "forbidden" and err["field"] == "by_unit"
    err = await svc.error("model_commend", {**commend, "year": 2024}, as_=CLERK)
    assert err["code"] == "rule_violated" and err["field"] == "year"
    err = await svc.error("model_commend", {**commend, "by_unit": "00694"}, as_=OPERATOR)
    assert err["code"] == "invalid" and err["field"] == "by_unit"  # not one of the model's tiers
    err = await svc.error("model_replicate", plan, as_=CLERK)
    assert err["code"] == "invalid" and err["field"] == "units"  # outside the commune
    err = await svc.error("model_replicate", {**plan, "scope": "district", "units": []}, as_=CLERK)
    assert err["code"] == "rule_violated" and err["field"] == "scope"
    await svc.ok("model_replicate", {**plan, "units": []}, as_=CLERK)
    await svc.ok("model_commend", commend, as_=CLERK)

    # the views: another unit's area is forbidden
    for name, q in (("models", {"unit": "00691"}), ("model_targets", {"unit": "00691"}),
                    ("model_candidates", {"unit": "08"}), ("model", {"model_id": mid})):  # fmt: skip
        assert (await svc.error(name, q, as_=OTHER_CLERK))["code"] == "forbidden", name
    assert (await svc.error("model", {"model_id": "MH-0000000A"}, as_=CLERK))["code"] == "not_found"
