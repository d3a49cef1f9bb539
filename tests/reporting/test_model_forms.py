"""Forms 2a (the results report) and 2b (the recognition notice) of a "Dân vận khéo" model, printed
from the ``model`` query's answer as the CLI prints them: each opens with an independent reader
(pypdf), its Vietnamese text extracts with every diacritic, and it says what the form must: the
model, the targets against the results with their levels, the committee, its vote, the notice's
number; the font is embedded."""

from __future__ import annotations

import io
import unicodedata
from datetime import date
from typing import Any

import pytest
from pypdf import PdfReader
from reporting.models_support import at, deployment, evaluation, notice, registration, reporting, vote
from support import credential

from caunoi.reporting import forms
from caunoi.shared.context import Role
from caunoi.shared.projection import Pool

pytestmark = pytest.mark.asyncio


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    fonts = [f.get_object() for page in reader.pages for f in page["/Resources"]["/Font"].values()]  # type: ignore[index]
    assert fonts and all("DejaVu" in str(f["/BaseFont"]) for f in fonts)
    assert all("/FontFile2" in f["/DescendantFonts"][0].get_object()["/FontDescriptor"] for f in fonts)
    return " ".join(unicodedata.normalize("NFC", " ".join(p.extract_text() for p in reader.pages)).split())


async def recognised_model(pool: Pool) -> dict[str, Any]:
    """A commune's model of vn-2024, recognised at grassroots and district level."""
    svc = await reporting(pool, at(2026, 6, 1), "vn-2024")
    clerk, district = (
        credential("02227", Role.clerk, dataset="vn-2024"),
        credential("072", Role.officer, dataset="vn-2024"),
    )
    mid = (await svc.ok("model_register", registration("02227", registered_on="2025-09-01"), as_=clerk))["model_id"]
    await svc.ok("model_deploy", deployment(mid, deployed_on="2025-09-20"), as_=clerk)
    await svc.ok("model_monitor", {"model_id": mid, "kind": "progress_check", "on": "2025-12-01",
                                   "text": "Đã vận động được 30/40 hộ ký cam kết"}, as_=clerk)  # fmt: skip
    await svc.ok("model_evaluate", evaluation(mid, results=(55, 3, 1), evaluated_on="2026-04-01",
                                              budget_spent_vnd=48_500_000), as_=clerk)  # fmt: skip
    await svc.ok("model_report", {"model_id": mid, "achievements": "55 hộ hiến đất", "reported_on": "2026-04-05"},
                 as_=clerk)  # fmt: skip
    await svc.ok("model_vote", vote(mid, "grassroots", voted_on="2026-04-10", minutes_ref="15-BB/ĐU"), as_=clerk)
    await svc.ok("model_notice", notice(mid, "grassroots", "12-TB/ĐU", issued_on="2026-04-12"), as_=clerk)
    await svc.ok("model_report", {"model_id": mid, "reported_on": "2026-04-20", "proposed_tier": "district",
                                  "achievements": "55 hộ hiến hơn 6.000 m² đất, mở rộng 3 km đường",
                                  "lessons": "Cấp ủy vào cuộc, đảng viên gương mẫu hiến đất trước",
                                  "number": "07/BC-HPN"}, as_=clerk)  # fmt: skip
    await svc.ok("model_vote", vote(mid, "district", members=21, present=17, in_favour=16, voted_on="2026-05-02"),
                 as_=district)  # fmt: skip
    await svc.ok("model_notice", notice(mid, "district", "05-TB/HU", issued_on="2026-05-05",
                                        signer_name="Hoàng Thị Thu", signer_title="Bí thư"), as_=district)  # fmt: skip
    view: dict[str, Any] = await svc.ok("model", {"model_id": mid}, as_=clerk)
    return view


async def test_forms_2a_and_2b_print_with_their_vietnamese_text_extractable(pool: Pool) -> None:
    view = await recognised_model(pool)
    a = text_of(forms.form_2a(view, date(2026, 6, 1)))
    for words in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "HUYỆN NA HANG",
                  "HỘI LIÊN HIỆP PHỤ NỮ", "XÃ SINH LONG", "Sinh Long, ngày 20 tháng 04 năm 2026", "Số: 07/BC-HPN",
                  "BÁO CÁO", "Kết quả triển khai, thực hiện việc xây dựng mô hình “Dân vận khéo”",
                  "“Dân vận khéo trong hiến đất làm đường”", "I. ĐẶC ĐIỂM, TÌNH HÌNH", "Lĩnh vực: Kinh tế",
                  "kinh phí dự kiến 50.000.000 đồng", "Ban chỉ đạo (Bí thư Đảng ủy (trưởng ban)",
                  "Đã vận động được 30/40 hộ ký cam kết",
                  "III. KẾT QUẢ ĐẠT ĐƯỢC", "55 hộ hiến hơn 6.000 m² đất", "Hộ hiến đất ≥ 40 hộ 55 hộ vượt",
                  "Đường được mở rộng ≥ 3 km 3 km bằng", "Vụ khiếu kiện về đất ≤ 2 vụ 1 vụ vượt",
                  "mô hình đạt mức «vượt»", "Kinh phí thực hiện: 48.500.000 đồng", "V. BÀI HỌC KINH NGHIỆM",
                  "đảng viên gương mẫu hiến đất trước", "Đề nghị công nhận mô hình “Dân vận khéo” cấp huyện",
                  "T/M CHI HỘI PHỤ NỮ THÔN ĐỒNG TÂM", view["model_id"]):  # fmt: skip
        assert words in a, words
    b = text_of(forms.form_2b(view))  # the highest tier noticed: the district's
    for words in ("ĐẢNG BỘ TỈNH TUYÊN QUANG", "HUYỆN ỦY NA HANG", "Số 05-TB/HU", "ĐẢNG CỘNG SẢN VIỆT NAM",
                  "Na Hang, ngày 05 tháng 05 năm 2026", "THÔNG BÁO",
                  "Công nhận mô hình “Dân vận khéo” cấp huyện năm 2026",
                  "Căn cứ Báo cáo số 07/BC-HPN ngày 20/04/2026 của Chi hội Phụ nữ thôn Đồng Tâm",
                  "Căn cứ kết quả biểu quyết của Huyện ủy Na Hang ngày 02/05/2026: tổng số cấp ủy viên 21, có mặt 17, "
                  "tán thành 16, không tán thành 1, không biểu quyết 0",
                  "1. Tên mô hình: “Dân vận khéo trong hiến đất làm đường”", "3. Lĩnh vực: Kinh tế",
                  "Hộ hiến đất", "T/M BAN THƯỜNG VỤ", "BÍ THƯ", "Hoàng Thị Thu", "Huyện ủy Na Hang"):  # fmt: skip
        assert words in b, words
    grassroots = text_of(forms.form_2b(view, "grassroots"))
    for words in ("ĐẢNG BỘ HUYỆN NA HANG", "ĐẢNG ỦY XÃ SINH LONG", "Số 12-TB/ĐU", "cấp cơ sở năm 2026",
                  "Đảng ủy xã Sinh Long ngày 10/04/2026 (biên bản 15-BB/ĐU)",
                  "Huyện ủy Na Hang (báo cáo)"):  # fmt: skip
        assert words in grassroots, words
    with pytest.raises(ValueError, match="province"):
        forms.form_2b(view, "province")
