"""Open311 GeoReport v2 with a plain HTTP client against the running web application: a key
issued with `caunoi web open311-key issue`, a request POSTed and read back with its status, the
XML form parsed, the spec's errors for a missing key and an unknown service code; every JSON
answer is checked against the committed OpenAPI document's schemas."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from click.testing import CliRunner
from support import Loop, Servers, stream_messages
from webapp.helpers import COMMUNE, PROVINCE, Web, hamlet

from caunoi.cli.main import cli as caunoi_cli
from caunoi.shared.context import Role

REPO = Path(__file__).resolve().parents[2]
DOC = json.loads((REPO / "docs" / "open311" / "openapi.json").read_text())
BASE = "/open311/v2"


def check(schema: dict[str, Any], body: Any) -> None:
    """``body`` is what the OpenAPI document says this answer is."""
    jsonschema.Draft202012Validator({**schema, "components": DOC["components"]}).validate(body)


def listed(name: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}


ERRORS = {"$ref": "#/components/schemas/Errors"}


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    lp = Loop()
    yield lp
    lp.close()


@pytest.fixture(scope="module")
def api_key(web: Web, servers: Servers) -> str:
    """A key for a province portal, issued as the README says."""
    env = {
        "CAUNOI_DATA_DIR": str(servers.data_dir),
        "CAUNOI_LOGIN": str(servers.installation.operator_login),
        "NATS_URL": servers.nats_url,
        "CAUNOI_WEB_OPEN311_KEYS_FILE": str(web.keys_file),
    }
    res = CliRunner().invoke(
        caunoi_cli, ["web", "open311-key", "issue", "--name", "Cổng thông tin tỉnh", "--unit", PROVINCE], env=env
    )
    assert res.exit_code == 0, res.output
    found = re.search(r"api_key: (o311_\S+)", res.output)
    assert found, res.output
    assert web.keys_file.stat().st_mode & 0o077 == 0
    assert found.group(1) not in web.keys_file.read_text()  # only its hash is kept
    listed_keys = CliRunner().invoke(caunoi_cli, ["--json", "web", "open311-key", "list"], env=env)
    assert [k["unit"] for k in json.loads(listed_keys.stdout)] == [PROVINCE]
    return found.group(1)


@pytest.fixture(scope="module")
def hamlet_id(servers: Servers, loop: Loop, services: object) -> str:
    hid: str = loop.run(hamlet(servers))
    return hid


def test_services_are_the_petition_fields_in_json_and_xml(web: Web) -> None:
    services = httpx.get(f"{web.url}{BASE}/services.json").json()
    check(listed("Service"), services)
    assert {"land", "roads", "drainage"} <= {s["service_code"] for s in services}
    roads = next(s for s in services if s["service_code"] == "roads")
    assert roads["service_name"] == "Giao thông nông thôn" and roads["metadata"] is True
    xml = httpx.get(f"{web.url}{BASE}/services.xml")
    assert xml.headers["content-type"].startswith("text/xml") and xml.content.startswith(b"<?xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    assert root.find("service/service_name") is not None
    definition = httpx.get(f"{web.url}{BASE}/services/roads.json").json()
    check({"$ref": "#/components/schemas/ServiceDefinition"}, definition)
    assert [a["code"] for a in definition["attributes"]] == ["kind", "hamlet_id"]
    tree = ET.fromstring(httpx.get(f"{web.url}{BASE}/services/roads.xml").content)
    assert tree.tag == "service_definition" and tree.findall("attributes/attribute/values/value/key")


def test_unknown_service_code_and_missing_api_key_get_the_specs_errors(web: Web, api_key: str) -> None:
    res = httpx.get(f"{web.url}{BASE}/services/potholes.json")
    assert res.status_code == 404
    check(ERRORS, res.json())
    assert res.json()[0]["code"] == 404 and "potholes" in res.json()[0]["description"]
    form = {"service_code": "roads", "address_id": COMMUNE, "description": "Ổ gà trên đường liên thôn"}
    res = httpx.post(f"{web.url}{BASE}/requests.json", data=form)
    assert res.status_code == 403
    check(ERRORS, res.json())
    res = httpx.post(f"{web.url}{BASE}/requests.xml", data={**form, "api_key": "o311_wrong_key"})
    assert res.status_code == 403
    err = ET.fromstring(res.content)
    assert err.tag == "errors" and err.findtext("error/code") == "403"
    res = httpx.post(f"{web.url}{BASE}/requests.json", data={**form, "api_key": api_key, "service_code": "potholes"})
    assert res.status_code == 404 and res.json()[0]["code"] == 404
    res = httpx.post(f"{web.url}{BASE}/requests.json", data={**form, "api_key": api_key, "address_id": ""})
    assert res.status_code == 400 and "location" in res.json()[0]["description"]
    res = httpx.get(f"{web.url}{BASE}/requests.json")
    assert res.status_code == 403
    res = httpx.get(f"{web.url}{BASE}/requests/PA-XXXXXXXX.json", params={"api_key": api_key})
    assert res.status_code == 404
    check(ERRORS, res.json())


def test_a_refused_raise_is_the_services_message_and_stores_nothing(
    web: Web, api_key: str, servers: Servers, loop: Loop
) -> None:
    async def count() -> int:
        c = await servers.client()
        try:
            n: int = await stream_messages(c, "PETITIONS")
            return n
        finally:
            await c.close()

    before = loop.run(count())
    form = {"api_key": api_key, "service_code": "roads", "address_id": COMMUNE, "description": "Ổ gà",
            "attribute[hamlet_id]": f"{COMMUNE}-khong-co-thon-nay"}  # fmt: skip
    res = httpx.post(f"{web.url}{BASE}/requests.json", data=form)
    assert res.status_code == 400 and res.json()[0]["description"].startswith("hamlet_id:")
    assert loop.run(count()) == before


def test_post_a_request_and_follow_it_to_the_reply(web: Web, api_key: str, hamlet_id: str, servers: Servers,
                                                   loop: Loop) -> None:  # fmt: skip
    form = {
        "api_key": api_key,
        "service_code": "roads",
        "address_id": COMMUNE,
        "address_string": "Km 3 đường liên thôn",
        "lat": "22.8233",
        "long": "104.9836",
        "description": "Ổ gà lớn trên đường liên thôn, xe máy dễ ngã",
        "first_name": "Lê",
        "last_name": "Thị Hoa",
        "phone": "0988123456",
        "attribute[hamlet_id]": hamlet_id,
        "attribute[kind]": "petition",
    }
    res = httpx.post(f"{web.url}{BASE}/requests.json", data=form)
    assert res.status_code == 200, res.text
    created = res.json()
    check(listed("Created"), created)
    rid = created[0]["service_request_id"]

    one = httpx.get(f"{web.url}{BASE}/requests/{rid}.json", params={"api_key": api_key}).json()
    check(listed("ServiceRequest"), one)
    req = one[0]
    assert (req["service_request_id"], req["status"], req["service_code"]) == (rid, "open", "roads")
    assert "Km 3 đường liên thôn (22.8233, 104.9836)" in req["description"]
    assert req["agency_responsible"] == "Phường Hà Giang 2" and req["status_notes"] == "Đã tiếp nhận"
    assert req["expected_datetime"] and req["expected_datetime"].endswith("+07:00")  # the handling deadline
    assert req["address_id"] == COMMUNE and "Thôn Cầu Nối" in req["address"]

    # the XML form parses and says the same
    xml = httpx.get(f"{web.url}{BASE}/requests/{rid}.xml", params={"api_key": api_key})
    root = ET.fromstring(xml.content)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == rid and root.findtext("request/status") == "open"
    assert root.findtext("request/agency_responsible") == "Phường Hà Giang 2"

    # the commune forwards it to the province, which commits a date and replies
    async def handle() -> None:
        c = await servers.client(servers.login(PROVINCE, Role.officer))
        clerk = await servers.client(servers.login(COMMUNE, Role.clerk))
        try:
            await clerk.command("petitions", "forward", {"petition_id": rid, "to_unit": PROVINCE,
                                                         "to_agency": "Sở Xây dựng"})  # fmt: skip
            await c.command("petitions", "commit", {"petition_id": rid, "committed_date": "2099-12-31"})
        finally:
            await c.close()
            await clerk.close()

    loop.run(handle())
    req = wait_for(web, api_key, rid, lambda r: r["expected_datetime"].startswith("2099-12-31"))
    assert req["status"] == "open" and req["agency_responsible"] == "Tỉnh Tuyên Quang – Sở Xây dựng"
    assert req["expected_datetime"] == "2099-12-31T00:00:00+07:00" and req["status_notes"] == "Đang giải quyết"

    async def reply() -> None:
        c = await servers.client(servers.login(PROVINCE, Role.officer))
        try:
            await c.command("petitions", "reply", {"petition_id": rid, "document_no": "45/SXD",
                                                   "summary": "Đã vá ổ gà"})  # fmt: skip
        finally:
            await c.close()

    loop.run(reply())
    req = wait_for(web, api_key, rid, lambda r: r["status"] == "closed")
    assert req["status_notes"] == "Đã có văn bản trả lời: Đã vá ổ gà" and req["expected_datetime"] is None

    # the listing: by id, by field and status, and the 90 days before today by default
    many = httpx.get(f"{web.url}{BASE}/requests.json", params={"api_key": api_key, "service_request_id": rid}).json()
    assert [r["service_request_id"] for r in many] == [rid]
    closed = httpx.get(f"{web.url}{BASE}/requests.json",
                       params={"api_key": api_key, "service_code": "roads", "status": "closed"}).json()  # fmt: skip
    check(listed("ServiceRequest"), closed)
    assert rid in {r["service_request_id"] for r in closed} and {r["status"] for r in closed} == {"closed"}
    still_open = httpx.get(f"{web.url}{BASE}/requests.json", params={"api_key": api_key, "status": "open"}).json()
    assert rid not in {r["service_request_id"] for r in still_open}
    bad = httpx.get(f"{web.url}{BASE}/requests.json", params={"api_key": api_key, "start_date": "yesterday"})
    assert bad.status_code == 400


def wait_for(web: Web, api_key: str, rid: str, done: Any, timeout: float = 20.0) -> dict[str, Any]:
    """The request once the read model shows what was done (it follows the log)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        req: dict[str, Any] = httpx.get(f"{web.url}{BASE}/requests/{rid}.json", params={"api_key": api_key}).json()[0]
        if done(req) or time.monotonic() > deadline:
            return req
        time.sleep(0.1)
