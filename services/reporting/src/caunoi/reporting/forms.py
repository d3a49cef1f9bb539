"""The "Dân vận khéo" forms of seed 002 as printable PDFs (``caunoi.printing``):

- **form 2a** (Mẫu 2a), the results report the collective or individual writes (step 5.1): the
  unit and the national motto at the head, «BÁO CÁO» on the model, I. the situation (the problem,
  the resources), II. how it was deployed and followed, III. the results against each registered
  target with its level, IV. the self-evaluation, V. the lessons, VI. the proposal for recognition;
- **form 2b** (Mẫu 2b), the recognition notice (step 5.3) of the committee at a tier: the party's
  header (ĐẢNG CỘNG SẢN VIỆT NAM), the notice's number, what it rests on (the guidance, the results
  report, the committee's vote with its figures), the model recognised, the recipients and the
  signature.

Input: a model as the ``model`` query returns it (JSON), so the CLI and the web print the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from caunoi.printing.letter import MOTTO_VI, date_line
from caunoi.reporting.labels import (
    DIRECTION_VI,
    LEVEL_VI,
    MODEL_FIELD_VI,
    MODEL_KIND_VI,
    MONITORING_VI,
    SUSTAINABILITY_VI,
    TIER_VI,
)
from caunoi.reporting.printout import document, heading, masthead, signature, table
from caunoi.shared.labels import label
from caunoi.shared.units import LEVEL_COMMUNE, LEVEL_DISTRICT, Unit, UnitTree

PARTY = "ĐẢNG CỘNG SẢN VIỆT NAM"
GUIDANCE = (
    "Căn cứ Hướng dẫn của Ban Dân vận Tỉnh ủy về xây dựng mô hình “Dân vận khéo” và Hướng dẫn bổ sung các"
    " bước xây dựng mô hình “Dân vận khéo”;"
)
_DISTRICT_COMMITTEE = {"Quận": "Quận ủy", "Thị xã": "Thị ủy", "Thành phố": "Thành ủy"}

if TYPE_CHECKING:
    from caunoi.printing.document import Document


def committee(unit: Unit) -> str:
    """The party committee of a unit: Đảng ủy xã …, Huyện ủy …, Tỉnh ủy … (``.upper()`` at a head)."""
    if unit.level == LEVEL_COMMUNE:
        return f"Đảng ủy {unit.name[:1].lower()}{unit.name[1:]}"
    if unit.level == LEVEL_DISTRICT:
        return f"{_DISTRICT_COMMITTEE.get(unit.kind, 'Huyện ủy')} {unit.short_name}"
    return f"{'Thành ủy' if unit.kind == 'Thành phố' else 'Tỉnh ủy'} {unit.short_name}"


def _day(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _d(value: str | date) -> str:
    return f"{_day(value):%d/%m/%Y}"


def _vnd(value: int | None) -> str:
    return "—" if value is None else f"{value:,}".replace(",", ".") + " đồng"


_VN_DIGITS = str.maketrans({",": ".", ".": ","})


def _num(value: float | None) -> str:
    """A number as Vietnamese write it: 1.250,5"""
    if value is None:
        return "—"
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{int(value):,}"
    return text.translate(_VN_DIGITS)


def _tree(view: Mapping[str, Any]) -> UnitTree:
    return UnitTree.load(view["registered"]["dataset"])


def _level(value: str | None) -> str:
    return label(value, LEVEL_VI, None, "vi").lower() if value else "—"


def targets_table(doc: Document, view: Mapping[str, Any]) -> None:
    """The registered targets against the results of the latest evaluation, with each level."""
    reg, ev = view["registered"], view.get("evaluation")
    results = {r["target_id"]: r for r in ev["results"]} if ev else {}
    rows = []
    for t in reg["targets"]:
        r = results.get(t["id"])
        unit = f" {t['unit']}" if t["unit"] else ""
        rows.append([f"{t['text']}{'' if t['essential'] else ' (phụ)'}",
                     f"{DIRECTION_VI.get(t['direction'], '')} {_num(t['value'])}{unit}",
                     f"{_num(r['result'])}{unit}" if r else "—", _level(r["level"]) if r else "—"])  # fmt: skip
    table(doc, ["Chỉ tiêu đăng ký", "Chỉ tiêu", "Kết quả", "Mức"], rows, (85, 35, 30, 25))


def form_2a(view: Mapping[str, Any], today: date) -> bytes:
    """Mẫu 2a: báo cáo kết quả triển khai, thực hiện việc xây dựng mô hình “Dân vận khéo”."""
    reg, dep, ev, rep = view["registered"], view.get("deployed"), view.get("evaluation"), view.get("report")
    tree = _tree(view)
    unit = tree.find(reg["unit_code"])
    parent = tree.find(unit.parent_code) if unit and unit.parent_code else None
    dated = _day(rep["reported_on"]) if rep else today
    doc = document(f"Báo cáo kết quả mô hình “Dân vận khéo” — {reg['name']}")
    issuer = [reg["agency"].upper(), reg["unit_name"].upper()] if reg.get("agency") else [reg["unit_name"].upper()]
    masthead(doc, [parent.name.upper() if parent else "", *issuer, "*"], list(MOTTO_VI),
             date_line(unit.short_name if unit else reg["unit_name"], dated))  # fmt: skip
    if rep and rep.get("number"):
        doc.text(f"Số: {rep['number']}", style="I", size=doc.size - 1)
    doc.title("BÁO CÁO", "Kết quả triển khai, thực hiện việc xây dựng mô hình “Dân vận khéo”", f"“{reg['name']}”")
    if not rep:
        doc.paragraph("DỰ THẢO — chưa có báo cáo kết quả.", first_line_indent=False, style="B")

    heading(doc, "I. ĐẶC ĐIỂM, TÌNH HÌNH")
    res = reg["resources"]
    kind, field = label(reg["kind"], MODEL_KIND_VI, None, "vi"), label(reg["field"], MODEL_FIELD_VI, None, "vi")
    doc.paragraph(f"{kind} thực hiện: {reg['holder']}. Lĩnh vực: {field}. Đăng ký ngày {_d(reg['registered_on'])}.")
    doc.paragraph(f"Vấn đề đặt ra: {reg['problem']}")
    source = f" ({res['budget_source']})" if res.get("budget_source") else ""
    core = ", ".join(res["core_team"]) or "—"
    doc.paragraph(
        f"Nguồn lực: {res['participants']} người tham gia; nòng cốt: {core}; "
        f"kinh phí dự kiến {_vnd(res['budget_vnd'])}{source}."
    )
    if reg["criteria"]:
        doc.paragraph("Tiêu chí: " + "; ".join(reg["criteria"]) + ".")
    doc.paragraph(f"Kết quả dự kiến: {reg['expected_results']}")

    heading(doc, "II. QUÁ TRÌNH TRIỂN KHAI THỰC HIỆN")
    if dep:
        teams = [f"Ban chỉ đạo ({', '.join(dep['steering_board'])})"]
        teams += [f"tổ khảo sát ({', '.join(dep['survey_team'])})"] if dep["survey_team"] else []
        teams += [f"tổ tuyên truyền, vận động ({', '.join(dep['publicity_team'])})"] if dep["publicity_team"] else []
        doc.paragraph(f"Ngày {_d(dep['deployed_on'])} thành lập {', '.join(teams)}.")
        doc.paragraph(f"Kết quả khảo sát: {dep['survey_report']}")
        plan = dep["plan"]
        until = f" đến ngày {_d(plan['end'])}" if plan.get("end") else ""
        pledge = " Nhân dân ký bản cam kết thực hiện." if dep.get("pledge") else ""
        doc.paragraph(
            f"Kế hoạch: {plan['form']}; tại {plan['place']}; từ ngày {_d(plan['start'])}{until}; "
            f"kinh phí {_vnd(plan['budget_vnd'])}.{pledge}"
        )
        for a in dep["assignments"]:
            doc.paragraph(f"- {a['who']}: {a['task']}", first_line_indent=False)
    else:
        doc.paragraph("(Chưa triển khai.)")
    if view["monitoring"]:
        rows = [[_d(m["on"]), label(m["kind"], MONITORING_VI, None, "vi"), m["text"]] for m in view["monitoring"]]
        doc.table(["Ngày", "Theo dõi, kiểm tra", "Nội dung"], rows, (25, 40, 110), size=doc.size - 1.5)

    heading(doc, "III. KẾT QUẢ ĐẠT ĐƯỢC")
    if rep:
        doc.paragraph(rep["achievements"])
    targets_table(doc, view)

    heading(doc, "IV. TỰ ĐÁNH GIÁ")
    if ev:
        lasting = label(ev["sustainability"], SUSTAINABILITY_VI, None, "vi")
        wide = label(ev["replicable_at"], TIER_VI, None, "vi").lower()
        doc.paragraph(
            f"Đánh giá ngày {_d(ev['evaluated_on'])}: mô hình đạt mức «{_level(ev['level'])}» so với chỉ tiêu "
            f"đăng ký. {lasting}; có thể nhân rộng {wide}."
        )
        doc.paragraph(ev["findings"])
        if ev.get("budget_spent_vnd") is not None:
            doc.paragraph(f"Kinh phí thực hiện: {_vnd(ev['budget_spent_vnd'])}.")
    else:
        doc.paragraph("(Chưa đánh giá.)")
    heading(doc, "V. BÀI HỌC KINH NGHIỆM")
    doc.paragraph((rep or {}).get("lessons") or "(Không có.)")
    heading(doc, "VI. ĐỀ XUẤT, KIẾN NGHỊ")
    if rep:
        more = f" {rep['proposals']}" if rep.get("proposals") else ""
        tier = label(rep["proposed_tier"], TIER_VI, None, "vi").lower()
        doc.paragraph(f"Đề nghị công nhận mô hình “Dân vận khéo” {tier}.{more}")
    recipients = ["Nơi nhận:", f"- {committee(unit) if unit else reg['unit_name']} (báo cáo);", "- Lưu."]
    signature(doc, recipients, [f"T/M {reg['holder'].upper()}", "(Ký, ghi rõ họ tên)"])
    doc.text(f"Mô hình {view['model_id']}", size=8, style="I")
    return doc.to_bytes()


def form_2b(view: Mapping[str, Any], tier: str | None = None) -> bytes:
    """Mẫu 2b: thông báo công nhận mô hình “Dân vận khéo” ở ``tier`` (default: the highest noticed)."""
    reg, notices = view["registered"], view["notices"]
    if not notices:
        raise ValueError(f"{view['model_id']} has no recognition notice")
    tier = tier or max(notices, key=view["ladder"].index)
    if tier not in notices:
        raise ValueError(f"{view['model_id']} has no recognition notice at {tier}")
    n, v, rep = notices[tier], view["votes"][tier], view.get("report")
    tree = _tree(view)
    by = tree.get(n["by_unit"])
    above = tree.find(by.parent_code) if by.parent_code else None
    issued = _day(n["issued_on"])
    tier_vi = label(tier, TIER_VI, None, "vi").lower()
    doc = document(f"Thông báo công nhận mô hình “Dân vận khéo” {tier_vi} — {reg['name']}")
    body = committee(by)
    if tier == "grassroots" and by.level != LEVEL_COMMUNE and reg.get("agency"):
        body = f"Đảng ủy cơ quan {reg['agency']}"  # an agency's own grassroots party organisation
    head = [f"ĐẢNG BỘ {above.name.upper()}" if above else "", body.upper(), "*", f"Số {n['number']}"]
    masthead(doc, head, [PARTY], date_line(by.short_name, issued))
    doc.title("THÔNG BÁO", f"Công nhận mô hình “Dân vận khéo” {tier_vi} năm {issued.year}")
    doc.paragraph(GUIDANCE)
    if rep and rep["proposed_tier"] == tier:
        number = f" số {rep['number']}" if rep.get("number") else ""
        doc.paragraph(
            f"Căn cứ Báo cáo{number} ngày {_d(rep['reported_on'])} của {reg['holder']} về kết quả triển khai, thực "
            "hiện việc xây dựng mô hình “Dân vận khéo”;"
        )
    vote = v["vote"]
    minutes = f" (biên bản {v['minutes_ref']})" if v.get("minutes_ref") else ""
    doc.paragraph(
        f"Căn cứ kết quả biểu quyết của {body} ngày {_d(v['voted_on'])}{minutes}: tổng số cấp ủy viên "
        f"{vote['members']}, có mặt {vote['present']}, tán thành {vote['in_favour']}, không tán thành "
        f"{vote['against']}, không biểu quyết {vote['abstaining']};"
    )
    doc.paragraph(
        f"Ban Thường vụ {body} thông báo công nhận mô hình “Dân vận khéo” {tier_vi} năm {issued.year} như sau:"
    )
    ev = view.get("evaluation")
    lines = [
        f"1. Tên mô hình: “{reg['name']}”.",
        f"2. {label(reg['kind'], MODEL_KIND_VI, None, 'vi')} thực hiện: {reg['holder']}"
        + (f" ({reg['agency']}, {reg['unit_name']})." if reg.get("agency") else f" ({reg['unit_name']})."),
        f"3. Lĩnh vực: {label(reg['field'], MODEL_FIELD_VI, None, 'vi')}.",
        f"4. Kết quả tự đánh giá: mức «{_level(ev['level'] if ev else None)}» so với chỉ tiêu đăng ký.",
    ]
    for line in lines:
        doc.paragraph(line, first_line_indent=False)
    targets_table(doc, view)
    doc.paragraph(
        f"{reg['holder']} tiếp tục duy trì, phát huy hiệu quả và nhân rộng mô hình; các cơ quan, đơn vị tăng cường "
        "tuyên truyền, học tập, nhân rộng mô hình."
    )
    recipients = ["Nơi nhận:", f"- {reg['holder']};", f"- {reg['unit_name']};"]
    if above:
        recipients.append(f"- {committee(above)} (báo cáo);")
    recipients.append("- Lưu Văn phòng.")
    signer = [("T/M BAN THƯỜNG VỤ", "B", doc.size), (n["signer_title"].upper(), "B", doc.size),
              *[("", "", doc.size)] * 3, (n["signer_name"], "B", doc.size)]  # fmt: skip
    received = [("Nơi nhận:", "BI", doc.size), *((r, "", doc.size - 1.5) for r in recipients[1:])]
    doc.space(4)
    doc.columns([received, signer], [doc.width / 2, doc.width / 2], ["L", "C"])
    doc.text(f"Mô hình {view['model_id']}", size=8, style="I")
    return doc.to_bytes()
