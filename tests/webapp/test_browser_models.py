"""The "Dân vận khéo" models in a real browser (Playwright driving Debian's Chromium): a commune clerk
registers a model (a refused target shown at its own row first), records its deployment, an evaluation
against its targets and the results report (form 2a); the commune's party committee officer records
the grassroots vote (refused without a quorum: the service's Vietnamese message at the field, nothing
stored) and the recognition notice; the model shows its stage and tier; forms 2a and 2b download as
PDFs (read back with pypdf); the province sees it among its models, with another one not updated for
months marked, is offered no vote it may not take, finds it among the year's candidates, commends it
and plans its replication; the page fits a phone and reads in English."""

from __future__ import annotations

import asyncio
import io
import re
import unicodedata
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from support import Servers
from webapp.helpers import PROVINCE, Web, logged_in, login_file, require_chromium

from caunoi.shared.clock import today_vn
from caunoi.shared.context import Role

require_chromium()

from playwright.async_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")
#: Xã Tát Ngà (vn-2025, province 08; not one of the demo data's communes): its models are this test's alone
COMMUNE = "00808"
NAME = "Dân vận khéo trong giữ gìn vệ sinh môi trường thôn Tát Ngà A"


async def pdf_text(page: Page, selector: str) -> str:
    async with page.expect_download() as info:
        await page.click(selector)
    path = await (await info.value).path()
    data = await asyncio.to_thread(Path(path).read_bytes)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    return " ".join(unicodedata.normalize("NFC", text).split())


async def open_step(page: Page, name: str) -> None:
    await page.locator(f"details[data-action={name}] summary").click()


async def test_a_commune_builds_a_model_and_its_committee_recognises_it(
    web: Web, servers: Servers, browser: Browser, tmp_path: Path
) -> None:
    clerk = await login_file(servers, tmp_path, "Vàng Thị Dở", COMMUNE, Role.clerk)
    committee = await login_file(servers, tmp_path, "Sùng Mí Páo", COMMUNE, Role.officer)
    province = await login_file(servers, tmp_path, "Trần Văn Bình", PROVINCE, Role.officer)
    c = await servers.client()
    try:  # another model of the commune, registered half a year ago and never touched since
        idle = await c.command("reporting", "model_register", {
            "unit_code": COMMUNE, "name": "Tổ tự quản an ninh trật tự thôn Tát Ngà B", "holder": "Chi bộ thôn",
            "field": "defence_security", "problem": "Trộm cắp vặt", "expected_results": "Không còn trộm cắp",
            "targets": [{"text": "Vụ trộm cắp", "value": 0, "unit": "vụ", "direction": "at_most"}],
            "registered_on": (today_vn() - timedelta(days=190)).isoformat(), "command_id": "web-test-idle-model",
        })  # fmt: skip
    finally:
        await c.close()

    # -- the commune clerk registers the model: a target's value refused at its own row first ---------
    page = await logged_in(browser, web, clerk)
    await page.click("nav.nav a[href='/models']")
    await page.get_by_test_id("register-link").click()
    form = page.get_by_test_id("register-form")
    await form.locator("input[name=name]").fill(NAME)
    await form.locator("select[name=field]").select_option("culture_society")
    await form.locator("input[name=holder]").fill("Chi hội Phụ nữ thôn Tát Ngà A")
    await form.locator("textarea[name=problem]").fill("Rác thải sinh hoạt đổ bừa bãi ven đường liên thôn")
    await form.locator("textarea[name=expected_results]").fill("Mọi hộ phân loại rác; không còn điểm rác tự phát")
    await form.locator("textarea[name=criteria]").fill("Gắn với sự lãnh đạo của cấp ủy\nĐược Nhân dân đồng tình")
    await form.locator("input[name='targets.0.text']").fill("Hộ ký cam kết phân loại rác")
    await form.locator("input[name='targets.0.value']").fill("120")
    await form.locator("input[name='targets.0.unit']").fill("hộ")
    # the second row left empty, the third with a value that is no number
    await form.locator("input[name='targets.2.text']").fill("Điểm rác tự phát")
    await form.locator("select[name='targets.2.direction']").select_option("at_most")
    await form.locator("input[name='targets.2.value']").fill("không")
    await form.locator("input[name='targets.2.unit']").fill("điểm")
    await form.locator("button[type=submit]").click()
    await expect(page.locator(".field-error[data-field='targets.2.value']")).to_be_visible()
    await expect(page.locator("input[name=name]")).to_have_value(NAME)  # what was typed stays
    await page.locator("input[name='targets.2.value']").fill("0")
    await page.locator("[data-testid=register-form] button[type=submit]").click()
    await page.wait_for_url(re.compile(r".*/models/MH-[0-9A-Z]{8}$"))
    mid = page.url.rsplit("/", 1)[-1]
    await expect(page.locator(".flash")).to_contain_text(f"Đã đăng ký mô hình {mid}")
    await expect(page.get_by_test_id("stage")).to_have_text("1. Lên ý tưởng, đăng ký")
    assert await page.locator("[data-testid=targets] tr[data-target]").count() == 2
    # what a registered model allows: its deployment only
    assert await page.locator("details.action").evaluate_all("els => els.map(e => e.dataset.action)") == ["deploy"]

    # -- deployment, evaluation, the results report ---------------------------------------------------
    await open_step(page, "deploy")
    deploy = page.locator("details[data-action=deploy]")
    await deploy.locator("textarea[name=steering_board]").fill("Bí thư Đảng ủy (trưởng ban)\nChủ tịch Ủy ban MTTQ")
    await deploy.locator("textarea[name=survey_report]").fill("86 hộ; 12 điểm rác tự phát dọc đường")
    await deploy.locator("textarea[name=assignments]").fill("Chi hội trưởng phụ nữ: vận động từng hộ ký cam kết")
    await deploy.locator("input[name='plan.form']").fill("Họp thôn, loa truyền thanh, vận động từng hộ")
    await deploy.locator("input[name='plan.place']").fill("Thôn Tát Ngà A")
    await deploy.locator("input[name='plan.start']").fill(today_vn().isoformat())
    await deploy.locator("input[name=pledge]").check()
    await deploy.locator("button[type=submit]").click()
    await expect(page.locator(".flash")).to_contain_text("Đã ghi nhận triển khai")
    await expect(page.get_by_test_id("stage")).to_have_text("2. Triển khai")
    await expect(page.locator("[data-testid=steps] li[data-step=deployment]")).to_contain_text("Chủ tịch Ủy ban MTTQ")

    await open_step(page, "evaluate")
    evaluate = page.locator("details[data-action=evaluate]")
    await evaluate.locator("input[name='results.t1']").fill("126")
    await evaluate.locator("input[name='results.t2']").fill("0")
    await evaluate.locator("select[name=sustainability]").select_option("high")
    await evaluate.locator("select[name=replicable_at]").select_option("grassroots")
    await evaluate.locator("textarea[name=findings]").fill("Nhân dân đồng thuận; thôn sạch, đẹp")
    await evaluate.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("stage")).to_have_text("4. Đánh giá")
    await expect(page.get_by_test_id("level")).to_contain_text("Vượt")
    await expect(page.locator("[data-testid=targets] tr[data-target=t1]")).to_have_attribute("data-level", "exceeded")
    await expect(page.locator("[data-testid=targets] tr[data-target=t2]")).to_have_attribute("data-level", "met")
    assert await page.locator("[data-testid=targets-chart] svg").count() == 1

    await open_step(page, "report")
    report = page.locator("details[data-action=report]")
    await report.locator("textarea[name=achievements]").fill("126/120 hộ ký cam kết; xóa 12 điểm rác tự phát")
    await report.locator("input[name=number]").fill("03/BC-PN")
    await report.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("stage")).to_have_text("5. Công nhận")

    # -- the commune's party committee: a vote without quorum is refused at its field ----------------
    office = await logged_in(browser, web, committee)
    await office.goto(f"{web.url}/models/{mid}")
    await open_step(office, "vote")
    vote = office.locator("details[data-action=vote]")
    await vote.locator("input[name=members]").fill("15")
    await vote.locator("input[name=present]").fill("9")
    await vote.locator("input[name=in_favour]").fill("9")
    await vote.locator("button[type=submit]").click()
    error = office.locator("details[data-action=vote] .field-error[data-field=present]")
    await expect(error).to_contain_text("Chỉ có 9/15 cấp ủy viên dự họp: không đủ số lượng")
    await expect(office.locator("details[data-action=vote] input[name=present]")).to_have_value("9")
    await expect(office.locator("[data-testid=recognition] tr[data-tier=grassroots]")).to_have_attribute(
        "data-state", "open"
    )
    c = await servers.client()
    try:  # nothing was stored
        assert (await c.query("reporting", "model", {"model_id": mid}))["votes"] == {}
    finally:
        await c.close()
    vote = office.locator("details[data-action=vote]")
    await vote.locator("input[name=present]").fill("13")
    await vote.locator("input[name=in_favour]").fill("12")
    await vote.locator("input[name=against]").fill("1")
    await vote.locator("input[name=minutes_ref]").fill("05/BB-ĐU")
    await vote.locator("button[type=submit]").click()
    await expect(office.locator(".flash")).to_contain_text("Đã ghi nhận biểu quyết công nhận")
    row = office.locator("[data-testid=recognition] tr[data-tier=grassroots]")
    await expect(row).to_have_attribute("data-state", "voted")
    await expect(row.locator("td.vote")).to_contain_text("có mặt 13")

    await open_step(office, "notice")
    notice = office.locator("details[data-action=notice]")
    await notice.locator("input[name=number]").fill("27-TB/ĐU")
    await notice.locator("input[name=signer_name]").fill("Sùng Mí Páo")
    await notice.locator("input[name=signer_title]").fill("Phó Bí thư Thường trực")
    await notice.locator("button[type=submit]").click()
    await expect(office.locator(".flash")).to_contain_text("Đã ban hành thông báo công nhận")
    await expect(office.get_by_test_id("stage")).to_have_text("5. Công nhận")
    await expect(office.get_by_test_id("tier")).to_contain_text("cấp cơ sở")
    await expect(row).to_have_attribute("data-state", "recognised")
    steps = await office.locator("[data-testid=steps] li").evaluate_all(
        "els => els.map(e => [e.dataset.step, e.dataset.recorded])"
    )
    assert steps == [["idea", "yes"], ["deployment", "yes"], ["monitoring", "no"], ["evaluation", "yes"],
                     ["recognition", "yes"], ["commendation", "no"]]  # fmt: skip

    # forms 2a and 2b
    text_2a = await pdf_text(office, "[data-testid=downloads] a[data-form='2a']")
    for phrase in ("BÁO CÁO", "Tát Ngà A", "126", "03/BC-PN", "Đề nghị công nhận mô hình “Dân vận khéo” cấp cơ sở"):
        assert phrase in text_2a, phrase
    text_2b = await pdf_text(office, "[data-testid=downloads] a[data-form='2b'][data-tier=grassroots]")
    for phrase in ("THÔNG BÁO", "27-TB/ĐU", "có mặt 13", "tán thành 12", NAME, "Sùng Mí Páo"):
        assert phrase in text_2b, phrase

    # -- the province: its models, the idle one marked; no vote it may not take ---------------------
    prov = await logged_in(browser, web, province)
    await prov.click("nav.nav a[href='/models']")
    await prov.select_option("select[data-testid=unit-picker]", COMMUNE)
    await prov.click("form.filters button[type=submit]")
    models = prov.get_by_test_id("models")
    await expect(models.locator(f"tr[data-id='{mid}']")).to_have_attribute("data-stage", "recognition")
    await expect(models.locator(f"tr[data-id='{mid}']")).to_have_attribute("data-stale", "no")
    stale = models.locator(f"tr[data-id='{idle['model_id']}']")
    await expect(stale).to_have_attribute("data-stale", "yes")
    await expect(stale.get_by_test_id("stale")).to_contain_text(re.compile(r"^[6-7] tháng không cập nhật$"))
    await prov.click("[data-testid=stage-counts] a[data-stage=recognition]")
    # the filtered page has loaded (read right after the click, the rows were once the old page's, detached)
    await expect(prov.locator("[data-testid=models] tr[data-id]")).to_have_count(1)
    assert await prov.locator("[data-testid=models] tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    ) == [mid]  # fmt: skip
    await prov.locator(f"[data-testid=models] tr[data-id='{mid}'] a").click()
    await prov.wait_for_url(re.compile(f".*/models/{mid}$"))
    # replicable at the grassroots only: the province's committee is offered no vote; step 6 is the province's to give
    offered = await prov.locator("details.action").evaluate_all("els => els.map(e => e.dataset.action)")
    assert "vote" not in offered and {"commend", "replicate"} <= set(offered), offered
    # the year's candidates for commendation: this one, until the province commends it
    await prov.goto(f"{web.url}/models/candidates?unit={COMMUNE}")
    await expect(prov.locator(f"[data-testid=candidates] tr[data-id='{mid}']")).to_contain_text("Cấp cơ sở")
    await prov.locator(f"[data-testid=candidates] tr[data-id='{mid}'] a").click()
    await open_step(prov, "commend")
    commend = prov.locator("details[data-action=commend]")
    await expect(commend.locator("input[name=year]")).to_have_value(str(today_vn().year))
    await commend.locator("select[name=form]").select_option("certificate")
    await commend.locator("textarea[name=reason]").fill("Mô hình tiêu biểu về giữ gìn vệ sinh môi trường")
    await commend.locator("button[type=submit]").click()
    await expect(prov.locator(".flash")).to_contain_text("Đã ghi nhận khen thưởng")
    await expect(prov.get_by_test_id("stage")).to_have_text("6. Khen thưởng, nhân rộng")
    await expect(prov.locator("[data-testid=steps] li[data-step=commendation]")).to_contain_text("Giấy khen")
    await open_step(prov, "replicate")
    replicate = prov.locator("details[data-action=replicate]")
    await replicate.locator("textarea[name=plan]").fill("Nhân rộng ra các thôn của xã")
    await replicate.locator("select[name=units]").select_option([COMMUNE])
    await replicate.locator("button[type=submit]").click()
    await expect(prov.locator("[data-testid=steps] li[data-step=commendation]")).to_contain_text("Xã Tát Ngà")
    await prov.goto(f"{web.url}/models/candidates?unit={COMMUNE}")
    assert await prov.locator(f"[data-testid=candidates] tr[data-id='{mid}']").count() == 0

    # a phone: the model's page fits its width; and in English
    phone = await logged_in(browser, web, province, viewport={"width": 390, "height": 844}, is_mobile=True)
    await phone.goto(f"{web.url}/models/{mid}")
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await phone.click("a.lang")
    await expect(phone.get_by_test_id("stage")).to_have_text("6. Commendation, replication")
    await expect(phone.locator("[data-testid=recognition] tr[data-tier=grassroots]")).to_contain_text("27-TB/ĐU")
