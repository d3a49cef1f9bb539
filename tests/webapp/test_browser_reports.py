"""Reports and notices in a real browser (Playwright driving Debian's Chromium): a commune clerk
opens a report fallen due, corrects a figure (a refusal at its field first), writes the narrative
and submits; the province officer sees it filed late beside another commune's missing one, reads
it without a form to change it, downloads it as PDF and XLSX (read back with pypdf and openpyxl)
and compiles another unit's figures for any dates; a national operator finds a failed notice first,
sends it again with a reason (refused without one), and picks a province on the dashboard."""

from __future__ import annotations

import asyncio
import io
import re
import time
import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import Sinks
from pypdf import PdfReader
from support import Servers, wait_projected
from webapp.helpers import PROVINCE, Web, failed_notice, logged_in, login_file, require_chromium

from caunoi.shared.client import Client
from caunoi.shared.clock import today_vn
from caunoi.shared.context import Role

require_chromium()

from playwright.async_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")
#: Xã Lũng Cú and Xã Đồng Văn (vn-2025, province 08): enrolled by this test alone
FILER, SILENT = "00715", "00721"


async def reports_due(c: Client) -> dict[str, dict[str, Any]]:
    """Both communes owe the weekly report from three weeks back: what fell due is recorded, then
    what passed its deadline (the service's duties, run now). The newest week both missed, by
    unit."""
    since = (today_vn() - timedelta(days=21)).isoformat()
    for unit in (FILER, SILENT):
        await c.command("reporting", "enrol", {"unit_code": unit, "schedules": ["weekly"], "since": since,
                                               "command_id": f"web-test-enrol-{unit}"})  # fmt: skip
    for _ in range(2):  # what fell due, then what passed its deadline
        await wait_projected(c, "reporting")
        await c.admin("reporting", "duties")
    await wait_projected(c, "reporting")
    board = await c.query("reporting", "reports", {"unit": PROVINCE, "schedule": "weekly"})
    missed = [r for r in board["items"] if r["unit_code"] == FILER and r["status"] == "missing"]
    period = missed[0]["period"]  # newest first
    return {r["unit_code"]: r for r in board["items"] if r["period"] == period and r["unit_code"] in (FILER, SILENT)}


async def download(page: Page, fmt: str) -> bytes:
    async with page.expect_download() as info:
        await page.click(f"[data-testid=downloads] a[data-format={fmt}]")
    path = await (await info.value).path()
    return await asyncio.to_thread(Path(path).read_bytes)


async def test_a_commune_files_its_report_and_the_province_sees_who_filed(
    web: Web, servers: Servers, browser: Browser, tmp_path: Path
) -> None:
    c = await servers.client()
    try:
        due = await reports_due(c)
    finally:
        await c.close()
    mine, theirs = due[FILER], due[SILENT]
    assert (mine["status"], theirs["status"]) == ("missing", "missing")
    clerk = await login_file(servers, tmp_path, "Giàng Thị Mỷ", FILER, Role.clerk)
    officer = await login_file(servers, tmp_path, "Trần Văn Bình", PROVINCE, Role.officer)

    # -- the commune's clerk: an ad-hoc report of its own (its dates the wrong way round first) -----
    page = await logged_in(browser, web, clerk)
    await page.click("nav.nav a[href='/reports']")
    adhoc = page.locator("details[data-action=open]")
    await adhoc.locator("summary").click()
    await adhoc.locator("input[name=title]").fill("Báo cáo đột xuất tình hình sạt lở")
    await adhoc.locator("input[name=from_date]").fill(today_vn().isoformat())
    await adhoc.locator("input[name=to_date]").fill((today_vn() - timedelta(days=3)).isoformat())
    await adhoc.locator("button[type=submit]").click()
    # refused in Vietnamese at the field it concerns (the request model's own check, issue 14)
    refused_at = page.locator("details[data-action=open] .field-error[data-field=to_date]")
    await expect(refused_at).to_contain_text("trước ngày bắt đầu")
    await page.locator("details[data-action=open] input[name=from_date]").fill(
        (today_vn() - timedelta(days=6)).isoformat()
    )
    await page.locator("details[data-action=open] button[type=submit]").click()
    await page.wait_for_url(re.compile(rf".*/reports/BC-{FILER}-adhoc-\w+$"))
    await expect(page.locator("h1")).to_contain_text("Báo cáo đột xuất tình hình sạt lở")

    # -- and the report fallen due --------------------------------------------------------------------
    await page.click("nav.nav a[href='/reports']")
    await page.locator(f"[data-testid=reports] tr[data-id='{mine['id']}'] a").click()
    await page.wait_for_url(re.compile(f".*/reports/{mine['id']}$"))
    await expect(page.get_by_test_id("status")).to_have_text("CHƯA NỘP (quá hạn)")
    attendees = page.locator("[data-testid=figures] tr[data-figure=attendees]")
    computed = (await attendees.locator("td.computed").inner_text()).strip()

    # a correction without its reason: the service's message at that field, nothing recorded
    correct = page.locator("details[data-action=correct]")
    await correct.locator("summary").click()
    await correct.locator("select[name=figure]").select_option("attendees")
    await correct.locator("input[name=value]").fill("35")
    await correct.locator("input[name=reason]").evaluate("el => el.removeAttribute('required')")
    await correct.locator("button[type=submit]").click()
    reason_error = page.locator("details[data-action=correct] .field-error[data-field=reason]")
    await expect(reason_error).to_contain_text("Thiếu trường bắt buộc")
    await expect(attendees.locator("td.final")).to_have_text("")
    correct = page.locator("details[data-action=correct]")
    await correct.locator("input[name=reason]").fill("Bổ sung người dự tại chi bộ thôn Lô Lô Chải")
    await correct.locator("button[type=submit]").click()
    await expect(page.locator(".flash")).to_contain_text("Đã ghi điều chỉnh số liệu")
    await expect(attendees.locator("td.final")).to_have_text("35")
    await expect(attendees.locator("td.computed")).to_have_text(computed)  # the computed value stays beside it
    await expect(attendees.locator("td.reason")).to_contain_text("Lô Lô Chải")

    # the narrative, then the submission
    assessment = page.locator("details[data-action=narrative][data-section=assessment]")
    await assessment.locator("summary").click()
    await assessment.locator("textarea[name=text]").fill("Nhân dân phấn khởi; ý kiến tập trung vào đường lên cột cờ.")
    await assessment.locator("button[type=submit]").click()
    await expect(page.locator(".flash")).to_contain_text("Đã lưu phần nhận định")
    await page.get_by_test_id("submit").click()
    await expect(page.locator(".flash")).to_contain_text("Đã nộp báo cáo")
    await expect(page.get_by_test_id("status")).to_have_text("Nộp muộn")
    await expect(page.get_by_test_id("submitted")).to_contain_text("muộn")
    assert await page.locator("[data-testid=filing] form").count() == 0  # filed: final
    await expect(page.locator("[data-section=assessment]")).to_contain_text("đường lên cột cờ")

    # -- the province sees it filed (late) beside the other commune's missing one ------------------
    prov = await logged_in(browser, web, officer)
    await prov.goto(f"{web.url}/reports?schedule=weekly&period={mine['period']}")
    group = prov.locator(f"details.group[data-period='{mine['period']}']")
    await expect(group.locator(f"tr[data-unit='{FILER}']")).to_have_attribute("data-status", "late")
    await expect(group.locator(f"tr[data-unit='{FILER}']")).to_contain_text("Nộp muộn")
    await expect(group.locator(f"tr[data-unit='{SILENT}']")).to_have_attribute("data-status", "missing")
    await expect(group.locator(f"tr[data-unit='{SILENT}']")).to_contain_text("CHƯA NỘP")
    await prov.click("[data-testid=report-counts] a[data-status=missing]")
    assert await prov.locator(f"tr[data-unit='{FILER}']").count() == 0
    await expect(prov.locator(f"tr[data-unit='{SILENT}']")).to_have_count(1)
    # the other commune's report: the province reads it, no form to change it
    await prov.goto(f"{web.url}/reports/{theirs['id']}")
    await expect(prov.get_by_test_id("read-only")).to_be_visible()
    assert await prov.locator("[data-testid=filing] form").count() == 0

    # the filed report, downloaded: the PDF (read back with pypdf) and the spreadsheet (openpyxl)
    await prov.goto(f"{web.url}/reports/{mine['id']}")
    await expect(prov.locator("[data-testid=figures] tr[data-figure=attendees] td.final")).to_have_text("35")
    pdf = await download(prov, "pdf")
    text = " ".join(unicodedata.normalize("NFC", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
                    .split())  # fmt: skip
    for phrase in ("BÁO CÁO", "XÃ LŨNG CÚ", "Lô Lô Chải", "đường lên cột cờ", "Nộp muộn"):
        assert phrase in text, phrase
    book = openpyxl.load_workbook(io.BytesIO(await download(prov, "xlsx")))
    figures = {row[1]: row for row in book["Số liệu"].iter_rows(min_row=2, values_only=True)}
    assert figures["attendees"][2:5] == (int(computed), 35, "Bổ sung người dự tại chi bộ thôn Lô Lô Chải")

    # any unit's figures for any dates
    today = today_vn()
    await prov.goto(f"{web.url}/reports/compile")
    await prov.select_option("[data-testid=compile-form] select[name=unit]", FILER)
    await prov.fill("[data-testid=compile-form] input[name=from]", (today - timedelta(days=30)).isoformat())
    await prov.click("[data-testid=compile-form] button[type=submit]")
    await expect(prov.locator("h1")).to_contain_text("Xã Lũng Cú")
    await expect(prov.locator("[data-testid=figures] tr[data-figure=opinions]")).to_be_visible()
    assert await prov.locator("[data-testid=charts] svg").count() >= 1
    xlsx = openpyxl.load_workbook(io.BytesIO(await download(prov, "xlsx")))
    assert xlsx.sheetnames[:2] == ["Số liệu", "Theo đơn vị"]


async def test_an_operator_resends_a_failed_notice_and_picks_a_province(
    web: Web, servers: Servers, browser: Browser, sinks: Sinks, tmp_path: Path
) -> None:
    c = await servers.client()
    try:
        nid, number = await failed_notice(c, sinks, FILER)
    finally:
        await c.close()
    operator = await login_file(servers, tmp_path, "Quản trị hệ thống", "", Role.operator)
    page = await logged_in(browser, web, operator)
    await page.click("nav.nav a[href='/notices']")
    # failed first
    await expect(page.locator("[data-testid=notice-counts] a[data-state=failed]")).to_have_class(re.compile(r"\bon\b"))
    row = page.locator(f"[data-testid=notices] tr[data-id='{nid}']")
    await expect(row).to_have_attribute("data-state", "failed")
    assert await page.locator("[data-testid=notices] tbody tr[data-state]").evaluate_all(
        "rows => rows.every(r => r.dataset.state === 'failed')"
    )
    await row.locator("a").first.click()
    await page.wait_for_url(re.compile(f".*/notices/{nid}$"))
    await expect(page.get_by_test_id("state")).to_have_text("Thất bại")
    await expect(page.get_by_test_id("last-error")).to_contain_text("503")
    # no reason: the service's message at the field
    resend = page.locator("details[data-action=resend]")
    await resend.locator("input[name=reason]").evaluate("el => el.removeAttribute('required')")
    await resend.locator("button[type=submit]").click()
    await expect(page.locator(".field-error[data-field=reason]")).to_be_visible()
    await expect(page.get_by_test_id("state")).to_have_text("Thất bại")
    await page.locator("details[data-action=resend] input[name=reason]").fill("Cổng SMS đã hoạt động lại")
    await page.locator("details[data-action=resend] button[type=submit]").click()
    await expect(page.locator(".flash")).to_contain_text("Đã đưa vào hàng gửi lại")
    await expect(page.get_by_test_id("history")).to_contain_text("Cổng SMS đã hoạt động lại")
    deadline = time.monotonic() + 30
    while await page.get_by_test_id("state").inner_text() != "Đã gửi":  # the courier sends it in a moment
        assert time.monotonic() < deadline, await page.get_by_test_id("state").inner_text()
        await asyncio.sleep(0.3)
        await page.reload()
    assert len(sinks.http.to(number)) == 1
    assert await page.locator("details[data-action=resend]").count() == 0

    # the dashboard: a national operator picks a province
    await page.goto(f"{web.url}/dashboard")
    await expect(page.locator("h1")).to_contain_text("toàn quốc")
    await page.select_option("select[data-testid=unit-picker]", PROVINCE)
    await page.click("form.filters button[type=submit]")
    await expect(page.locator("h1")).to_contain_text("Tỉnh Tuyên Quang")
    # and, from there, one of its communes
    await page.select_option("select[data-testid=unit-picker]", FILER)
    await page.click("form.filters button[type=submit]")
    await expect(page.locator("h1")).to_contain_text("Xã Lũng Cú")
