"""The OpenAPI 3.1 document of the Open311 API, committed as ``docs/open311/openapi.json`` by
``make schemas`` (a test keeps the two equal, the document valid and its paths those the app
serves, and checks the running app's answers against its schemas)."""

from __future__ import annotations

from typing import Any

from caunoi.petitions.events import Category, Kind

BASE = "/open311/v2"

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_DT = {"type": ["string", "null"], "format": "date-time"}


def _fmt() -> dict[str, Any]:
    return {
        "name": "fmt",
        "in": "path",
        "required": True,
        "description": "json or xml",
        "schema": {"type": "string", "enum": ["json", "xml"]},
    }


def _api_key(required: bool = True) -> dict[str, Any]:
    return {
        "name": "api_key",
        "in": "query",
        "required": required,
        "schema": _STR,
        "description": "the client system's key (caunoi web open311-key issue)",
    }


def _ok(schema: dict[str, Any], what: str) -> dict[str, Any]:
    return {
        "description": what,
        "content": {
            "application/json": {"schema": schema},
            "text/xml": {"schema": {"type": "string", "description": "the same, as GeoReport v2 XML"}},
        },
    }


def _errors(*codes: int) -> dict[str, Any]:
    texts = {
        400: "a parameter is missing or wrong",
        403: "api_key was not provided or is not valid",
        404: "service_code or service_request_id was not found",
        503: "the petitions service does not answer",
    }
    return {str(c): _ok({"$ref": "#/components/schemas/Errors"}, texts[c]) for c in codes}


def _list(ref: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}}


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "description"],
                "properties": {"code": {"type": "integer"}, "description": _STR},
            },
        },
        "Service": {
            "type": "object",
            "required": ["service_code", "service_name", "metadata", "type"],
            "properties": {
                "service_code": {"type": "string", "enum": [c.value for c in Category]},
                "service_name": _STR,
                "description": _STR,
                "metadata": {"type": "boolean"},
                "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
                "keywords": _STR,
                "group": _STR,
            },
        },
        "Attribute": {
            "type": "object",
            "required": ["variable", "code", "datatype", "required", "order", "description"],
            "properties": {
                "variable": {"type": "boolean"},
                "code": _STR,
                "datatype": {
                    "type": "string",
                    "enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"],
                },
                "required": {"type": "boolean"},
                "datatype_description": _STR,
                "order": {"type": "integer"},
                "description": _STR,
                "values": {
                    "type": "array",
                    "items": {"type": "object", "required": ["key", "name"], "properties": {"key": _STR, "name": _STR}},
                },
            },
        },
        "ServiceDefinition": {
            "type": "object",
            "required": ["service_code", "attributes"],
            "properties": {"service_code": _STR, "attributes": _list("Attribute")},
        },
        "ServiceRequest": {
            "type": "object",
            "required": ["service_request_id", "status", "service_code", "requested_datetime"],
            "properties": {
                "service_request_id": {"type": "string", "pattern": "^PA-[0-9A-Z]{8}$"},
                "status": {"type": "string", "enum": ["open", "closed"]},
                "status_notes": _NSTR,
                "service_name": _NSTR,
                "service_code": _STR,
                "description": _NSTR,
                "agency_responsible": _NSTR,
                "service_notice": _NSTR,
                "requested_datetime": _DT,
                "updated_datetime": _DT,
                "expected_datetime": _DT,
                "address": _NSTR,
                "address_id": _NSTR,
                "zipcode": _NSTR,
                "lat": {"type": ["number", "null"]},
                "long": {"type": ["number", "null"]},
                "media_url": _NSTR,
            },
        },
        "Created": {
            "type": "object",
            "required": ["service_request_id"],
            "properties": {"service_request_id": _STR, "service_notice": _NSTR, "account_id": _NSTR},
        },
        "Discovery": {
            "type": "object",
            "required": ["changeset", "endpoints"],
            "properties": {
                "changeset": _STR,
                "contact": _STR,
                "key_service": _STR,
                "endpoints": {"type": "array", "items": {"type": "object"}},
            },
        },
    }
    post_fields: dict[str, Any] = {
        "api_key": _STR,
        "service_code": {"type": "string", "enum": [c.value for c in Category]},
        "address_id": {"type": "string", "description": "GSO code of the commune (xã, phường) concerned"},
        "address_string": _STR,
        "lat": {"type": "number"},
        "long": {"type": "number"},
        "description": {"type": "string", "description": "what the citizen says (required here)"},
        "first_name": _STR,
        "last_name": _STR,
        "phone": _STR,
        "email": _STR,
        "device_id": _STR,
        "account_id": _STR,
        "media_url": _STR,
        "attribute[kind]": {"type": "string", "enum": [k.value for k in Kind]},
        "attribute[hamlet_id]": _STR,
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "caunoi Open311 GeoReport v2",
            "version": "2",
            "description": (
                "Open311 GeoReport v2 over the caunoi petitions service. Services are the petition fields; a "
                "request becomes a petition raised through the portal channel, as the identity the API key "
                "stands for. Errors are lists of {code, description}. See "
                "http://wiki.open311.org/GeoReport_v2 and docs/architecture.md."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/open311/discovery.{fmt}": {
                "get": {
                    "summary": "Service discovery",
                    "parameters": [_fmt()],
                    "responses": {
                        "200": _ok({"$ref": "#/components/schemas/Discovery"}, "the endpoints"),
                        **_errors(400),
                    },
                }
            },
            f"{BASE}/services.{{fmt}}": {
                "get": {
                    "summary": "Services: the petition fields (categories)",
                    "parameters": [_fmt()],
                    "responses": {"200": _ok(_list("Service"), "the services"), **_errors(400)},
                }
            },
            f"{BASE}/services/{{code}}.{{fmt}}": {
                "get": {
                    "summary": "A service's definition: its attributes",
                    "parameters": [{"name": "code", "in": "path", "required": True, "schema": _STR}, _fmt()],
                    "responses": {
                        "200": _ok({"$ref": "#/components/schemas/ServiceDefinition"}, "the definition"),
                        **_errors(400, 404),
                    },
                }
            },
            f"{BASE}/requests.{{fmt}}": {
                "post": {
                    "summary": "Send a petition in (raised through the portal channel)",
                    "parameters": [_fmt()],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "required": ["api_key", "service_code", "description"],
                                    "properties": post_fields,
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _ok(_list("Created"), "the new request's id"),
                        **_errors(400, 403, 404, 503),
                    },
                },
                "get": {
                    "summary": "Requests the key's identity may see",
                    "parameters": [
                        _fmt(),
                        _api_key(),
                        {
                            "name": "service_request_id",
                            "in": "query",
                            "schema": _STR,
                            "description": "comma-separated ids",
                        },
                        {"name": "service_code", "in": "query", "schema": _STR},
                        {"name": "start_date", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "end_date", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "status", "in": "query", "schema": _STR, "description": "open, closed or both"},
                    ],
                    "responses": {
                        "200": _ok(_list("ServiceRequest"), "the requests"),
                        **_errors(400, 403, 404, 503),
                    },
                },
            },
            f"{BASE}/requests/{{rid}}.{{fmt}}": {
                "get": {
                    "summary": "One request",
                    "parameters": [{"name": "rid", "in": "path", "required": True, "schema": _STR}, _fmt(), _api_key()],
                    "responses": {
                        "200": _ok(_list("ServiceRequest"), "the request (a list of one)"),
                        **_errors(400, 403, 404, 503),
                    },
                }
            },
            f"{BASE}/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
                }
            },
        },
        "components": {"schemas": schemas},
    }


def render() -> str:
    import json

    return json.dumps(document(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":  # ``make schemas``: python -m caunoi.web.open311.openapi docs/open311/openapi.json
    import sys
    from pathlib import Path

    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render())
    print(f"wrote {target}")
