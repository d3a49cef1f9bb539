"""The public contract, generated: JSON Schemas of every event and request, and an AsyncAPI 3.0
document of every subject, built from the pydantic models of the services installed in this
environment (each registers its ``build`` under the ``caunoi.runtimes`` entry-point group).

The generated files live in ``docs/`` and are committed; a test fails when they drift from the
code. ``make schemas`` (``python -m caunoi.shared.contracts write``) regenerates them,
``python -m caunoi.shared.contracts check`` lists what differs.

Layout (paths relative to the repository root):

- ``docs/events/<service>/<EventName>.v<N>.json``: the ``data`` of each event type;
- ``docs/events/cloudevent.json``: the CloudEvents 1.0 envelope with caunoi's extensions;
- ``docs/commands/<service>/<name>.json``: the request body of ``caunoi.cmd.<service>.<name>`` or
  ``caunoi.q.<service>.<name>``; ``admin.<op>.json`` for ``caunoi.admin.<service>.<op>``;
- ``docs/commands/reply.json``: the reply every endpoint sends;
- ``docs/asyncapi.json``: channels, messages and operations, with every schema inline under
  ``components/schemas``.

Schemas of older event versions (``<EventName>.v<K>.json`` with K below the current version) are
no longer generated, since only the current model exists in code, but they are kept: the log is
forever, and so is what its events look like.
"""

from __future__ import annotations

import argparse
import copy
import importlib.metadata
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from caunoi.shared import errors as _errors
from caunoi.shared.audit import checkpoints as audit_checkpoints
from caunoi.shared.endpoints import Endpoint
from caunoi.shared.envelope import CONTENT_TYPE, LEGACY_TYPE_HEADER, TYPE_HEADER, CloudEvent
from caunoi.shared.events import DomainEvent
from caunoi.shared.service import Service

RUNTIME_GROUP = "caunoi.runtimes"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://caunoi.vn/schemas"
ASYNCAPI_VERSION = "3.0.0"
NATS_HOST = "127.0.0.1:4222"

DOCS = "docs"
EVENTS_DIR = f"{DOCS}/events"
COMMANDS_DIR = f"{DOCS}/commands"
ASYNCAPI_PATH = f"{DOCS}/asyncapi.json"
ENVELOPE_PATH = f"{EVENTS_DIR}/cloudevent.json"
REPLY_PATH = f"{COMMANDS_DIR}/reply.json"
#: Folders whose ``*.json`` files are all generated: anything else there is stale.
GENERATED_DIRS = (EVENTS_DIR, COMMANDS_DIR)

_LOCAL_DEFS = "#/$defs/"
_COMPONENT_SCHEMAS = "#/components/schemas/"
_VERSIONED_FILE = re.compile(r"^(?P<stem>.+)\.v(?P<version>\d+)\.json$")

#: Descriptions of the envelope's attributes (the model itself carries none).
ENVELOPE_ATTRIBUTES: dict[str, str] = {
    "specversion": "CloudEvents specification version; always `1.0`.",
    "id": "Event id, unique per source; also the `Nats-Msg-Id` header, so a retried append is dropped as a "
    "duplicate by JetStream. Derived from the command id, so it is stable across retries.",
    "source": "The producing service, e.g. `/caunoi/petitions`.",
    "type": "Versioned event type `<name>.v<version>`, e.g. `vn.caunoi.petitions.PetitionRaised.v1`; "
    "`data` follows the JSON Schema of that type (docs/events/<service>/<EventName>.v<N>.json).",
    "subject": "The aggregate id (e.g. the petition reference). Not the NATS subject.",
    "time": "When the command that caused the event was handled (RFC 3339, UTC); its events share it.",
    "datacontenttype": "Media type of `data`; always `application/json`.",
    "dataschema": "URI of the schema of `data`, when set.",
    "data": "The event's data (JSON object), shaped by its type.",
    "unitcode": "Extension: the administrative unit the aggregate concerns (official unit code, or a hamlet id).",
    "datasetversion": "Extension: the administrative-unit dataset the unit code belongs to (e.g. `vn-2025`).",
    "correlationid": "Extension: the id shared by everything one request caused (commands, events, notifications).",
    "causationid": "Extension: the id of the command (its command id) or event that directly caused this event.",
    "actor": "Extension: the verified identity (credential subject) that sent the command.",
    "actorunit": "Extension: the administrative unit that identity acted for (official code, in `datasetversion`).",
    "chainprev": "Extension: the `chainhash` of the previous event of the same aggregate, or 64 zeros for its first "
    "(tamper evidence; absent from events stored before the chain existed). See docs/architecture.md, Audit.",
    "chainhash": "Extension: SHA-256 (hex) of the event's RFC 8785 canonical form without `chainhash` itself.",
}

#: NATS headers every stored event carries (see ``EventStore``).
EVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "NATS headers of a stored event. Appends also carry JetStream control headers "
    "(Nats-Expected-Last-Subject-Sequence, Nats-Expected-Last-Subject-Sequence-Subject, Nats-Batch-Id, "
    "Nats-Batch-Sequence, Nats-Batch-Commit).",
    "properties": {
        "Nats-Msg-Id": {"type": "string", "description": "The CloudEvent `id` (JetStream de-duplication)."},
        "Content-Type": {"type": "string", "const": CONTENT_TYPE},
        TYPE_HEADER: {
            "type": "string",
            "description": "The CloudEvent `type`, readable without parsing the body. Events stored before "
            f"2026-11 carry it as `{LEGACY_TYPE_HEADER}` instead. No header starts with `ce-`: the event is in "
            "structured mode, whole in the body.",
        },
    },
    "required": ["Nats-Msg-Id", "Content-Type", TYPE_HEADER],
}


#: NATS headers every request carries (see caunoi.shared.identity).
REQUEST_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "NATS headers of a request. The credential proves who asks; the actor recorded in events is "
    "the credential's subject, never anything the body says.",
    "properties": {
        "Authorization": {
            "type": "string",
            "pattern": "^Bearer .+$",
            "description": "`Bearer <credential>`: a JSON Web Token (EdDSA) issued by the installation's operators "
            "(`caunoi identities issue`), naming the person or system, its unit and dataset, its roles.",
        }
    },
    "required": ["Authorization"],
}


class ContractError(ValueError):
    """The services' models cannot be turned into one consistent contract (e.g. a name clash)."""


# -- discovery -------------------------------------------------------------------------------


def discover() -> list[Service[Any]]:
    """Build every installed service's runtime (no I/O), with its admin endpoints, by name."""
    runtimes: list[Service[Any]] = []
    for ep in sorted(importlib.metadata.entry_points(group=RUNTIME_GROUP), key=lambda e: e.name):
        try:
            rt = ep.load()()
        except Exception as e:  # a registered service that cannot be built must not be left out silently
            raise ContractError(f"cannot build the runtime of {ep.name} ({ep.value}): {e!r}") from e
        if not isinstance(rt, Service):
            raise ContractError(f"entry point {ep.name} = {ep.value} did not return a Service")
        runtimes.append(rt)
    names = [rt.name for rt in runtimes]
    if len(set(names)) != len(names):
        raise ContractError(f"two runtimes share a service name: {names}")
    return sorted(runtimes, key=lambda r: r.name)


# -- paths -----------------------------------------------------------------------------------


def event_file_name(cls: type[DomainEvent]) -> str:
    """``vn.caunoi.petitions.PetitionRaised`` v1 -> ``PetitionRaised.v1.json``."""
    return f"{cls.NAME.rpartition('.')[2]}.v{cls.VERSION}.json"


def event_path(service: str, cls: type[DomainEvent]) -> str:
    return f"{EVENTS_DIR}/{service}/{event_file_name(cls)}"


def endpoint_path(service: str, ep: Endpoint[Any]) -> str:
    name = f"admin.{ep.name}" if ep.kind == "admin" else ep.name
    return f"{COMMANDS_DIR}/{service}/{name}.json"


def schema_id(path: str) -> str:
    """``docs/events/x/Y.v1.json`` -> ``https://caunoi.vn/schemas/events/x/Y.v1.json``."""
    return f"{ID_BASE}/{path.removeprefix(DOCS + '/')}"


def event_id_url(cls: type[DomainEvent]) -> str:
    return f"{ID_BASE}/events/{cls.type_name()}.json"


# -- JSON Schemas ----------------------------------------------------------------------------


def _own_doc(model: type[BaseModel]) -> str:
    doc = model.__dict__.get("__doc__")
    return " ".join(doc.split()) if isinstance(doc, str) and doc.strip() else ""


def _with_header(schema: dict[str, Any], *, id_: str, title: str, description: str) -> dict[str, Any]:
    out: dict[str, Any] = {"$schema": DIALECT, "$id": id_}
    out.update(schema)
    out["title"] = title
    out["description"] = description
    return out


def event_schema(rt: Service[Any], cls: type[DomainEvent]) -> dict[str, Any]:
    """JSON Schema (2020-12) of the ``data`` of ``cls``'s current version."""
    type_name = cls.type_name()
    parts = [_own_doc(cls)] if _own_doc(cls) else []
    parts.append(
        f"The `data` of a CloudEvent of type `{type_name}`, appended by the {rt.name} service to stream "
        f"{rt.stream.name} on `{rt.stream.subject_prefix}.<aggregate id>.<unit path>`. "
        "Producers write every property (null when empty). A change of shape is a new version; "
        "older versions are upcast on read."
    )
    return _with_header(
        cls.model_json_schema(mode="validation"),
        id_=event_id_url(cls),
        title=type_name,
        description=" ".join(parts),
    )


def kernel_event_schema(cls: type[DomainEvent]) -> dict[str, Any]:
    """JSON Schema of the ``data`` of an event the kernel appends to every service's stream."""
    return _with_header(
        cls.model_json_schema(mode="validation"),
        id_=event_id_url(cls),
        title=cls.type_name(),
        description=f"{_own_doc(cls)} Appended by each service to its own stream on "
        "`caunoi.<service>.audit-checkpoints.vn`; formats in docs/architecture.md (Audit).",
    )


def envelope_schema() -> dict[str, Any]:
    """JSON Schema of the CloudEvents 1.0 structured-mode envelope, extensions documented."""
    schema = CloudEvent.model_json_schema(mode="validation")
    for name, prop in schema.get("properties", {}).items():
        if name in ENVELOPE_ATTRIBUTES:
            prop["description"] = ENVELOPE_ATTRIBUTES[name]
    return _with_header(
        schema,
        id_=schema_id(ENVELOPE_PATH),
        title="CloudEvent",
        description=(
            "A caunoi event as stored and published: a CloudEvents 1.0 event in structured JSON mode "
            f"(`{CONTENT_TYPE}`), so any CloudEvents SDK reads it. Extension attributes: `unitcode`, "
            "`datasetversion`, `correlationid`, `causationid`, `actor`, `actorunit`, `chainprev`, `chainhash` "
            "(lower-case, as the spec requires). Optional "
            "attributes with no value are left out, never written as null."
        ),
    )


def endpoint_schema(rt: Service[Any], ep: Endpoint[Any]) -> dict[str, Any]:
    """JSON Schema of the request body of one endpoint."""
    parts = [_own_doc(ep.model)] if _own_doc(ep.model) else []
    parts.append(f"{ep.summary}.")
    parts.append(
        f"Request body (JSON) of the NATS request `{ep.subject(rt.name)}` ({ep.kind} of the {rt.name} service); "
        "the reply follows reply.json."
    )
    return _with_header(
        ep.model.model_json_schema(mode="validation"),
        id_=schema_id(endpoint_path(rt.name, ep)),
        title=ep.subject(rt.name),
        description=" ".join(parts),
    )


def error_codes() -> list[str]:
    """The error codes of the ``CommandError`` classes in caunoi.shared.errors, plus ``internal``."""
    codes = {"internal"}
    for obj in vars(_errors).values():
        if isinstance(obj, type) and issubclass(obj, _errors.CommandError):
            codes.add(obj.code)
    return sorted(codes)


def reply_schema() -> dict[str, Any]:
    """The reply every request/reply endpoint sends (see caunoi.shared.service)."""
    return _with_header(
        {
            "oneOf": [{"$ref": f"{_LOCAL_DEFS}ReplyOk"}, {"$ref": f"{_LOCAL_DEFS}ReplyFailed"}],
            "$defs": {
                "ReplyOk": {
                    "type": "object",
                    "title": "ReplyOk",
                    "description": "The request was carried out.",
                    "properties": {
                        "ok": {"const": True},
                        "result": {"description": "What the endpoint returns (JSON; shape per endpoint)."},
                    },
                    "required": ["ok", "result"],
                    "additionalProperties": False,
                },
                "ReplyFailed": {
                    "type": "object",
                    "title": "ReplyFailed",
                    "description": "The request was refused; a refused command appended nothing.",
                    "properties": {"ok": {"const": False}, "error": {"$ref": f"{_LOCAL_DEFS}ReplyError"}},
                    "required": ["ok", "error"],
                    "additionalProperties": False,
                },
                "ReplyError": {
                    "type": "object",
                    "title": "ReplyError",
                    "properties": {
                        "code": {
                            "type": "string",
                            "description": "Stable, machine-readable code. Endpoints may use more specific "
                            "codes (e.g. `unknown_unit`).",
                            "examples": error_codes(),
                        },
                        "message": {"type": "string", "description": "For people (Vietnamese)."},
                        "message_en": {"type": "string", "description": "The same in English."},
                        "field": {"type": "string", "description": "The offending input field, when one is."},
                        "details": {"type": "object", "description": "More about the error, when any."},
                    },
                    "required": ["code", "message", "message_en"],
                    "additionalProperties": False,
                },
            },
        },
        id_=schema_id(REPLY_PATH),
        title="Reply",
        description=(
            'The JSON reply to every request: `{"ok": true, "result": ...}` or `{"ok": false, "error": '
            '{"code", "message", "message_en", "field"?, "details"?}}`.'
        ),
    )


# -- AsyncAPI --------------------------------------------------------------------------------


def _rewrite_refs(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith(old):
                out[k] = new + v[len(old) :]
            else:
                out[k] = _rewrite_refs(v, old, new)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, old, new) for v in node]
    return node


@dataclass
class _Components:
    """``components/schemas`` of the AsyncAPI document, collected from standalone schemas."""

    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def _put(self, key: str, schema: dict[str, Any], origin: str) -> None:
        if key in self.schemas and self.schemas[key] != schema:
            raise ContractError(
                f"two different schemas named {key!r} (from {self.origins[key]} and {origin}); rename one model"
            )
        self.schemas.setdefault(key, copy.deepcopy(schema))
        self.origins.setdefault(key, origin)

    def add(self, key: str, standalone: Mapping[str, Any], origin: str) -> dict[str, str]:
        """Hoist ``standalone``'s ``$defs`` and store it under ``key``; return a ``$ref`` to it."""
        schema = _rewrite_refs(copy.deepcopy(dict(standalone)), _LOCAL_DEFS, _COMPONENT_SCHEMAS)
        for name, sub in sorted(schema.pop("$defs", {}).items()):
            self._put(name, sub, origin)
        schema.pop("$schema", None)
        schema.pop("$id", None)  # an embedded $id would change the base of the refs inside it
        self._put(key, schema, origin)
        return ref_schema(key)


def ref_schema(key: str) -> dict[str, str]:
    return {"$ref": f"{_COMPONENT_SCHEMAS}{key}"}


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)}


def _scope_note(prefix: str) -> str:
    return (
        f"Every event of the service, one subject per aggregate: `{prefix}.<aggregate id>.<unit path>`, "
        "the unit path being the official codes of the aggregate's unit from the top level down "
        "(province.commune in the 2025 two-tier dataset, province.district.commune in the legacy one), "
        "fixed for the aggregate's life. Subscribe to a scope with one subject filter: "
        f"`{prefix}.*.>` everything; `{prefix}.<aggregate id>.>` one aggregate; "
        f"`{prefix}.*.08.>` everything in province 08; `{prefix}.*.<province>.<district>.>` one district "
        f"(legacy dataset); `{prefix}.*.*.<commune>` one commune (2025 dataset; "
        f"`{prefix}.*.*.*.<commune>` in the legacy one). Events of older versions stay in the log and are "
        "upcast on read; their schemas stay in docs/events."
    )


def asyncapi(runtimes: Sequence[Service[Any]]) -> dict[str, Any]:
    comps = _Components()
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    comps.add("CloudEvent", envelope_schema(), "envelope")
    comps.add("Reply", reply_schema(), "reply")
    comps._put("EventHeaders", EVENT_HEADERS, "event headers")
    comps._put("RequestHeaders", REQUEST_HEADERS, "request headers")

    channels["reply"] = {
        "address": None,
        "title": "Reply inbox",
        "description": "The requester's inbox: the NATS reply subject of the request (`_INBOX.…`).",
        "messages": {"reply": _ref("components", "messages", "Reply")},
    }
    messages["Reply"] = {
        "name": "Reply",
        "title": "Reply",
        "summary": "Reply to a request: ok with a result, or a structured error.",
        "contentType": "application/json",
        "payload": ref_schema("Reply"),
    }

    for rt in runtimes:
        prefix = rt.stream.subject_prefix
        events_channel = f"{rt.name}.events"
        channel_messages: dict[str, Any] = {}
        for cls in rt.registry:
            type_name = cls.type_name()
            data_ref = comps.add(type_name, event_schema(rt, cls), type_name)
            doc = _own_doc(cls)
            messages[type_name] = {
                "name": type_name,
                "title": f"{cls.NAME.rpartition('.')[2]} v{cls.VERSION}",
                "summary": doc or f"Event {type_name} of the {rt.name} service.",
                "contentType": CONTENT_TYPE,
                "headers": ref_schema("EventHeaders"),
                "correlationId": {
                    "description": "The correlation id shared by everything one request caused.",
                    "location": "$message.payload#/correlationid",
                },
                "payload": {
                    "allOf": [
                        ref_schema("CloudEvent"),
                        {
                            "type": "object",
                            "properties": {"type": {"const": type_name}, "data": data_ref},
                            "required": ["type", "data"],
                        },
                    ]
                },
            }
            channel_messages[type_name] = _ref("components", "messages", type_name)
        channels[events_channel] = {
            "address": f"{prefix}.{{aggregateId}}.{{unitPath}}",
            "title": f"{rt.name} events (stream {rt.stream.name})",
            "description": f"{rt.stream.description}. Stream subjects: {', '.join(rt.stream.subjects)}. "
            + _scope_note(prefix),
            "parameters": {
                "aggregateId": {"description": "The aggregate's id (one subject token), e.g. a petition reference."},
                "unitPath": {
                    "description": "Dot-separated official unit codes, top level first: province[.district].commune "
                    "(several subject tokens).",
                    "examples": ["01.00004", "01.001.00004"],
                },
            },
            "messages": channel_messages,
        }
        operations[f"{rt.name}.events.publish"] = {
            "action": "send",
            "channel": _ref("channels", events_channel),
            "title": f"The {rt.name} service appends events",
            "summary": f"Events appended to stream {rt.stream.name} (JetStream: stored, then delivered to "
            "every consumer whose filter matches).",
            "messages": [_ref("channels", events_channel, "messages", t) for t in channel_messages],
            "tags": [{"name": rt.name}, {"name": "events"}],
        }

        for ep in sorted(rt.endpoints, key=lambda e: e.subject(rt.name)):
            subject = ep.subject(rt.name)
            payload = comps.add(subject, endpoint_schema(rt, ep), subject)
            doc = _own_doc(ep.model)
            message: dict[str, Any] = {
                "name": subject,
                "title": f"{ep.kind} {rt.name}.{ep.name}",
                "summary": ep.summary,
                "contentType": "application/json",
                "headers": ref_schema("RequestHeaders"),
                "payload": payload,
            }
            if doc:
                message["description"] = doc
            if "correlation_id" in ep.model.model_fields:
                message["correlationId"] = {
                    "description": "Optional correlation id; a new one is made when absent.",
                    "location": "$message.payload#/correlation_id",
                }
            messages[subject] = message
            channels[subject] = {
                "address": subject,
                "title": subject,
                "description": f"{ep.summary}. Request/reply ({ep.kind}); replies go to the requester's inbox.",
                "messages": {"request": _ref("components", "messages", subject)},
            }
            operations[subject] = {
                "action": "receive",
                "channel": _ref("channels", subject),
                "title": f"{ep.kind} {rt.name}.{ep.name}",
                "summary": ep.summary,
                "messages": [_ref("channels", subject, "messages", "request")],
                "reply": {
                    "channel": _ref("channels", "reply"),
                    "messages": [_ref("channels", "reply", "messages", "reply")],
                },
                "bindings": {"nats": {"queue": rt.name, "bindingVersion": "0.1.0"}},
                "tags": [{"name": rt.name}, {"name": ep.kind}],
            }

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:vn:caunoi",
        "info": {
            "title": "caunoi",
            "version": _version(),
            "description": (
                "Event-sourced services on NATS JetStream. Each service appends CloudEvents 1.0 events "
                f"(`{CONTENT_TYPE}`) to its own stream on `caunoi.<service>.<aggregate id>.<unit path>`, and "
                "answers NATS requests on `caunoi.cmd.<service>.<command>`, `caunoi.q.<service>.<query>` and "
                "`caunoi.admin.<service>.<op>` with a JSON reply "
                '(`{"ok": true, "result": ...}` or `{"ok": false, "error": {...}}`). '
                "Generated by `make schemas` from the pydantic models; do not edit."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": NATS_HOST,
                "protocol": "nats",
                "title": "Embedded development server",
                "description": f"`make up` on one machine: nats://{NATS_HOST}",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": comps.schemas, "messages": messages},
    }


def _version() -> str:
    try:
        return importlib.metadata.version("caunoi-shared")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


# -- generation ------------------------------------------------------------------------------


def dumps(doc: Any) -> str:
    """The one JSON formatting of every generated file."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate(runtimes: Sequence[Service[Any]] | None = None) -> dict[str, str]:
    """Every generated file: relative path -> content, sorted by path."""
    rts = discover() if runtimes is None else list(runtimes)
    files: dict[str, str] = {}

    def put(path: str, doc: Any, what: str) -> None:
        if path in files:
            raise ContractError(f"{what} would overwrite {path}")
        files[path] = dumps(doc)

    put(ENVELOPE_PATH, envelope_schema(), "the envelope schema")
    put(REPLY_PATH, reply_schema(), "the reply schema")
    for cls in audit_checkpoints.registry:  # the kernel's: in every service's stream
        put(f"{EVENTS_DIR}/audit/{event_file_name(cls)}", kernel_event_schema(cls), f"event {cls.type_name()}")
    for rt in rts:
        for cls in rt.registry:
            put(event_path(rt.name, cls), event_schema(rt, cls), f"event {cls.type_name()}")
        for ep in rt.endpoints:
            put(endpoint_path(rt.name, ep), endpoint_schema(rt, ep), f"endpoint {ep.subject(rt.name)}")
    put(ASYNCAPI_PATH, asyncapi(rts), "the AsyncAPI document")
    return dict(sorted(files.items()))


def is_archived(path: str, files: Mapping[str, str]) -> bool:
    """Whether ``path`` is the schema of an older version of an event generated in ``files``
    (kept, not generated: the log still holds events of that version)."""
    folder, _, name = path.rpartition("/")
    m = _VERSIONED_FILE.match(name)
    if not folder.startswith(EVENTS_DIR + "/") or m is None:
        return False
    version = int(m["version"])
    for other in files:
        o_folder, _, o_name = other.rpartition("/")
        om = _VERSIONED_FILE.match(o_name)
        if o_folder == folder and om is not None and om["stem"] == m["stem"] and int(om["version"]) > version:
            return True
    return False


def _existing(root: Path) -> list[str]:
    out: list[str] = []
    for d in GENERATED_DIRS:
        base = root / d
        if base.is_dir():
            out.extend(p.relative_to(root).as_posix() for p in base.rglob("*.json") if p.is_file())
    return sorted(out)


@dataclass
class Problem:
    path: str
    status: str  # missing | differs | stale

    def __str__(self) -> str:
        return f"{self.status:8} {self.path}"


def check(root: Path, files: Mapping[str, str]) -> list[Problem]:
    """What differs between ``files`` and what is under ``root``."""
    problems: list[Problem] = []
    for path, content in files.items():
        target = root / path
        if not target.is_file():
            problems.append(Problem(path, "missing"))
        elif target.read_bytes() != content.encode():
            problems.append(Problem(path, "differs"))
    for path in _existing(root):
        if path not in files and not is_archived(path, files):
            problems.append(Problem(path, "stale"))
    return sorted(problems, key=lambda p: p.path)


def write(root: Path, files: Mapping[str, str]) -> list[Problem]:
    """Make ``root`` match ``files``: write what is missing or differs, remove stale files.
    Returns what was changed."""
    changed = check(root, files)
    for p in changed:
        target = root / p.path
        if p.status == "stale":
            target.unlink()
            parent = target.parent
            while parent != root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[p.path].encode())
    return changed


def find_root(start: Path) -> Path:
    """The repository root: the nearest folder holding a Makefile and ``docs/`` or ``shared/``."""
    for d in [start, *start.parents]:
        if (d / "Makefile").is_file() and ((d / "docs").is_dir() or (d / "shared").is_dir()):
            return d
    raise FileNotFoundError(f"no repository root (Makefile with docs/ or shared/) at or above {start}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m caunoi.shared.contracts",
        description="Generate (write) or verify (check) the JSON Schemas and AsyncAPI document in docs/.",
    )
    parser.add_argument("action", choices=["write", "check"])
    parser.add_argument("--root", type=Path, help="repository root (default: found from the current folder)")
    args = parser.parse_args(argv)
    try:
        root = (args.root or find_root(Path.cwd())).resolve()
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    try:
        files = generate()
    except ContractError as e:
        print(e, file=sys.stderr)
        return 2
    if args.action == "write":
        changed = write(root, files)
        for p in changed:
            print({"missing": "wrote  ", "differs": "updated", "stale": "removed"}[p.status], p.path)
        print(f"{len(files)} contract files in {root / DOCS}, {len(changed)} changed")
        return 0
    problems = check(root, files)
    if problems:
        print(f"the contract files in {root / DOCS} do not match the code:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        print("run `make schemas` to regenerate them", file=sys.stderr)
        return 1
    print(f"{len(files)} contract files up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
