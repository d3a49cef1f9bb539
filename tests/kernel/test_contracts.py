"""The generated public contract (caunoi.shared.contracts): JSON Schemas and AsyncAPI in docs/
match the code, cover every event and endpoint, and describe what is really on the wire."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from caunoi.petitions.events import Category, Channel, Kind, PetitionRaised
from caunoi.shared import contracts
from caunoi.shared.envelope import CONTENT_TYPE, CloudEvent
from caunoi.shared.sealed import Sealed
from caunoi.shared.service import Service

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runtimes() -> list[Service[Any]]:
    return contracts.discover()


@pytest.fixture(scope="module")
def files(runtimes: list[Service[Any]]) -> dict[str, str]:
    return contracts.generate(runtimes)


@pytest.fixture(scope="module")
def doc(files: dict[str, str]) -> dict[str, Any]:
    return json.loads(files[contracts.ASYNCAPI_PATH])  # type: ignore[no-any-return]


# -- (a) drift --------------------------------------------------------------------------------


def test_committed_docs_match_the_code(files: dict[str, str]) -> None:
    problems = contracts.check(REPO, files)
    assert not problems, (
        "the generated contract in docs/ does not match the code; run `make schemas` and commit the result:\n"
        + "\n".join(f"  {p}" for p in problems)
    )


def test_generation_is_deterministic(runtimes: list[Service[Any]], files: dict[str, str]) -> None:
    assert contracts.generate(runtimes) == files
    assert list(files) == sorted(files)
    for path, content in files.items():
        assert path.startswith("docs/") and path.endswith(".json")
        assert content.endswith("\n") and not content.endswith("\n\n")
        assert content == contracts.dumps(json.loads(content)), path


# -- (b) coverage -----------------------------------------------------------------------------


def test_the_petitions_service_is_discovered(runtimes: list[Service[Any]]) -> None:
    names = [rt.name for rt in runtimes]
    assert "petitions" in names
    assert names == sorted(names)


def test_every_event_has_a_schema_file_and_an_asyncapi_message(
    runtimes: list[Service[Any]], files: dict[str, str], doc: dict[str, Any]
) -> None:
    seen = 0
    for rt in runtimes:
        channel = doc["channels"][f"{rt.name}.events"]
        assert channel["address"] == f"caunoi.{rt.name}.{{aggregateId}}.{{unitPath}}"
        assert set(channel["parameters"]) == {"aggregateId", "unitPath"}
        assert f"caunoi.{rt.name}.*.08.>" in channel["description"]
        for cls in rt.registry:
            type_name = cls.type_name()
            path = f"docs/events/{rt.name}/{cls.NAME.rpartition('.')[2]}.v{cls.VERSION}.json"
            assert path in files, f"no schema file for {type_name}"
            schema = json.loads(files[path])
            assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
            assert schema["$id"] == f"https://caunoi.vn/schemas/events/{type_name}.json"
            assert schema["title"] == type_name
            assert schema["description"]
            assert type_name in channel["messages"], f"no message for {type_name} on {rt.name}.events"
            message = doc["components"]["messages"][type_name]
            assert message["contentType"] == CONTENT_TYPE
            envelope, narrowing = message["payload"]["allOf"]
            assert envelope == {"$ref": "#/components/schemas/CloudEvent"}
            assert narrowing["properties"]["type"] == {"const": type_name}
            assert narrowing["properties"]["data"] == {"$ref": f"#/components/schemas/{type_name}"}
            seen += 1
    assert seen >= 5  # the petitions events at least


def test_every_endpoint_has_a_schema_a_channel_and_a_receive_operation(
    runtimes: list[Service[Any]], files: dict[str, str], doc: dict[str, Any]
) -> None:
    subjects = set()
    for rt in runtimes:
        kinds = {e.kind for e in rt.endpoints}
        assert {"command", "query", "admin"} <= kinds, rt.name
        for ep in rt.endpoints:
            subjects.add(ep.subject(rt.name))
            name = f"admin.{ep.name}" if ep.kind == "admin" else ep.name
            schema = json.loads(files[f"docs/commands/{rt.name}/{name}.json"])
            assert schema["title"] == ep.subject(rt.name)
            assert doc["channels"][ep.subject(rt.name)]["address"] == ep.subject(rt.name)
            op = doc["operations"][ep.subject(rt.name)]
            assert op["action"] == "receive"
            assert op["channel"] == {"$ref": f"#/channels/{ep.subject(rt.name)}"}
            assert op["reply"]["channel"] == {"$ref": "#/channels/reply"}
            assert op["bindings"]["nats"]["queue"] == rt.name
    assert "caunoi.cmd.petitions.raise" in subjects
    assert "caunoi.q.petitions.list" in subjects
    assert "caunoi.admin.petitions.status" in subjects
    raise_ = json.loads(files["docs/commands/petitions/raise.json"])
    assert {"command_id", "correlation_id", "commune_code"} <= set(raise_["properties"])
    assert "actor" not in raise_["properties"], "who asks is proven by the credential, never claimed in the body"
    assert raise_["properties"]["commune_code"]["pattern"] == r"^\d{5}$"


def test_reply_schema_describes_both_shapes(files: dict[str, str]) -> None:
    reply = json.loads(files["docs/commands/reply.json"])
    ok = {"ok": True, "result": {"petition_id": "PA-1"}}
    failed = {"ok": False, "error": {"code": "not_found", "message": "Không tìm thấy", "message_en": "not found"}}
    assert not validate(ok, reply)
    assert not validate(failed, reply)
    assert validate({"ok": False, "error": {"code": "x"}}, reply)
    assert validate({"ok": True}, reply)
    codes = reply["$defs"]["ReplyError"]["properties"]["code"]["examples"]
    assert {"invalid", "not_found", "invalid_state", "conflict", "unavailable", "internal"} <= set(codes)


# -- (c) a real event on the wire -------------------------------------------------------------


def _petition_raised() -> PetitionRaised:
    return PetitionRaised(
        petition_id="PA-2025-0001",
        channel=Channel.meeting,
        kind=Kind.petition,
        category=Category.roads,
        personal=Sealed(key_id="petitioner:PA-2025-0001", nonce="bm9uY2U=", ciphertext="c2VhbGVk"),
        commune_code="00004",
        hamlet_id="00004-thon-dong",
        hamlet_name="Thôn Đông",
        text="Đề nghị sửa đường liên thôn bị sạt lở.",
        received_on=date(2025, 7, 15),
        unit_path=["01", "00004"],
        dataset="vn-2025",
    )


def _envelope(event: PetitionRaised) -> CloudEvent:
    # as caunoi.shared.aggregate.Repository.execute builds it
    return CloudEvent(
        id="cmd-42:0",
        source="/caunoi/petitions",
        type=event.type_name(),
        subject=event.petition_id,
        time=datetime(2025, 7, 15, 8, 30, tzinfo=UTC),
        data=event.model_dump(mode="json"),
        unitcode=event.commune_code,
        datasetversion=event.dataset,
        correlationid="corr-1",
        causationid="cmd-42",
    )


def _read_with_sdk(raw: bytes) -> tuple[dict[str, Any], Any]:
    """Parse structured-mode JSON with the official CloudEvents SDK (2.x API, or 1.x)."""
    try:
        from cloudevents.core.formats.json import JSONFormat  # cloudevents >= 2
    except ImportError:  # cloudevents 1.x
        from cloudevents.http import from_json  # type: ignore[import-not-found,unused-ignore]

        ev1 = from_json(raw)
        return dict(ev1.get_attributes()), ev1.data
    ev = JSONFormat().read(None, raw)
    return dict(ev.get_attributes()), ev.get_data()


def test_a_petition_raised_event_is_a_valid_cloudevent_and_matches_its_schema(files: dict[str, str]) -> None:
    event = _petition_raised()
    raw = _envelope(event).to_json_bytes()

    attrs, data = _read_with_sdk(raw)
    assert attrs["specversion"] == "1.0"
    assert attrs["type"] == "vn.caunoi.petitions.PetitionRaised.v3"
    assert attrs["id"] == "cmd-42:0"
    assert attrs["source"] == "/caunoi/petitions"
    assert attrs["subject"] == "PA-2025-0001"
    assert str(attrs["time"]).replace(" ", "T").startswith("2025-07-15T08:30:00")
    for ext, value in (
        ("unitcode", "00004"),
        ("datasetversion", "vn-2025"),
        ("correlationid", "corr-1"),
        ("causationid", "cmd-42"),
    ):
        assert attrs[ext] == value
    assert data == json.loads(raw)["data"]

    schema = json.loads(files["docs/events/petitions/PetitionRaised.v3.json"])
    assert not validate(data, schema)
    assert data["received_on"] == "2025-07-15"
    # and the data reads back into the same event
    assert PetitionRaised.model_validate(data) == event

    envelope_schema = json.loads(files["docs/events/cloudevent.json"])
    assert not validate(json.loads(raw), envelope_schema)
    for ext in ("unitcode", "datasetversion", "correlationid", "causationid"):
        assert envelope_schema["properties"][ext]["description"].startswith("Extension")


def test_the_event_schema_rejects_what_the_model_rejects(files: dict[str, str]) -> None:
    schema = json.loads(files["docs/events/petitions/PetitionRaised.v3.json"])
    good = _petition_raised().model_dump(mode="json")
    assert validate({**good, "channel": "fax"}, schema)
    assert validate({**good, "received_on": "15/07/2025"}, schema)
    assert validate({**good, "surprise": 1}, schema)
    assert validate({k: v for k, v in good.items() if k != "text"}, schema)
    assert validate({**good, "petitioner": {"phone": "1"}}, schema)


# -- (d) AsyncAPI -----------------------------------------------------------------------------


def _refs(node: Any, where: str = "#") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.append((where, v))
            else:
                out.extend(_refs(v, f"{where}/{k}"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_refs(v, f"{where}/{i}"))
    return out


def resolve(document: Any, ref: str) -> Any:
    assert ref.startswith("#/"), f"not a local reference: {ref}"
    node = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(token)]
        else:
            if token not in node:
                raise KeyError(ref)
            node = node[token]
    return node


def test_asyncapi_document_is_3_0_and_every_ref_resolves(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] == "caunoi" and doc["info"]["version"]
    assert doc["servers"]["local"] == {
        "host": "127.0.0.1:4222",
        "protocol": "nats",
        "title": "Embedded development server",
        "description": "`make up` on one machine: nats://127.0.0.1:4222",
    }
    refs = _refs(doc)
    assert len(refs) > 50
    unresolved = []
    for where, ref in refs:
        try:
            resolve(doc, ref)
        except (KeyError, IndexError, AssertionError):
            unresolved.append(f"{where}: {ref}")
    assert not unresolved, "unresolved $ref in asyncapi.json:\n" + "\n".join(unresolved)
    text = json.dumps(doc)
    assert '"$defs"' not in text and "#/$defs/" not in text
    assert '"$id"' not in text and '"$schema"' not in text  # an embedded $id would rebase the refs


def test_asyncapi_operations_use_their_own_channels_messages(doc: dict[str, Any]) -> None:
    key = re.compile(r"^[a-zA-Z0-9.\-_]+$")
    for section in ("schemas", "messages"):
        assert all(key.match(k) for k in doc["components"][section]), section
    for name, op in doc["operations"].items():
        assert key.match(name)
        channel_ref = op["channel"]["$ref"]
        for m in op["messages"]:
            assert m["$ref"].startswith(channel_ref + "/messages/"), name
        if "reply" in op:
            reply_channel = op["reply"]["channel"]["$ref"]
            assert resolve(doc, reply_channel)["address"] is None  # the requester's inbox
            for m in op["reply"]["messages"]:
                assert m["$ref"].startswith(reply_channel + "/messages/")


# -- write / check / CLI ----------------------------------------------------------------------


def test_write_and_check_on_a_fresh_tree(tmp_path: Path, files: dict[str, str]) -> None:
    assert {p.status for p in contracts.check(tmp_path, files)} == {"missing"}
    assert len(contracts.write(tmp_path, files)) == len(files)
    assert contracts.check(tmp_path, files) == []
    assert contracts.write(tmp_path, files) == []

    raised = tmp_path / "docs/events/petitions/PetitionRaised.v3.json"
    raised.write_text("{}\n")
    (tmp_path / "docs/commands/petitions/list.json").unlink()
    stale = tmp_path / "docs/events/gone/Vanished.v1.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}\n")
    archived = tmp_path / "docs/events/petitions/PetitionRaised.v0.json"  # an older version: kept
    archived.write_text("{}\n")
    notes = tmp_path / "docs/events/README.md"  # not generated: left alone
    notes.write_text("notes\n")

    problems = {(p.status, p.path) for p in contracts.check(tmp_path, files)}
    assert problems == {
        ("differs", "docs/events/petitions/PetitionRaised.v3.json"),
        ("missing", "docs/commands/petitions/list.json"),
        ("stale", "docs/events/gone/Vanished.v1.json"),
    }
    assert contracts.main(["check", "--root", str(tmp_path)]) == 1
    assert contracts.main(["write", "--root", str(tmp_path)]) == 0
    assert contracts.check(tmp_path, files) == []
    assert not stale.parent.exists()
    assert archived.exists() and notes.exists()
    assert raised.read_text(encoding="utf-8") == files["docs/events/petitions/PetitionRaised.v3.json"]


def test_find_root_walks_up(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("")
    (tmp_path / "docs").mkdir()
    nested = tmp_path / "services" / "x" / "src"
    nested.mkdir(parents=True)
    assert contracts.find_root(nested) == tmp_path
    assert contracts.find_root(REPO / "shared" / "src") == REPO


def test_cli_check_passes_on_the_repository() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "caunoi.shared.contracts", "check"],
        cwd=REPO / "shared",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + "\nrun `make schemas`"
    assert "up to date" in done.stdout


# -- JSON Schema validation -------------------------------------------------------------------


def validate(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Errors of ``instance`` against ``schema``: with jsonschema when installed, otherwise with the
    small validator below (enough for what pydantic generates here)."""
    try:
        import jsonschema  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return _validate(instance, schema, schema, "$")
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    return isinstance(value, _TYPES[name])


def _format_ok(value: str, fmt: str) -> bool:
    try:
        if fmt == "date":
            return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and date.fromisoformat(value) is not None
        if fmt == "date-time":
            return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False
    return True


def _validate(x: Any, s: dict[str, Any] | bool, root: dict[str, Any], at: str) -> list[str]:
    if s is True:
        return []
    if s is False:
        return [f"{at}: not allowed"]
    errs: list[str] = []
    if "$ref" in s:
        errs += _validate(x, resolve(root, s["$ref"]), root, at)
    for sub in s.get("allOf", []):
        errs += _validate(x, sub, root, at)
    if "anyOf" in s and all(_validate(x, sub, root, at) for sub in s["anyOf"]):
        errs.append(f"{at}: matches none of anyOf")
    if "oneOf" in s and sum(not _validate(x, sub, root, at) for sub in s["oneOf"]) != 1:
        errs.append(f"{at}: does not match exactly one of oneOf")
    if "const" in s and (x != s["const"] or type(x) is not type(s["const"])):
        errs.append(f"{at}: is not {s['const']!r}")
    if "enum" in s and x not in s["enum"]:
        errs.append(f"{at}: {x!r} is not one of {s['enum']}")
    if "type" in s:
        types = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(_is_type(x, t) for t in types):
            return [*errs, f"{at}: {x!r} is not of type {s['type']}"]
    if isinstance(x, str):
        if len(x) < s.get("minLength", 0) or len(x) > s.get("maxLength", len(x)):
            errs.append(f"{at}: bad length")
        if "pattern" in s and not re.search(s["pattern"], x):
            errs.append(f"{at}: does not match {s['pattern']}")
        if "format" in s and not _format_ok(x, s["format"]):
            errs.append(f"{at}: not a {s['format']}")
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        if ("minimum" in s and x < s["minimum"]) or ("maximum" in s and x > s["maximum"]):
            errs.append(f"{at}: out of range")
    if isinstance(x, list) and "items" in s:
        for i, item in enumerate(x):
            errs += _validate(item, s["items"], root, f"{at}[{i}]")
    if isinstance(x, dict):
        props: dict[str, Any] = s.get("properties", {})
        errs += [f"{at}: missing {k}" for k in s.get("required", []) if k not in x]
        for k, v in x.items():
            if k in props:
                errs += _validate(v, props[k], root, f"{at}.{k}")
            elif "additionalProperties" in s:
                errs += _validate(v, s["additionalProperties"], root, f"{at}.{k}")
    return errs
