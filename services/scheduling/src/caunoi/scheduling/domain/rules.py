"""The programmes' rules, quoted when a command breaks one (the seeds are in ../shared/seeds/);
``Rule`` and ``RuleViolated`` are the kernel's (:mod:`caunoi.shared.rules`)."""

from __future__ import annotations

from caunoi.shared.rules import Rule
from caunoi.shared.rules import RuleViolated as RuleViolated  # where this service's modules take it from

PILOT_DISTRICT = Rule(
    "Mỗi huyện, thị xã, thành phố chọn 02 địa phương gồm 01 xã và 01 thị trấn/phường làm điểm",
    "each district picks 2 pilot localities: 1 rural commune and 1 town or ward",
    "programme 1, seed 000",
)
PILOT_PROVINCE = Rule(
    "Từ 01/7/2025 không còn cấp huyện: tỉnh chọn các xã, phường làm điểm, ít nhất 01 xã và 01 phường"
    " (khi tỉnh có cả xã và phường)",
    "since 1 July 2025 there is no district: the province picks its pilot communes, at least 1 rural"
    " commune and 1 ward (when it has both)",
    "programme 1, seed 000, as applied to the two-tier structure (caunoi's decision)",
)
PILOT_SITES = Rule(
    "Tại các xã, phường, thị trấn chọn làm điểm, chỉ đạo thực hiện mô hình ở tất cả ấp, khóm, chi bộ"
    " ngành hoặc một số ấp, khóm, chi bộ, nhưng không ít hơn 50% so với tổng số ấp, khóm, chi bộ",
    "a pilot commune runs the model in all its hamlets and agency party cells, or in some of them,"
    " but no fewer than 50 % of them",
    "programme 1, seed 000",
)
PILOT_ONLY = Rule(
    "Xã, phường, thị trấn được chọn làm điểm mới chọn ấp, khóm, chi bộ làm điểm",
    "only a pilot commune picks pilot hamlets and party cells",
    "programme 1, seed 000",
)
MONTHLY = Rule(
    "Định kỳ hằng tháng, Đảng ủy, Ủy ban nhân dân xã chọn 01 ngày hoặc 01 buổi để tổ chức cuộc họp tại 01 ấp,"
    " khóm hoặc 01 chi bộ cơ quan – ngành, làm xoay vòng hết tất cả các ấp, khóm, cơ quan được chọn làm điểm",
    "every month the commune holds one meeting at one hamlet or agency party cell, rotating through all"
    " its pilot sites",
    "programme 1, seed 000",
)
OWN_SITES = Rule(
    "Cuộc họp được tổ chức tại chi bộ, ấp, khóm của xã",
    "the commune's meeting is held at one of its own hamlets or party cells",
    "programme 1, seed 000",
)
OPINIONS_DUE = Rule(
    "Tổng hợp các ý kiến, kiến nghị, báo cáo trước khi tổ chức hội nghị tiếp xúc, đối thoại ít nhất 10 ngày",
    "the opinions are compiled and reported at least 10 days before the dialogue",
    "programme 2, seed 004",
)
BROADCAST_DUE = Rule(
    "Thông báo rộng rãi trên hệ thống truyền thanh cơ sở về nội dung, thời gian và địa điểm trước 07 ngày",
    "time and place are broadcast on the local radio system 7 days before",
    "programme 2, seed 004",
)
ORDER_OF_BUSINESS = Rule(
    "Trình tự: khai mạc, giới thiệu; chủ trì nêu phương pháp; người đăng ký phát biểu theo thứ tự; chủ trì"
    " trả lời hoặc giao đơn vị trả lời; kết luận. Nội dung chưa giải quyết tại hội nghị giao cơ quan cụ thể",
    "order: opening; the chair explains the method; registered speakers in order; the chair answers or"
    " assigns a unit to answer; conclusion. What is not settled is assigned to a named agency",
    "programme 2, seed 004",
)
MINUTES_AFTER_HELD = Rule(
    "Biên bản được lập và hoàn thành sau khi hội nghị đã tổ chức",
    "minutes are closed only after the meeting was held",
    "a meeting's life",
)
HELD_AS_IT_HAPPENED = Rule(
    "Hội nghị được ghi nhận đã tổ chức theo ngày thực tế diễn ra: ngày đó không ở tương lai, không trước ngày"
    " hội nghị được lên lịch hoặc thông báo, và việc ghi nhận trong thời hạn quy định sau ngày đó",
    "a meeting is recorded as held on the day it took place: not a day still to come, not before the meeting"
    " was planned or announced, and within the set number of days after it",
    "a meeting's life (caunoi's decision; the number of days: CAUNOI_MEETING_RECORD_DAYS)",
)
FOLLOW_AREAS = Rule(
    "Tỉnh nắm đến xã, huyện nắm đến thôn, xã nắm đến người dân, đoàn viên, hội viên",
    "the province follows down to the commune, the district to the village, the commune to each citizen and member",
    "programme 3, seed 003",
)
