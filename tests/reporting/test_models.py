"""A "Dân vận khéo" model's life through the reporting service's request edge (in-memory store, real
read models): from the idea to province recognition and the year's commendation, on the three-tier
ladder (vn-2024: grassroots → district → province) and the 2025 two-tier one (grassroots → province);
refusals that quote the rule and store nothing (a province vote for a model never recognised at
district level, a vote without quorum, without a majority, the wrong committee, steps out of order);
the views (by unit, field, stage, level; targets against results; not updated for months; the
year's candidates); the models' figures in the unit's periodic report; a rebuild equal to the live
read model."""

from __future__ import annotations

from collections import Counter

import pytest
from reporting.models_support import at, deployment, evaluation, notice, registration, reporting, vote
from support import credential

from caunoi.shared.context import Role
from caunoi.shared.projection import Pool

pytestmark = pytest.mark.asyncio

LEGACY = "vn-2024"
# vn-2024: Xã Sinh Long (02227), Huyện Na Hang (072), Tỉnh Tuyên Quang (08)
COMMUNE, DISTRICT, PROVINCE, OTHER_COMMUNE, OTHER_DISTRICT = "02227", "072", "08", "02230", "073"
CLERK = credential(COMMUNE, Role.clerk, dataset=LEGACY)
OTHER_CLERK = credential(OTHER_COMMUNE, Role.clerk, dataset=LEGACY)
DISTRICT_OFFICER = credential(DISTRICT, Role.officer, dataset=LEGACY)
OTHER_DISTRICT_OFFICER = credential(OTHER_DISTRICT, Role.officer, dataset=LEGACY)
PROVINCE_OFFICER = credential(PROVINCE, Role.officer, dataset=LEGACY)


def model_types(messages: list[str]) -> Counter[str]:
    return Counter(t.rsplit(".", 2)[-2] for t in messages)


async def test_one_model_from_idea_to_province_recognition_and_commendation(pool: Pool) -> None:
    svc = await reporting(pool, at(2026, 6, 1), LEGACY)
    # step 1: the commune registers the idea, its targets numbered in order
    out = await svc.ok("model_register", registration(COMMUNE, registered_on="2025-09-01"), as_=CLERK)
    mid = out["model_id"]
    assert mid.startswith("MH-") and out["stage"] == "idea" and out["next_tier"] == "grassroots"
    assert out["subject"] == f"caunoi.reporting.{mid}.08.072.{COMMUNE}"
    # another commune neither sees nor changes it; nor registers for this commune
    err = await svc.error("model_deploy", deployment(mid), as_=OTHER_CLERK)
    assert err["code"] == "forbidden"
    assert (await svc.error("model", {"model_id": mid}, as_=OTHER_CLERK))["code"] == "forbidden"
    assert (await svc.error("model_register", registration(COMMUNE), as_=OTHER_CLERK))["code"] == "forbidden"
    # steps out of order are refused quoting the six steps
    err = await svc.error("model_evaluate", evaluation(mid), as_=CLERK)
    assert err["code"] == "rule_violated" and "Bước 2 triển khai" in err["message"]

    # step 2, 3, 4
    assert (await svc.ok("model_deploy", deployment(mid, deployed_on="2025-09-20"), as_=CLERK))["stage"] == "deployment"
    for kind, on, text in (("progress_check", "2025-12-01", "Đã vận động 30/40 hộ"),
                           ("corrective_action", "2025-12-05", "Bổ sung tổ vận động ở cuối thôn"),
                           ("commendation", "2026-01-10", "Biểu dương 5 hộ tiêu biểu")):  # fmt: skip
        await svc.ok("model_monitor", {"model_id": mid, "kind": kind, "on": on, "text": text}, as_=CLERK)
    err = await svc.error("model_evaluate", evaluation(mid, results=(55, 3.2)), as_=CLERK)
    assert err["code"] == "rule_violated" and err["details"]["missing"] == ["t3"]
    evaluated = await svc.ok("model_evaluate", evaluation(mid, evaluated_on="2026-04-01"), as_=CLERK)
    assert evaluated["stage"] == "evaluation" and evaluated["level"] == "exceeded"
    # a vote before the results report (form 2a) is refused quoting step 5.1
    err = await svc.error("model_vote", vote(mid, "grassroots"), as_=CLERK)
    assert err["code"] == "rule_violated" and "Mẫu 2a" in err["message"]

    # step 5 at the grassroots: the results report, the commune's party committee votes, the notice
    await svc.ok("model_report", {"model_id": mid, "achievements": "55 hộ hiến đất, mở rộng 3,2 km đường",
                                  "reported_on": "2026-04-05"}, as_=CLERK)  # fmt: skip
    err = await svc.error("model_vote", vote(mid, "grassroots"), as_=DISTRICT_OFFICER)
    assert err["code"] == "forbidden" and err["details"]["unit"] == COMMUNE  # the commune's committee votes
    voted = await svc.ok("model_vote", vote(mid, "grassroots", voted_on="2026-04-10"), as_=CLERK)
    assert voted["tier"] is None  # voted, not yet noticed
    err = await svc.error("model_vote", vote(mid, "grassroots"), as_=CLERK)
    assert err["code"] == "duplicate"
    noticed = await svc.ok("model_notice", notice(mid, "grassroots", "12-TB/ĐU", issued_on="2026-04-12"), as_=CLERK)
    assert noticed["tier"] == "grassroots" and noticed["next_tier"] == "district"

    # the province cannot pick a model its district never recognised
    err = await svc.error("model_vote", vote(mid, "province"), as_=PROVINCE_OFFICER)
    assert err["code"] == "rule_violated" and err["field"] == "tier"
    assert "được chọn ra từ các mô hình được công nhận mô hình “Dân vận khéo” cấp huyện" in err["message"]
    assert err["details"]["recognised"] == ["grassroots"] and "seed 002" in err["details"]["source"]
    # the district: another district's committee may not; a vote without quorum, or without a
    # majority of the members, recognises nothing
    err = await svc.error("model_vote", vote(mid, "district"), as_=OTHER_DISTRICT_OFFICER)
    assert err["code"] == "forbidden"
    err = await svc.error("model_vote", vote(mid, "district", members=15, present=9, in_favour=8), as_=DISTRICT_OFFICER)
    assert err["code"] == "rule_violated" and err["field"] == "present" and "2/3" in err["message"]
    assert err["details"]["present"] == 9 and err["details"]["quorum"] == "2/3"
    err = await svc.error("model_vote", vote(mid, "district", present=12, in_favour=7), as_=DISTRICT_OFFICER)
    assert err["code"] == "rule_violated" and "hơn một nửa số thành viên" in err["message"]
    err = await svc.error("model_vote", vote(mid, "district", present=16), as_=DISTRICT_OFFICER)
    assert err["code"] == "invalid" and err["field"] == "present"
    err = await svc.error("model_notice", notice(mid, "district", "05-TB/HU"), as_=DISTRICT_OFFICER)
    assert err["code"] == "rule_violated" and "Mẫu 2b" in err["message"]  # no vote, no notice
    await svc.ok("model_report", {"model_id": mid, "achievements": "Nhân rộng ra 3 thôn", "reported_on": "2026-04-20",
                                  "proposed_tier": "district"}, as_=CLERK)  # fmt: skip
    await svc.ok("model_vote", vote(mid, "district", members=21, present=15, in_favour=11, voted_on="2026-05-02"),
                 as_=DISTRICT_OFFICER)  # fmt: skip
    await svc.ok("model_notice", notice(mid, "district", "05-TB/HU", issued_on="2026-05-05"), as_=DISTRICT_OFFICER)
    # and the province
    await svc.ok("model_vote", vote(mid, "province", voted_on="2026-05-20"), as_=PROVINCE_OFFICER)
    top = await svc.ok("model_notice", notice(mid, "province", "31-TB/TU", issued_on="2026-05-22"),
                       as_=PROVINCE_OFFICER)  # fmt: skip
    assert top["tier"] == "province" and top["next_tier"] is None and top["stage"] == "recognition"

    # the year's candidates: it, until commended for the year; then step 6
    cands = await svc.ok("model_candidates", {"unit": PROVINCE, "year": 2026}, as_=PROVINCE_OFFICER)
    assert [(c["id"], c["tier"], c["level"]) for c in cands["items"]] == [(mid, "province", "exceeded")]
    commended = await svc.ok("model_commend", {"model_id": mid, "year": 2026, "form": "merit", "on": "2026-05-30",
                                               "reason": "Mô hình tiêu biểu", "decision_ref": "Số 120-QĐ/TU"},
                             as_=PROVINCE_OFFICER)  # fmt: skip
    assert commended["stage"] == "commendation"
    err = await svc.error("model_commend", {"model_id": mid, "year": 2026, "reason": "Lần nữa"}, as_=PROVINCE_OFFICER)
    assert err["code"] == "duplicate"
    assert (await svc.ok("model_candidates", {"unit": PROVINCE, "year": 2026}, as_=PROVINCE_OFFICER))["items"] == []
    await svc.ok("model_replicate", {"model_id": mid, "scope": "province", "units": ["073", "074"],
                                     "plan": "Nhân rộng ra các huyện Chiêm Hóa, Hàm Yên", "from_date": "2026-07-01"},
                 as_=PROVINCE_OFFICER)  # fmt: skip

    # the whole life, from its events
    shown = await svc.ok("model", {"model_id": mid}, as_=CLERK)
    assert shown["ladder"] == ["grassroots", "district", "province"] and shown["tier"] == "province"
    assert [shown["notices"][t]["by_unit"] for t in shown["ladder"]] == [COMMUNE, DISTRICT, PROVINCE]
    assert [r["level"] for r in shown["evaluation"]["results"]] == ["exceeded", "exceeded", "exceeded"]
    assert len(shown["monitoring"]) == 3 and shown["commendations"][0]["form"] == "merit"
    assert model_types([h["type"] for h in shown["history"]]) == {
        "ModelRegistered": 1, "ModelDeployed": 1, "MonitoringRecorded": 3, "ModelEvaluated": 1, "ResultsReported": 2,
        "RecognitionVoted": 3, "RecognitionNoticed": 3, "ModelCommended": 1, "ReplicationPlanned": 1,
    }  # fmt: skip
    # the same command id again stores nothing new
    body = {"model_id": mid, "kind": "activity", "text": "Tổng kết", "command_id": "m-1"}
    assert (await svc.ok("model_monitor", body, as_=CLERK))["replayed"] is False
    assert (await svc.ok("model_monitor", body, as_=CLERK))["replayed"] is True

    # the unit's periodic report counts it: registered, evaluated by level, recognised by tier, commended
    comp = await svc.ok("compile", {"unit": PROVINCE, "from_date": "2025-06-01", "to_date": "2026-05-31"},
                        as_=PROVINCE_OFFICER)  # fmt: skip
    t = comp["compilation"]["totals"]
    assert (t["models_registered"], t["models_evaluated"], t["models_exceeded"], t["models_commended"]) == (1, 1, 1, 1)
    assert (t["models_recognised_grassroots"], t["models_recognised_district"], t["models_recognised_province"]) == (
        1, 1, 1,
    )  # fmt: skip
    by_unit = {u["code"]: u["figures"]["models_registered"] for u in comp["compilation"]["by_unit"]}
    assert by_unit[DISTRICT] == 1 and by_unit[OTHER_DISTRICT] == 0
    before = await svc.ok("compile", {"unit": PROVINCE, "from_date": "2026-06-01", "to_date": "2026-06-01"},
                          as_=PROVINCE_OFFICER)  # fmt: skip
    assert before["compilation"]["totals"]["models_registered"] == 0


async def test_the_2025_ladder_has_no_district_and_the_province_picks_among_grassroots_models(pool: Pool) -> None:
    svc = await reporting(pool, at(2026, 6, 1))
    clerk, officer = credential("00691", Role.clerk), credential("08", Role.officer)
    mid = (await svc.ok("model_register", registration("00691", field="four_no"), as_=clerk))["model_id"]
    await svc.ok("model_deploy", deployment(mid), as_=clerk)
    await svc.ok("model_evaluate", evaluation(mid, results=(40, 3, 2), replicable_at="grassroots"), as_=clerk)
    err = await svc.error("model_report", {"model_id": mid, "achievements": "x", "proposed_tier": "district"},
                          as_=clerk)  # fmt: skip
    assert err["code"] == "rule_violated" and "không còn mô hình “Dân vận khéo” cấp huyện" in err["message"]
    await svc.ok("model_report", {"model_id": mid, "achievements": "Đạt các chỉ tiêu"}, as_=clerk)
    err = await svc.error("model_vote", vote(mid, "province"), as_=officer)
    assert err["code"] == "rule_violated" and "cấp cơ sở" in err["message"] and "2025" in err["message"]
    err = await svc.error("model_vote", vote(mid, "district"), as_=officer)
    assert err["code"] == "rule_violated" and err["details"]["ladder"] == ["grassroots", "province"]
    await svc.ok("model_vote", vote(mid, "grassroots"), as_=clerk)
    out = await svc.ok("model_notice", notice(mid, "grassroots", "03-TB/ĐU"), as_=clerk)
    assert out["level"] == "met" and out["next_tier"] == "province"
    # the province's standard: replicable across the province; this one is not
    await svc.ok("model_report", {"model_id": mid, "achievements": "Đạt"}, as_=clerk)
    err = await svc.error("model_vote", vote(mid, "province"), as_=officer)
    assert err["code"] == "rule_violated" and "toàn tỉnh" in err["message"]
    assert err["details"]["replicable_at"] == "grassroots"
    # evaluated again, replicable across the province, a new report: the province recognises it
    await svc.ok("model_evaluate", evaluation(mid, results=(40, 3, 2)), as_=clerk)
    err = await svc.error("model_vote", vote(mid, "province"), as_=officer)
    assert "Mẫu 2a" in err["message"]  # the report must be on the latest evaluation
    await svc.ok("model_report", {"model_id": mid, "achievements": "Đạt"}, as_=clerk)
    await svc.ok("model_vote", vote(mid, "province"), as_=officer)
    shown = await svc.ok("model_notice", notice(mid, "province", "40-TB/TU"), as_=officer)
    assert shown["tier"] == "province" and shown["next_tier"] is None
    model = await svc.ok("model", {"model_id": mid}, as_=officer)
    assert model["notices"]["province"]["by_unit"] == "08" and model["evaluation"]["number"] == 2


async def test_a_model_evaluated_below_is_not_recognised_and_the_views_find_it(pool: Pool) -> None:
    svc = await reporting(pool, at(2026, 6, 1))
    clerk, officer = credential("00694", Role.clerk), credential("08", Role.officer)
    weak = (await svc.ok("model_register", registration("00694", registered_on="2025-10-01"), as_=clerk))["model_id"]
    await svc.ok("model_deploy", deployment(weak, deployed_on="2025-10-15"), as_=clerk)
    # 2 complaints is met, 30 of 40 households is below: an essential target below makes the model below
    out = await svc.ok("model_evaluate", evaluation(weak, results=(30, 3, 2), evaluated_on="2026-01-15"), as_=clerk)
    assert out["level"] == "below"
    await svc.ok("model_report", {"model_id": weak, "achievements": "Chưa đạt"}, as_=clerk)
    err = await svc.error("model_vote", vote(weak, "grassroots"), as_=clerk)
    assert err["code"] == "rule_violated" and "«kém»" in err["message"]
    body = registration("00700", name="Mô hình «4 không»", field="four_no", registered_on="2025-11-01")
    idle = (await svc.ok("model_register", body, as_=officer))["model_id"]

    listing = await svc.ok("models", {"unit": "08"}, as_=officer)
    assert {i["id"]: (i["stage"], i["level"]) for i in listing["items"]} == {
        weak: ("recognition", "below"), idle: ("idea", None),
    }  # fmt: skip
    assert listing["counts"]["field"] == {"economy": 1, "four_no": 1}
    assert [i["id"] for i in (await svc.ok("models", {"unit": "08", "level": "below"}))["items"]] == [weak]
    assert [i["id"] for i in (await svc.ok("models", {"unit": "08", "field": "four_no"}))["items"]] == [idle]
    assert [i["id"] for i in (await svc.ok("models", {"unit": "08", "stage": "idea"}))["items"]] == [idle]
    assert [i["id"] for i in (await svc.ok("models", {"unit": "00694"}, as_=clerk))["items"]] == [weak]
    assert (await svc.error("models", {"unit": "08"}, as_=clerk))["code"] == "forbidden"
    # not updated for 3 months (the default): the idle one, whose only step (its registration) is of November
    stale = await svc.ok("models", {"unit": "08", "stale": True})
    assert [i["id"] for i in stale["items"]] == [idle] and stale["stale_months"] == 3
    assert stale["items"][0]["last_step_on"] == "2025-11-01"
    assert [i["id"] for i in (await svc.ok("models", {"unit": "08", "stale": True, "months": 8}))["items"]] == []
    # four months on, the other too, until something happens on it
    svc.now = at(2026, 10, 2)
    assert {i["id"] for i in (await svc.ok("models", {"unit": "08", "stale": True}))["items"]} == {weak, idle}
    await svc.ok("model_monitor", {"model_id": weak, "kind": "activity", "text": "Vận động thêm 10 hộ"}, as_=clerk)
    assert [i["id"] for i in (await svc.ok("models", {"unit": "08", "stale": True}))["items"]] == [idle]
    # targets against results
    targets = await svc.ok("model_targets", {"unit": "08"}, as_=officer)
    rows = {(i["model_id"], i["target_id"]): (i["target"], i["result"], i["level"]) for i in targets["items"]}
    assert rows[(weak, "t1")] == (40, 30, "below") and rows[(weak, "t3")] == (2, 2, "met")
    assert rows[(idle, "t1")] == (40, None, None) and targets["counts"] == {"-": 3, "below": 1, "met": 2}
    below = await svc.ok("model_targets", {"unit": "08", "level": "below"}, as_=officer)
    assert [(i["model_id"], i["target_id"]) for i in below["items"]] == [(weak, "t1")]
    # neither is a candidate: one is below, the other not recognised
    assert (await svc.ok("model_candidates", {"unit": "08", "year": 2026}))["items"] == []


async def test_the_models_read_model_rebuilt_equals_the_live_one(pool: Pool) -> None:
    svc = await reporting(pool, at(2026, 6, 1))
    clerk = credential("00691", Role.clerk)
    for i in range(3):
        mid = (await svc.ok("model_register", registration("00691", name=f"Mô hình {i}"), as_=clerk))["model_id"]
        if i:
            await svc.ok("model_deploy", deployment(mid), as_=clerk)
            await svc.ok("model_evaluate", evaluation(mid, results=(40 + i, 3, 2)), as_=clerk)
            await svc.ok("model_report", {"model_id": mid, "achievements": "x"}, as_=clerk)
            await svc.ok("model_vote", vote(mid, "grassroots"), as_=clerk)
            await svc.ok("model_notice", notice(mid, "grassroots", f"{i}-TB/ĐU"), as_=clerk)
    await svc.projected()
    runner = svc.runner("models")
    live = await runner.snapshot()
    await runner.rebuild_into("models_check", batch=1)
    assert await runner.snapshot("models_check") == live and len(live) == 3
    assert {r["tier"] for r in live} == {None, "grassroots"}
