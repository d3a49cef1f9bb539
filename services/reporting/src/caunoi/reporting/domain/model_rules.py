"""The rules of the "Dân vận khéo" models, quoted when a command breaks one (seed 002; the party's
voting rules where the seed relies on them). A refusal is :class:`caunoi.shared.rules.RuleViolated`,
code ``rule_violated``, and stores nothing."""

from __future__ import annotations

from caunoi.shared.rules import Rule

STEPS = Rule(
    "Các bước xây dựng mô hình “Dân vận khéo”: Bước 1 lên ý tưởng, đăng ký; Bước 2 triển khai; Bước 3 theo"
    " dõi, đôn đốc, kiểm tra; Bước 4 đánh giá; Bước 5 công nhận; Bước 6 khen thưởng và nhân rộng",
    "the six steps in order: 1 idea and registration; 2 deployment; 3 monitoring; 4 evaluation;"
    " 5 recognition; 6 commendation and replication",
    "seed 002, I",
)
EVALUATE_AGAINST_TARGETS = Rule(
    "Căn cứ kết quả dự kiến của mô hình theo bản đăng ký để tự đánh giá kết quả thực hiện của mô hình"
    " theo 03 mức: vượt, bằng, kém",
    "the model evaluates itself against the results registered, in three levels: exceeded, met, below",
    "seed 002, step 4",
)
RESULTS_REPORT = Rule(
    "Đề nghị các tập thể, cá nhân viết báo cáo kết quả triển khai, thực hiện việc xây dựng mô hình"
    " “Dân vận khéo” (theo Mẫu 2a) trước khi cấp ủy họp xem xét, biểu quyết công nhận",
    "the collective or individual writes the results report (form 2a) before the party committee votes",
    "seed 002, step 5.1",
)
CRITERIA = Rule(
    "Cấp ủy, tổ chức đảng biểu quyết công nhận mô hình “Dân vận khéo” phải đảm bảo các tiêu chí, tiêu"
    " chuẩn; mô hình tự đánh giá ở mức «kém» chưa đạt",
    "the committee recognises a model only if it meets the criteria and standards; a model whose"
    " self-evaluation is 'below' does not (caunoi's reading)",
    "seed 002, step 5.2",
)
GRASSROOTS_STANDARD = Rule(
    "Mô hình “Dân vận khéo” cấp cơ sở: đảm bảo các tiêu chí; đã nhân rộng hoặc có thể nhân rộng ở cơ sở",
    "a grassroots model meets the criteria and has been or can be replicated at the grassroots",
    "seed 002, step 5.2.b",
)
DISTRICT_FROM_GRASSROOTS = Rule(
    "Mô hình “Dân vận khéo” cấp huyện: là những mô hình được chọn ra từ các mô hình được công nhận mô hình"
    " “Dân vận khéo” cấp cơ sở; đã nhân rộng hoặc có thể nhân rộng ở phạm vi toàn huyện",
    "a district model is chosen among the grassroots-recognised ones and has been or can be replicated"
    " across the district",
    "seed 002, step 5.2.b",
)
PROVINCE_FROM_DISTRICT = Rule(
    "Mô hình “Dân vận khéo” cấp tỉnh: là những mô hình được chọn ra từ các mô hình được công nhận mô hình"
    " “Dân vận khéo” cấp huyện; đã nhân rộng hoặc có thể nhân rộng trong phạm vi toàn tỉnh",
    "a province model is chosen among the district-recognised ones and has been or can be replicated"
    " across the province",
    "seed 002, step 5.2.b",
)
PROVINCE_FROM_GRASSROOTS = Rule(
    "Từ 01/7/2025 không còn cấp huyện: mô hình “Dân vận khéo” cấp tỉnh được chọn ra từ các mô hình được"
    " công nhận cấp cơ sở; đã nhân rộng hoặc có thể nhân rộng trong phạm vi toàn tỉnh",
    "since 1 July 2025 there is no district: a province model is chosen among the grassroots-recognised"
    " ones and has been or can be replicated across the province",
    "seed 002, step 5.2.b, as applied to the two-tier structure (caunoi's decision)",
)
NO_DISTRICT = Rule(
    "Từ 01/7/2025 chính quyền địa phương hai cấp (tỉnh, xã): không còn mô hình “Dân vận khéo” cấp huyện",
    "since 1 July 2025 local government has two tiers (province, commune): there are no district models",
    "two-tier local government (2025)",
)
QUORUM = Rule(
    "Hội nghị cấp ủy chỉ hợp lệ khi có ít nhất {quorum} tổng số cấp ủy viên tham dự",
    "a party committee meeting is valid only when at least {quorum} of its members attend",
    "quy chế làm việc của cấp ủy (a default, CAUNOI_MODELS_QUORUM)",
)
MAJORITY = Rule(
    "Nghị quyết của các cơ quan lãnh đạo của Đảng chỉ có giá trị thi hành khi có hơn một nửa số thành viên"
    " trong cơ quan lãnh đạo đó tán thành",
    "a party body's decision stands only when more than half of its members vote for it",
    "Điều lệ Đảng, Điều 9 (tập trung dân chủ)",
)
NOTICE_AFTER_VOTE = Rule(
    "Ban hành Thông báo công nhận mô hình “Dân vận khéo” (Mẫu 2b) sau khi cấp ủy biểu quyết công nhận",
    "the recognition notice (form 2b) is issued after the committee voted to recognise",
    "seed 002, step 5.3",
)
COMMEND_RECOGNISED = Rule(
    "Hàng năm, các cấp ủy, tổ chức đảng xem xét, lựa chọn các mô hình “Dân vận khéo” tiêu biểu để biểu"
    " dương, khen thưởng; lập kế hoạch nhân rộng mô hình",
    "each year the party committees choose typical recognised models to commend, and plan their replication",
    "seed 002, step 6",
)
