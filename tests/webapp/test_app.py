"""The web application in process, without servers: every form route refuses a post without the
session's CSRF token before anything is sent; a refused command's message lands at its field;
forms become command bodies; the committed OpenAPI document is valid, current, and lists exactly
the Open311 routes the app serves."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from starlette.datastructures import FormData
from starlette.routing import Mount, Route

with warnings.catch_warnings():  # starlette would rather have httpx2 under its test client; httpx is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from caunoi.shared.client import RequestFailed
from caunoi.shared.settings import Settings
from caunoi.shared.units import UnitTree
from caunoi.web.app import create_app
from caunoi.web.charts import counts_axis
from caunoi.web.open311.formats import to_xml
from caunoi.web.open311.openapi import document, render
from caunoi.web.pages import models
from caunoi.web.pages.base import Refusal, payload_from, unit_choices
from caunoi.web.settings import WebSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def app(tmp_path: Path) -> TestClient:
    key = tmp_path / "web-session.key"
    key.write_text("test-session-key-" + "x" * 40)
    web = WebSettings(session_key_file=key, open311_keys_file=tmp_path / "keys.json")
    core = Settings(data_dir=tmp_path, nats_url="nats://127.0.0.1:1")  # nothing listens there
    return TestClient(create_app(web, core), follow_redirects=False)


PARAMS = {"pid": "PA-ABCDEFGH", "mid": "HN-ABCDEFGH", "rid": "BC-00691-monthly-2026-05", "nid": "NT-0000000000000000",
          "action": "submit"}  # fmt: skip


def form_routes(client: TestClient) -> list[str]:
    """Every path of the app that takes a POST, with its parameters filled in."""
    out = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and "POST" in (route.methods or ()) and not route.path.startswith("/open311"):
            out.append(re.sub(r"\{(\w+)\}", lambda m: PARAMS.get(m.group(1), "forward"), route.path))
    return out


def test_every_form_route_refuses_a_post_without_the_sessions_token(app: TestClient) -> None:
    paths = form_routes(app)
    assert {"/login", "/logout", "/petitions/new", "/petitions/PA-ABCDEFGH/submit", "/meetings/HN-ABCDEFGH/hold",
            "/meetings/HN-ABCDEFGH/close", "/reports/open", "/reports/BC-00691-monthly-2026-05/submit",
            "/notices/NT-0000000000000000/resend", "/models/new",
            "/models/HN-ABCDEFGH/submit"} <= set(paths)  # fmt: skip
    app.get("/login")  # a session, with its token
    for path in paths:
        assert app.post(path, data={"text": "x"}).status_code == 403, path
        assert app.post(path, data={"csrf_token": "forged"}).status_code == 403, path
    token = re.search(r'name="csrf_token" value="([^"]+)"', app.get("/login").text)
    assert token is not None
    # with the right token the log-in form goes on to its own checks (no file, no credential)
    res = app.post("/login", data={"csrf_token": token.group(1)})
    assert res.status_code == 400 and "Chọn tệp đăng nhập" in res.text


def test_pages_need_a_log_in_and_the_session_cookie_is_httponly_and_samesite(app: TestClient) -> None:
    res = app.get("/petitions")
    assert res.status_code == 303 and res.headers["location"] == "/login?next=/petitions"
    cookie = app.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert app.get("/login?next=//evil.example").text.count('value="/"') == 1  # only this site's paths


def test_a_refusal_lands_at_its_field_in_the_pages_language() -> None:
    error = {"code": "invalid", "message": "Không được để trống",
             "message_en": "String should have at least 1 character", "field": "petitioner.name",
             "details": {"errors": [
                 {"field": "petitioner.name", "message": "Không được để trống",
                  "message_en": "String should have at least 1 character"},
                 {"field": "text", "message": "Thiếu trường bắt buộc", "message_en": "Field required"}]}}  # fmt: skip
    vi = Refusal.of(RequestFailed(error), "vi")
    assert vi.at("petitioner.name") == error["message"] and vi.at("text") == "Thiếu trường bắt buộc"
    en = Refusal.of(RequestFailed(error), "en")
    assert en.at("petitioner.name") == error["message_en"] and en.field == "petitioner.name"
    assert en.at("text") == "Field required"
    whole = Refusal.of(RequestFailed({"code": "conflict", "message": "Đã bị thay đổi"}), "vi")
    assert whole.field is None and whole.message == "Đã bị thay đổi" and not whole.fields


def test_a_form_becomes_a_command_body() -> None:
    form = FormData(
        [("petitioner.name", " An "), ("petitioner.phone", ""), ("text", "Đường hỏng"),
         ("petitioner.confidential", "on"), ("recipients", "petitioner"), ("recipients", "hamlet")]
    )  # fmt: skip
    body = payload_from(form, ["petitioner.name", "petitioner.phone", "text", "kind"], ["petitioner.confidential"],
                        ["recipients"])  # fmt: skip
    assert body == {"petitioner": {"name": "An", "confidential": True}, "text": "Đường hỏng",
                    "recipients": ["petitioner", "hamlet"]}  # fmt: skip


def test_a_models_forms_become_command_bodies_and_their_refusals_land_at_their_rows() -> None:
    # registration: the unused rows of targets (only their defaults) are left out, lines become lists
    form = FormData(
        [("unit_code", "00691"), ("name", "Mô hình"), ("criteria", "Tiêu chí A\n\n Tiêu chí B "),
         ("resources.core_team", "An\nBình"), ("resources.participants", "80"),
         ("targets.0.text", "Hộ"), ("targets.0.value", "40"), ("targets.0.direction", "at_least"),
         ("targets.0.essential", "on"), ("targets.1.direction", "at_least"), ("targets.1.essential", "on"),
         ("targets.2.text", "Vụ"), ("targets.2.value", "x"), ("targets.2.direction", "at_most")]
    )  # fmt: skip
    body, rows = models.registration(form)
    assert body["criteria"] == ["Tiêu chí A", "Tiêu chí B"] and body["resources"] == {
        "participants": "80", "core_team": ["An", "Bình"]}  # fmt: skip
    assert body["targets"] == [{"text": "Hộ", "value": "40", "direction": "at_least", "essential": True},
                               {"text": "Vụ", "value": "x", "direction": "at_most", "essential": False}]  # fmt: skip
    assert rows == {0: "0", 1: "2"}
    # the service names the second target sent; the form shows it at its third row
    error = {"code": "invalid", "message": "Dữ liệu không hợp lệ", "message_en": "invalid", "field": "targets.1.value",
             "details": {"errors": [{"field": "targets.1.value", "message": "not a number"}]}}  # fmt: skip
    refusal = models.renumbered(Refusal.of(RequestFailed(error), "vi"), "targets", rows)
    assert refusal.field == "targets.2.value" and refusal.at("targets.2.value") and not refusal.at("targets.1.value")
    # an evaluation: a result per registered target, refused at that target's input
    targets = [{"id": "t1"}, {"id": "t2"}, {"id": "t3"}]
    form = FormData([("results.t1", "55"), ("results.t3", "3,2"), ("findings", "Tốt"), ("command_id", "c-1")])
    body, rows = models.step_body("evaluate", form, "MH-ABCDEFGH", targets)
    assert body["results"] == [{"target_id": "t1", "result": "55"}, {"target_id": "t3", "result": "3.2"}]
    assert body["model_id"] == "MH-ABCDEFGH" and body["command_id"] == "c-1" and rows == {0: "t1", 1: "t3"}
    error = {"code": "invalid", "message": "Sai", "message_en": "wrong", "field": "results.1.result"}
    refusal = models.renumbered(Refusal.of(RequestFailed(error), "vi"), "results", rows, item="result")
    assert refusal.field == "results.t3" and refusal.at("results.t3") == "Sai"
    # a deployment: the teams one a line, each assignment "who: task"; an item refused at its textarea
    form = FormData([("steering_board", "Bí thư\nChủ tịch"), ("assignments", "MTTQ: vận động\nĐoàn thanh niên"),
                     ("plan.start", "2026-01-01"), ("pledge", "on")])  # fmt: skip
    body, _rows = models.step_body("deploy", form, "MH-ABCDEFGH")
    assert body["steering_board"] == ["Bí thư", "Chủ tịch"] and body["survey_team"] == [] and body["pledge"] is True
    assert body["assignments"] == [{"who": "MTTQ", "task": "vận động"}, {"who": "Đoàn thanh niên", "task": ""}]
    assert body["plan"] == {"start": "2026-01-01"}
    error = {"code": "invalid", "message": "Thiếu nhiệm vụ", "message_en": "no task", "field": "assignments.1.task"}
    refusal = models.at_inputs(Refusal.of(RequestFailed(error), "vi"), models.STEPS["deploy"])
    assert refusal.field == "assignments" and refusal.at("assignments") == "Thiếu nhiệm vụ"


def test_the_openapi_document_is_committed_valid_and_the_apps() -> None:
    committed = REPO / "docs" / "open311" / "openapi.json"
    assert committed.read_text() == render(), "run `make schemas`"
    doc = json.loads(committed.read_text())
    validate(doc)
    served = set()
    from caunoi.web.open311.api import routes

    for route in routes():
        assert isinstance(route, Route) and not isinstance(route, Mount)
        for method in route.methods or ():
            if method != "HEAD":
                served.add((route.path, method.lower()))
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented
    assert document()["paths"]["/open311/v2/requests.{fmt}"]["post"]["requestBody"]["content"]


def test_xml_answers_are_the_specs_shape() -> None:
    import xml.etree.ElementTree as ET

    body = to_xml("requests", [{"service_request_id": "PA-1", "status": "open", "lat": None}])
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = ET.fromstring(body)
    assert root.tag == "service_requests" and root.find("request/lat") is not None
    assert root.findtext("request/lat") == ""
    errors = ET.fromstring(to_xml("errors", [{"code": 403, "description": "api_key"}]))
    assert errors.findtext("error/code") == "403"


def test_the_unit_picker_goes_down_the_tiers_from_ones_own_unit() -> None:
    tree = UnitTree.load("vn-2025")
    national = unit_choices(tree, None, None, "Toàn quốc")
    assert (national[0].code, national[0].name, national[0].selected) == ("", "Toàn quốc", True)
    assert [o.code for o in national[1:]] == [u.code for u in tree.children(None)] and len(national) == 35
    # a national operator who chose a province: the country, the province (chosen), its communes
    province = unit_choices(tree, None, "08", "Toàn quốc")
    assert [(o.code, o.depth, o.selected) for o in province[:2]] == [("", 0, False), ("08", 1, True)]
    assert {o.code for o in province[2:]} == {u.code for u in tree.children("08")} and province[2].depth == 2
    # a province officer who chose one of its communes: back up to the province, the commune, nothing below
    officer = unit_choices(tree, "08", "00691", "Toàn quốc")
    assert [(o.code, o.name, o.depth, o.selected) for o in officer] == [
        ("", "Tỉnh Tuyên Quang", 0, False), ("00691", "Phường Hà Giang 2", 1, True),
    ]  # fmt: skip
    # a commune's clerk: its commune alone (the page shows no picker); an unknown code is ignored
    assert [o.code for o in unit_choices(tree, "00691", "99999", "Toàn quốc")] == [""]


def test_counts_get_whole_ticks_and_a_rate_axis_round_ones() -> None:
    assert counts_axis([("a", [0, 1, 2])]) == [0, 1, 2, 3]
    assert counts_axis([("a", [0, 95]), ("b", [None, 3])]) == list(range(0, 101, 10))
    assert counts_axis([("a", [0, 30])], intervals=5) == [0, 6, 12, 18, 24, 30]  # 0, 20, … 100 % beside it
    assert counts_axis([("a", [0.5])]) is None and counts_axis([("a", [None])]) is None
