"""GeoReport v2's two formats: JSON (lists of objects) and XML (a root element named after the
list, one element per item, a child per field), errors included; UTF-8 throughout."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson
from starlette.responses import Response

FORMATS: Final = ("json", "xml")
#: the XML root and item element names of each kind of answer
XML_NAMES: Final = {
    "services": ("services", "service"),
    "requests": ("service_requests", "request"),
    "errors": ("errors", "error"),
    "discovery": ("discovery", None),
    "definition": ("service_definition", None),
}
#: list fields of an XML item and the element name of each entry
XML_LISTS: Final = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def _element(parent: ET.Element, name: str, value: Any) -> None:
    el = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _element(el, k, v)
    elif isinstance(value, list | tuple):
        child = XML_LISTS.get(name, "item")
        for v in value:
            _element(el, child, v)
    elif value is None:
        return
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = str(value)


def to_xml(kind: str, body: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    root_name, item_name = XML_NAMES[kind]
    root = ET.Element(root_name)
    if isinstance(body, Mapping):
        for k, v in body.items():
            _element(root, k, v)
    else:
        for item in body:
            el = ET.SubElement(root, item_name or "item")
            for k, v in item.items():
                _element(el, k, v)
    out: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return out


def respond(fmt: str, kind: str, body: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(kind, body), status_code=status, media_type="text/xml; charset=utf-8")
    return Response(orjson.dumps(body), status_code=status, media_type="application/json; charset=utf-8")


def error(fmt: str, status: int, description: str) -> Response:
    """The spec's error answer: a list of ``{code, description}`` with the HTTP status as code."""
    return respond(fmt if fmt in FORMATS else "xml", "errors", [{"code": status, "description": description}], status)
