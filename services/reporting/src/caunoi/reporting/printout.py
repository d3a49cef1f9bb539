"""A report printed as the provincial reports in the seeds are laid out: the issuing unit and the
national motto at the head, place and date, «BÁO CÁO» and what it reports on, I. the results
(meetings, then the people's opinions: what was raised, answered, forwarded, resolved, then the
"Dân vận khéo" models), the figures with any correction beside the computed value, the table by
unit below, the charts, II. the assessment, III. the proposals, and the recipients (the tier
above, «báo cáo»).

Input: a report as the ``report`` query returns it (or a compilation, :func:`view_of_compilation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from caunoi.printing.letter import MOTTO_VI, date_line
from caunoi.reporting.events import Section
from caunoi.reporting.labels import CHANNELS_VI, FIELDS_VI, figure_rows, percent
from caunoi.shared.units import UnitTree

if TYPE_CHECKING:
    from caunoi.printing.document import Align, Document

#: the reporting service's page: a little smaller and wider than a letter's, for its tables
SIZE = 11.5
MARGINS = (20.0, 15.0, 15.0)
BY_UNIT = (
    ("meetings_planned", "HN kế hoạch"),
    ("meetings_held", "HN đã tổ chức"),
    ("attendees", "Lượt dự"),
    ("opinions", "Ý kiến"),
    ("answered_on_spot", "Giải đáp tại HN"),
    ("forwarded", "Chuyển"),
    ("resolved", "Đã giải quyết"),
    ("outstanding", "Tồn"),
    ("overdue", "Quá hạn"),
    ("models_registered", "Mô hình"),
)


def document(title: str) -> Document:
    # the PDF writer (fpdf2, Pillow, fonts) and matplotlib are loaded by the first printout, not by
    # every process that imports this module for its views (the web application, the CLI)
    from caunoi.printing.document import Document

    return Document(title=title, size=SIZE, margins_mm=MARGINS)


def masthead(doc: Document, left: list[str], right: list[str], dated: str) -> None:
    """The two-column head of an official document: the issuing body (the body above it first) on
    the left, the national motto (or the party's name) on the right, the place and date below it."""
    s = doc.size
    issuer = [(line, "B" if i else "", s - 0.5) for i, line in enumerate(left)]
    motto = [(line, "B", s - (1.5 if i == 0 else 0)) for i, line in enumerate(right)]
    third = doc.width * 0.42
    doc.columns([issuer, [*motto, (dated, "I", s - 0.5)]], [third, doc.width - third])
    doc.space(4)


def heading(doc: Document, value: str, level: int = 1) -> None:
    doc.heading(value, align="L", size=doc.size + (1 if level == 1 else 0))


def table(doc: Document, headers: list[str], rows: list[list[Any]], widths: tuple[float, ...],
          size: float | None = None) -> None:  # fmt: skip
    """A figures table: the first column (what is counted) left-aligned, the numbers centred."""
    centred: list[Align] = ["C"] * (len(headers) - 1)
    aligns: list[Align] = ["L", *centred]
    doc.table(headers, rows, widths, size=size or doc.size - 1.5, aligns=aligns)


def signature(doc: Document, left: list[str], right: list[str]) -> None:
    """Two blocks side by side at the foot: the recipients on the left, the signature on the right."""
    half, s = doc.width / 2, doc.size
    doc.space(4)
    received = [(line, "BI" if i == 0 else "", s - (0 if i == 0 else 1.5)) for i, line in enumerate(left)]
    signed = [(line, "B" if i == 0 else "I", s) for i, line in enumerate(right)]
    doc.columns([received, signed], [half, half], ["L", "C"])


def _day(value: Any) -> date:
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date() if "T" in str(value) else date.fromisoformat(str(value))


def view_of_compilation(result: Mapping[str, Any]) -> dict[str, Any]:
    """A compilation (the ``compile`` query's answer) as a report to print: a draft, uncorrected."""
    comp = result["compilation"]
    return {
        "unit_code": result["unit"]["code"],
        "unit_name": result["unit"]["name"],
        "dataset": None,
        "to_unit": None,
        "schedule_title": result.get("schedule_title") or "Báo cáo tổng hợp",
        "period_label": result["period"]["label"],
        "period_start": result["period"]["start"],
        "period_end": result["period"]["end"],
        "compilation": comp,
        "final": comp["totals"],
        "corrections": {},
        "narrative": {},
        "status": "draft",
        "submitted_at": None,
        "title": None,
    }


def render(view: Mapping[str, Any], today: date) -> bytes:
    from caunoi.reporting import charts

    tree = UnitTree.load(view["dataset"]) if view.get("dataset") else None
    unit = tree.find(view["unit_code"]) if tree else None
    parent = tree.find(view["to_unit"]) if tree and view.get("to_unit") else None
    comp, final = view["compilation"], view["final"]
    start, end = _day(view["period_start"]), _day(view["period_end"])
    dated = _day(view["submitted_at"]) if view.get("submitted_at") else today
    place = unit.short_name if unit else view["unit_name"]

    doc = document(f"Báo cáo {view['period_label']} — {view['unit_name']}")
    masthead(
        doc,
        [parent.name.upper() if parent else "", view["unit_name"].upper(), "*"],
        list(MOTTO_VI),
        date_line(place, dated),
    )
    what = view.get("title") or view["schedule_title"]
    doc.title("BÁO CÁO", f"{what} — {view['period_label']}")
    doc.paragraph(f"(Số liệu từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y})", first_line_indent=False, style="I")
    if view.get("status") not in ("submitted", "late"):
        doc.paragraph("DỰ THẢO — số liệu tổng hợp tự động, chưa nộp.", first_line_indent=False, style="B")
    narrative = view.get("narrative") or {}
    if text := narrative.get(Section.situation.value):
        heading(doc, "Tình hình chung", level=2)
        doc.paragraph(text)

    heading(doc, "I. KẾT QUẢ THỰC HIỆN")
    heading(doc, "1. Hội nghị tiếp xúc, đối thoại", level=2)
    without = final["units_without_meeting"]
    doc.paragraph(
        f"Trong kỳ, {final['units_total'] - len(without)}/{final['units_total']} đơn vị đã tổ chức "
        f"{final['meetings_held']} cuộc hội nghị (theo kế hoạch: {final['meetings_planned']} cuộc), với "
        f"{final['attendees']} lượt người tham dự; trong đó {final['meetings_held_p1']} cuộc thực hiện mô hình "
        f"«Phát huy tài dân, sức dân – lợi cho dân», {final['meetings_held_p2']} cuộc người đứng đầu cấp ủy "
        "tiếp xúc, đối thoại với Nhân dân."
    )
    if without:
        names = ", ".join(u["name"] for u in without[:40]) + (" …" if len(without) > 40 else "")
        doc.paragraph(f"Đơn vị chưa tổ chức hội nghị ({len(without)}): {names}.")
    heading(doc, "2. Tiếp nhận, giải quyết ý kiến, kiến nghị của Nhân dân", level=2)
    doc.paragraph(
        f"Tiếp nhận {final['opinions']} ý kiến, kiến nghị (tại hội nghị: {final['opinions_at_meetings']}); "
        f"giải đáp trực tiếp tại hội nghị {final['answered_on_spot']} ý kiến; chuyển cấp có thẩm quyền giải "
        f"quyết {final['forwarded']} ý kiến; đã giải quyết {final['resolved']}, đã gửi {final['replies_sent']} "
        f"văn bản trả lời và {final['delay_notices_sent']} thông báo giải quyết chậm. Cuối kỳ còn "
        f"{final['outstanding']} ý kiến đang giải quyết, trong đó {final['overdue']} ý kiến quá hạn. Tỷ lệ trả "
        f"lời đúng hạn: {percent(final['on_time_rate'])}."
    )
    if comp["totals"]["forwarded_to"]:
        to = "; ".join(
            f"{f['to_unit']}{' – ' + f['to_agency'] if f['to_agency'] else ''}: {f['count']}"
            for f in comp["totals"]["forwarded_to"][:12]
        )
        doc.paragraph(f"Chuyển đến: {to}.")

    heading(doc, "3. Xây dựng mô hình «Dân vận khéo»", level=2)
    doc.paragraph(
        f"Trong kỳ, {final['models_registered']} mô hình đăng ký xây dựng; {final['models_evaluated']} mô hình tự "
        f"đánh giá (vượt: {final['models_exceeded']}, bằng: {final['models_met']}, kém: {final['models_below']}); "
        f"được công nhận cấp cơ sở: {final['models_recognised_grassroots']}, cấp huyện: "
        f"{final['models_recognised_district']}, cấp tỉnh: {final['models_recognised_province']}; "
        f"{final['models_commended']} mô hình được biểu dương, khen thưởng."
    )

    heading(doc, "4. Số liệu tổng hợp", level=2)
    rows = [[r["label"], r["computed"], "" if r["corrected"] is None else r["corrected"], r["reason"] or ""]
            for r in figure_rows(view)]  # fmt: skip
    table(doc, ["Chỉ tiêu", "Tổng hợp tự động", "Điều chỉnh", "Lý do điều chỉnh"], rows, widths=(70, 28, 24, 53))

    if comp["by_unit"]:
        heading(doc, "5. Kết quả theo đơn vị", level=2)
        active = [u for u in comp["by_unit"] if any(u["figures"][k] for k, _ in BY_UNIT)]
        unit_rows = [[u["name"], *(u["figures"][k] for k, _ in BY_UNIT), percent(u["figures"]["on_time_rate"])]
                     for u in active]  # fmt: skip
        if quiet := len(comp["by_unit"]) - len(active):
            unit_rows.append([f"{quiet} đơn vị khác: không có số liệu", *("0" for _ in BY_UNIT), "—"])
        total = ["Tổng cộng", *(comp["totals"][k] for k, _ in BY_UNIT), percent(comp["totals"]["on_time_rate"])]
        column = (doc.width - 40) / (len(BY_UNIT) + 1)
        table(doc, ["Đơn vị", *(h for _, h in BY_UNIT), "Đúng hạn"], [*unit_rows, total],
              widths=(40, *(column for _ in BY_UNIT), column), size=8)  # fmt: skip

    by_field = comp["totals"]["opinions_by_field"]
    if by_field:
        heading(doc, "6. Ý kiến, kiến nghị theo lĩnh vực và kênh tiếp nhận", level=2)
        table(doc, ["Lĩnh vực", "Số ý kiến"], [[FIELDS_VI.get(k, k), n] for k, n in by_field.items()], widths=(120, 55))
        channels = comp["totals"]["opinions_by_channel"]
        table(doc, ["Kênh tiếp nhận", "Số ý kiến"], [[CHANNELS_VI.get(k, k), n] for k, n in channels.items()],
                  widths=(120, 55))  # fmt: skip

    s = comp["series"]
    unit_names = {u["code"]: u["name"] for u in comp["by_unit"]}
    heading(doc, "7. Biểu đồ", level=2)
    # the units that held a meeting in the twelve months (a province has a hundred communes)
    held = {c: v for c, v in s["meetings_by_unit"].items() if any(v)}
    doc.image(charts.meetings_per_month(s["months"], dict(list(held.items())[:40]), unit_names), width=165)
    doc.image(charts.opinions_by_field(by_field or {"—": 0}, FIELDS_VI), width=150)
    doc.image(charts.on_time_rate(s["months"], s["on_time_rate"]), width=165)

    heading(doc, "II. NHẬN XÉT, ĐÁNH GIÁ")
    doc.paragraph(narrative.get(Section.assessment.value) or "(Chưa có nhận xét.)")
    heading(doc, "III. KIẾN NGHỊ, ĐỀ XUẤT")
    doc.paragraph(narrative.get(Section.proposals.value) or "(Không có.)")

    recipients = ["Nơi nhận:"]
    if parent is not None:
        recipients.append(f"- {parent.name} (báo cáo);")
    recipients.append("- Lưu văn phòng.")
    status = {"submitted": "Đã nộp", "late": "Nộp muộn"}.get(str(view.get("status")), "Dự thảo")
    when = f" lúc {view['submitted_at']}" if view.get("submitted_at") else ""
    signature(doc, recipients, [f"T/M {view['unit_name'].upper()}", f"{status}{when}"])
    channels_used = ", ".join(CHANNELS_VI.get(k, k) for k in comp["totals"]["opinions_by_channel"])
    doc.paragraph(f"Tổng hợp từ dữ liệu sự kiện ({channels_used or 'không có ý kiến'}); "
                  f"vị trí dữ liệu: {comp['compiled_from']}.", first_line_indent=False, style="I")  # fmt: skip
    return doc.to_bytes()
