"""``caunoi reporting models ...``: the "Dân vận khéo" models' six steps, the views, and forms 2a and
2b as PDFs. A target is ``"TEXT: VALUE UNIT"`` (at least VALUE), ``"TEXT: <= VALUE UNIT"`` (at most);
dates are ``YYYY-MM-DD`` or ``±N`` days from today."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from caunoi.reporting import forms
from caunoi.reporting.labels import (
    LEVEL_VI,
    MODEL_FIELD_VI,
    STAGE_VI,
    TIER_VI,
)
from caunoi.reporting.model_commands import Stage
from caunoi.reporting.model_events import (
    CommendationForm,
    Level,
    ModelField,
    ModelKind,
    MonitoringKind,
    Sustainability,
    Tier,
)
from caunoi.shared.clitools import (
    call,
    command_options,
    day,
    get_ctx,
    replayed,
    send_command,
    table,
    unit_option,
)
from caunoi.shared.clock import today_vn
from caunoi.shared.labels import label

SERVICE = "reporting"
_TARGET = re.compile(r"^(?P<text>.+?)\s*:\s*(?P<op><=|>=|≤|≥)?\s*(?P<value>\d+(?:[.,]\d+)?)\s*(?P<unit>.*)$")


def _choice(enum: Any) -> click.Choice[str]:
    return click.Choice([e.value for e in enum])


def target(spec: str, essential: bool = True) -> dict[str, Any]:
    """``"Hộ hiến đất: 40 hộ"`` or ``"Vụ khiếu kiện: <= 2 vụ"`` as a registered target."""
    m = _TARGET.match(spec.strip())
    if m is None:
        raise click.BadParameter(
            f"{spec!r}: «NỘI DUNG: [<=] SỐ ĐƠN VỊ» / 'TEXT: [<=] VALUE UNIT'", param_hint="--target"
        )
    at_most = m["op"] in ("<=", "≤")
    return {"text": m["text"], "value": float(m["value"].replace(",", ".")), "unit": m["unit"].strip(),
            "direction": "at_most" if at_most else "at_least", "essential": essential}  # fmt: skip


def _pair(spec: str, option: str, sep: str = ":") -> tuple[str, str]:
    left, found, right = spec.partition(sep)
    if not found or not left.strip() or not right.strip():
        raise click.BadParameter(f"{spec!r}: «A{sep} B»", param_hint=option)
    return left.strip(), right.strip()


def _echo_model(result: dict[str, Any] | None) -> None:
    if result is None:
        return
    lang = get_ctx().lang
    parts = [label(result["stage"], STAGE_VI, None, lang)]
    if result.get("level"):
        parts.append(label(result["level"], LEVEL_VI, None, lang))
    if result.get("tier"):
        parts.append(label(result["tier"], TIER_VI, None, lang))
    again = replayed(result)
    click.echo(f"{result['model_id']}: {result['name']} — {', '.join(parts)}{again}")


@click.group(
    name="models", help="Mô hình «Dân vận khéo»: 6 bước, công nhận các cấp / skilful mass-mobilisation models."
)
def models() -> None:
    pass


@models.command(name="register", help="Bước 1: đăng ký mô hình / step 1: register a model.")
@click.option("--unit", "unit_code", required=True, help="Đơn vị đăng ký / registering unit.")
@click.option("--name", required=True, help="Tên mô hình / the model's name.")
@click.option("--field", "field_", type=_choice(ModelField), required=True, help="Lĩnh vực / field.")
@click.option("--holder", required=True, help="Tập thể, cá nhân thực hiện / who builds it.")
@click.option("--kind", type=_choice(ModelKind), default="collective", show_default=True)
@click.option("--agency", help="Tổ chức thực hiện của đơn vị / the unit's organisation.")
@click.option("--problem", required=True, help="Vấn đề cần giải quyết / the problem.")
@click.option("--expected", required=True, help="Kết quả dự kiến / expected results.")
@click.option("--target", "targets", multiple=True, required=True, help="«NỘI DUNG: [<=] SỐ ĐƠN VỊ», lặp lại.")
@click.option("--minor-target", "minor", multiple=True, help="Chỉ tiêu phụ (không bắt buộc) / an inessential target.")
@click.option("--criterion", "criteria", multiple=True, help="Tiêu chí (lặp lại) / criterion.")
@click.option("--participants", type=int, default=0, help="Số người tham gia / people taking part.")
@click.option("--core-team", "core", multiple=True, help="Người, tổ nòng cốt / core team member.")
@click.option("--budget", type=int, default=0, help="Kinh phí (đồng) / budget (VND).")
@click.option("--budget-source", help="Nguồn kinh phí / budget source.")
@click.option("--on", help="Ngày đăng ký (mặc định hôm nay) / registered on.")
@command_options
def register(
    unit_code: str, name: str, field_: str, holder: str, kind: str, agency: str | None, problem: str, expected: str,
    targets: tuple[str, ...], minor: tuple[str, ...], criteria: tuple[str, ...], participants: int,
    core: tuple[str, ...], budget: int, budget_source: str | None, on: str | None, command_id: str | None,
) -> None:  # fmt: skip
    body = {
        "unit_code": unit_code, "name": name, "field": field_, "holder": holder, "kind": kind, "agency": agency,
        "problem": problem, "expected_results": expected, "criteria": list(criteria),
        "targets": [target(t) for t in targets] + [target(t, essential=False) for t in minor],
        "resources": {"participants": participants, "core_team": list(core), "budget_vnd": budget,
                      "budget_source": budget_source},
        "registered_on": day(on), "command_id": command_id,
    }  # fmt: skip
    _echo_model(send_command(SERVICE, "model_register", body))


@models.command(name="deploy", help="Bước 2: triển khai / step 2: deployment.")
@click.argument("model_id")
@click.option("--steering", multiple=True, required=True, help="Thành viên Ban chỉ đạo (lặp lại) / steering board.")
@click.option("--survey-team", multiple=True, help="Tổ khảo sát / survey team.")
@click.option("--publicity-team", multiple=True, help="Tổ tuyên truyền, vận động / publicity team.")
@click.option("--survey-report", required=True, help="Kết quả khảo sát thực trạng / survey report.")
@click.option("--assign", multiple=True, help="Phân công «NGƯỜI: NHIỆM VỤ» / an assignment 'WHO: TASK'.")
@click.option("--form", "form_", required=True, help="Hình thức, cách thức triển khai / form.")
@click.option("--start", required=True, help="Bắt đầu / start date.")
@click.option("--end", help="Kết thúc / end date.")
@click.option("--place", required=True, help="Địa điểm / place.")
@click.option("--budget", type=int, default=0, help="Kinh phí (đồng) / budget (VND).")
@click.option("--budget-source", help="Nguồn kinh phí / budget source.")
@click.option("--pledge", is_flag=True, help="Nhân dân ký bản cam kết / people sign a pledge.")
@click.option("--on", help="Ngày triển khai / deployed on.")
@command_options
def deploy(
    model_id: str, steering: tuple[str, ...], survey_team: tuple[str, ...], publicity_team: tuple[str, ...],
    survey_report: str, assign: tuple[str, ...], form_: str, start: str, end: str | None, place: str, budget: int,
    budget_source: str | None, pledge: bool, on: str | None, command_id: str | None,
) -> None:  # fmt: skip
    assignments = [dict(zip(("who", "task"), _pair(a, "--assign"), strict=True)) for a in assign]
    body = {
        "model_id": model_id, "steering_board": list(steering), "survey_team": list(survey_team),
        "publicity_team": list(publicity_team), "survey_report": survey_report, "assignments": assignments,
        "plan": {"form": form_, "start": day(start), "end": day(end), "place": place, "budget_vnd": budget,
                 "budget_source": budget_source},
        "pledge": pledge, "deployed_on": day(on), "command_id": command_id,
    }  # fmt: skip
    _echo_model(send_command(SERVICE, "model_deploy", body))


@models.command(name="monitor", help="Bước 3: theo dõi, kiểm tra / step 3: a monitoring entry.")
@click.argument("model_id")
@click.option("--kind", type=_choice(MonitoringKind), required=True)
@click.option("--text", "text_", required=True, help="Nội dung / what was checked or done.")
@click.option("--by", help="Người thực hiện / by whom.")
@click.option("--on", help="Ngày / date.")
@command_options
def monitor(model_id: str, kind: str, text_: str, by: str | None, on: str | None, command_id: str | None) -> None:
    body = {"model_id": model_id, "kind": kind, "text": text_, "by": by, "on": day(on), "command_id": command_id}
    _echo_model(send_command(SERVICE, "model_monitor", body))


@models.command(name="evaluate", help="Bước 4: tự đánh giá theo chỉ tiêu / step 4: evaluate against the targets.")
@click.argument("model_id")
@click.option("--result", "results", multiple=True, required=True, help="Kết quả «t1=55» (lặp lại) / 't1=55'.")
@click.option("--sustainability", type=_choice(Sustainability), required=True)
@click.option("--replicable-at", type=_choice(Tier), required=True, help="Có thể nhân rộng ở cấp / replicable at.")
@click.option("--findings", required=True, help="Nhận xét quá trình, mức độ lan tỏa... / findings.")
@click.option("--spent", type=int, help="Kinh phí đã chi (đồng) / spent (VND).")
@click.option("--on", help="Ngày đánh giá / evaluated on.")
@command_options
def evaluate(
    model_id: str, results: tuple[str, ...], sustainability: str, replicable_at: str, findings: str,
    spent: int | None, on: str | None, command_id: str | None,
) -> None:  # fmt: skip
    outcomes = []
    for r in results:
        key, value = _pair(r, "--result", "=")
        try:
            outcomes.append({"target_id": key, "result": float(value.replace(",", "."))})
        except ValueError:
            raise click.BadParameter(f"{r!r}: «t1=55»", param_hint="--result") from None
    body = {"model_id": model_id, "results": outcomes, "sustainability": sustainability,
            "replicable_at": replicable_at, "findings": findings, "budget_spent_vnd": spent, "evaluated_on": day(on),
            "command_id": command_id}  # fmt: skip
    _echo_model(send_command(SERVICE, "model_evaluate", body))


@models.command(name="report", help="Bước 5.1: báo cáo kết quả (Mẫu 2a) / the results report (form 2a).")
@click.argument("model_id")
@click.option("--achievements", required=True, help="Kết quả đạt được / achievements.")
@click.option("--lessons", help="Bài học kinh nghiệm / lessons.")
@click.option("--proposals", help="Đề xuất, kiến nghị / proposals.")
@click.option("--number", help="Số báo cáo / the report's number.")
@click.option("--tier", type=_choice(Tier), help="Đề nghị công nhận cấp (mặc định: cấp kế tiếp) / proposed tier.")
@click.option("--on", help="Ngày báo cáo / reported on.")
@command_options
def report(
    model_id: str, achievements: str, lessons: str | None, proposals: str | None, number: str | None,
    tier: str | None, on: str | None, command_id: str | None,
) -> None:  # fmt: skip
    body = {"model_id": model_id, "achievements": achievements, "lessons": lessons, "proposals": proposals,
            "number": number, "proposed_tier": tier, "reported_on": day(on), "command_id": command_id}  # fmt: skip
    _echo_model(send_command(SERVICE, "model_report", body))


@models.command(name="vote", help="Bước 5.2: cấp ủy biểu quyết công nhận / the committee's vote.")
@click.argument("model_id")
@click.option("--tier", type=_choice(Tier), required=True)
@click.option("--members", type=int, required=True, help="Tổng số cấp ủy viên / members.")
@click.option("--present", type=int, required=True, help="Số có mặt / present.")
@click.option("--for", "in_favour", type=int, required=True, help="Tán thành / in favour.")
@click.option("--against", type=int, default=0, help="Không tán thành / against.")
@click.option("--abstain", type=int, default=0, help="Không biểu quyết / abstaining.")
@click.option("--minutes", help="Số biên bản / minutes reference.")
@click.option("--on", help="Ngày biểu quyết / voted on.")
@command_options
def vote(
    model_id: str, tier: str, members: int, present: int, in_favour: int, against: int, abstain: int,
    minutes: str | None, on: str | None, command_id: str | None,
) -> None:  # fmt: skip
    body = {"model_id": model_id, "tier": tier, "members": members, "present": present, "in_favour": in_favour,
            "against": against, "abstaining": abstain, "minutes_ref": minutes, "voted_on": day(on),
            "command_id": command_id}  # fmt: skip
    _echo_model(send_command(SERVICE, "model_vote", body))


@models.command(name="notice", help="Bước 5.3: thông báo công nhận (Mẫu 2b) / the recognition notice (form 2b).")
@click.argument("model_id")
@click.option("--tier", type=_choice(Tier), required=True)
@click.option("--number", required=True, help="Số thông báo, ví dụ 12-TB/ĐU / the notice's number.")
@click.option("--signer", required=True, help="Người ký / signer.")
@click.option("--signer-title", required=True, help="Chức vụ người ký / signer's title.")
@click.option("--on", help="Ngày ban hành / issued on.")
@command_options
def notice(
    model_id: str, tier: str, number: str, signer: str, signer_title: str, on: str | None, command_id: str | None
) -> None:
    body = {"model_id": model_id, "tier": tier, "number": number, "signer_name": signer, "signer_title": signer_title,
            "issued_on": day(on), "command_id": command_id}  # fmt: skip
    _echo_model(send_command(SERVICE, "model_notice", body))


@models.command(name="commend", help="Bước 6: biểu dương, khen thưởng hằng năm / the year's commendation.")
@click.argument("model_id")
@click.option("--year", type=int, default=lambda: today_vn().year, help="Năm (mặc định năm nay) / year.")
@click.option("--form", "form_", type=_choice(CommendationForm), default="praise", show_default=True)
@click.option("--reason", required=True, help="Lý do / reason.")
@click.option("--decision", help="Số quyết định / decision reference.")
@click.option("--by-unit", help="Đơn vị khen thưởng (mặc định đơn vị của bạn) / commending unit.")
@click.option("--on", help="Ngày / date.")
@command_options
def commend(
    model_id: str, year: int, form_: str, reason: str, decision: str | None, by_unit: str | None, on: str | None,
    command_id: str | None,
) -> None:  # fmt: skip
    body = {"model_id": model_id, "year": year, "form": form_, "reason": reason, "decision_ref": decision,
            "by_unit": by_unit, "on": day(on), "command_id": command_id}  # fmt: skip
    _echo_model(send_command(SERVICE, "model_commend", body))


@models.command(name="replicate", help="Bước 6: kế hoạch nhân rộng / step 6: a replication plan.")
@click.argument("model_id")
@click.option("--scope", type=_choice(Tier), required=True, help="Phạm vi / scope.")
@click.option("--unit", "units", multiple=True, help="Đơn vị nhân rộng (lặp lại) / a unit to replicate in.")
@click.option("--plan", "plan_", required=True, help="Nội dung kế hoạch / the plan.")
@click.option("--from", "from_date", help="Từ ngày / from.")
@click.option("--by-unit", help="Đơn vị lập kế hoạch (mặc định đơn vị của bạn) / planning unit.")
@command_options
def replicate(
    model_id: str, scope: str, units: tuple[str, ...], plan_: str, from_date: str | None, by_unit: str | None,
    command_id: str | None,
) -> None:  # fmt: skip
    body = {"model_id": model_id, "scope": scope, "units": list(units), "plan": plan_, "from_date": day(from_date),
            "by_unit": by_unit, "command_id": command_id}  # fmt: skip
    _echo_model(send_command(SERVICE, "model_replicate", body))


@models.command(name="list", help="Mô hình theo đơn vị, lĩnh vực, bước, mức / models by unit, field, stage, level.")
@unit_option
@click.option("--field", "field_", type=_choice(ModelField))
@click.option("--stage", type=_choice(Stage))
@click.option("--level", type=_choice(Level))
@click.option("--tier", type=_choice(Tier), help="Cấp công nhận cao nhất / highest tier recognised.")
@click.option("--stale", is_flag=True, help="Không cập nhật từ N tháng / not updated for months.")
@click.option("--months", type=int, help="N tháng (mặc định CAUNOI_MODELS_STALE_MONTHS) / months.")
def list_(
    unit: str | None, field_: str | None, stage: str | None, level: str | None, tier: str | None, stale: bool,
    months: int | None,
) -> None:  # fmt: skip
    body = {"unit": unit, "field": field_, "stage": stage, "level": level, "tier": tier, "stale": stale,
            "months": months}  # fmt: skip
    result = call("query", SERVICE, "models", body)
    if result is None:
        return
    lang = get_ctx().lang
    for r in result["items"]:
        r["field_label"] = label(r["field"], MODEL_FIELD_VI, None, lang)
        r["stage_label"] = label(r["stage"], STAGE_VI, None, lang)
        r["level_label"] = label(r["level"], LEVEL_VI, None, lang)
        r["tier_label"] = label(r["tier"], TIER_VI, None, lang)
        r["updated"] = str(r["last_step_on"])[:10]
    cols = [("id", "Mã", "Id"), ("name", "Mô hình", "Model"), ("unit_name", "Đơn vị", "Unit"),
            ("field_label", "Lĩnh vực", "Field"), ("stage_label", "Bước", "Stage"), ("level_label", "Mức", "Level"),
            ("tier_label", "Công nhận", "Recognised"), ("updated", "Cập nhật gần nhất", "Last step")]  # fmt: skip
    click.echo(table(result["items"], cols, lang))
    stale_note = f" — {result['stale_months']} tháng không cập nhật" if result.get("stale_months") else ""
    click.echo(f"\n{result['total']}{stale_note}")


@models.command(name="targets", help="Chỉ tiêu và kết quả / targets against results.")
@unit_option
@click.option("--field", "field_", type=_choice(ModelField))
@click.option("--level", type=_choice(Level), help="Mức của chỉ tiêu / the target's level.")
@click.option("--model", "model_id", help="Một mô hình / one model.")
def targets(unit: str | None, field_: str | None, level: str | None, model_id: str | None) -> None:
    result = call("query", SERVICE, "model_targets", {"unit": unit, "field": field_, "level": level,
                                                      "model_id": model_id})  # fmt: skip
    if result is None:
        return
    lang = get_ctx().lang
    for r in result["items"]:
        sign = "≤" if r["direction"] == "at_most" else "≥"
        r["wanted"] = f"{sign} {r['target']:g} {r['unit']}".rstrip()
        r["got"] = "" if r["result"] is None else f"{r['result']:g} {r['unit']}".rstrip()
        r["level_label"] = label(r["level"], LEVEL_VI, None, lang)
    cols = [("model_id", "Mô hình", "Model"), ("unit_name", "Đơn vị", "Unit"), ("text", "Chỉ tiêu", "Target"),
            ("wanted", "Đăng ký", "Registered"), ("got", "Kết quả", "Result"),
            ("level_label", "Mức", "Level")]  # fmt: skip
    click.echo(table(result["items"], cols, lang))
    counts = ", ".join(
        f"{label(k, LEVEL_VI, None, lang) if k != '-' else '—'}: {n}" for k, n in result["counts"].items()
    )
    click.echo(f"\n{result['total']} — {counts}")


@models.command(name="candidates", help="Đề nghị khen thưởng trong năm / the year's candidates for commendation.")
@unit_option
@click.option("--year", type=int, help="Năm (mặc định năm nay) / year (default this one).")
def candidates(unit: str | None, year: int | None) -> None:
    result = call("query", SERVICE, "model_candidates", {"unit": unit, "year": year})
    if result is None:
        return
    lang = get_ctx().lang
    for r in result["items"]:
        r["tier_label"] = label(r["tier"], TIER_VI, None, lang)
        r["level_label"] = label(r["level"], LEVEL_VI, None, lang)
        r["share"] = f"{r['share_exceeded'] * 100:.0f} %"
    cols = [("id", "Mã", "Id"), ("name", "Mô hình", "Model"), ("unit_name", "Đơn vị", "Unit"),
            ("tier_label", "Công nhận", "Recognised"), ("level_label", "Mức", "Level"),
            ("share", "Chỉ tiêu vượt", "Targets exceeded")]  # fmt: skip
    click.echo(f"{result['year']}")
    click.echo(table(result["items"], cols, lang))
    click.echo(f"\n{result['total']}")


@models.command(name="show", help="Một mô hình: các bước, biểu quyết, thông báo / one model in full.")
@click.argument("model_id")
@click.option("--pdf-2a", "pdf_2a", type=click.Path(dir_okay=False, path_type=Path), help="Mẫu 2a (PDF).")
@click.option("--pdf-2b", "pdf_2b", type=click.Path(dir_okay=False, path_type=Path), help="Mẫu 2b (PDF).")
@click.option("--tier", type=_choice(Tier), help="Mẫu 2b của cấp (mặc định cấp cao nhất) / 2b of this tier.")
def show(model_id: str, pdf_2a: Path | None, pdf_2b: Path | None, tier: str | None) -> None:
    view = call("query", SERVICE, "model", {"model_id": model_id})
    if view is None:
        return
    lang = get_ctx().lang
    reg = view["registered"]
    click.echo(f"{view['model_id']}: {reg['name']} ({reg['unit_name']}) — {label(view['stage'], STAGE_VI, None, lang)}")
    click.echo(f"{reg['holder']}; {label(reg['field'], MODEL_FIELD_VI, None, lang)}")
    if view["level"]:
        click.echo(f"{'Mức' if lang == 'vi' else 'Level'}: {label(view['level'], LEVEL_VI, None, lang)}")
    for t in view["ladder"]:
        n = view["notices"].get(t)
        if n:
            click.echo(f"  {label(t, TIER_VI, None, lang)}: {n['number']} ({n['issued_on']}, {n['by_unit_name']})")
    if view["next_tier"]:
        by = f" — {view['next_by']['name']}" if view.get("next_by") else ""
        click.echo(f"{'Cấp kế tiếp' if lang == 'vi' else 'Next'}: {label(view['next_tier'], TIER_VI, None, lang)}{by}")
    rows = [{"seq": h["seq"], "time": str(h["time"])[:16], "type": h["type"].rsplit(".", 2)[-2], "actor": h["actor"]}
            for h in view["history"]]  # fmt: skip
    click.echo("")
    click.echo(table(rows, [("seq", "#", "#"), ("time", "Thời điểm", "Time"), ("type", "Sự kiện", "Event"),
                            ("actor", "Người thực hiện", "Actor")], lang))  # fmt: skip
    if pdf_2a is not None:
        pdf_2a.write_bytes(forms.form_2a(view, today_vn()))
        click.echo(f"{pdf_2a}")
    if pdf_2b is not None:
        if not view["notices"]:
            raise click.UsageError("Mô hình chưa có thông báo công nhận (Mẫu 2b) / no recognition notice yet")
        if tier is not None and tier not in view["notices"]:
            raise click.UsageError(f"Chưa có thông báo công nhận cấp {tier} / no notice at {tier}")
        pdf_2b.write_bytes(forms.form_2b(view, tier))
        click.echo(f"{pdf_2b}")
