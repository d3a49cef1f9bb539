"""The Open311 GeoReport v2 API (http://wiki.open311.org/GeoReport_v2) over the petitions
service.

- **Services** are the petition fields (categories): ``service_code`` is the category's code,
  ``service_name`` its Vietnamese name. Their definitions list two optional attributes:
  ``kind`` (phản ánh, kiến nghị, ...) and ``hamlet_id`` (the hamlet's id in the commune's list).
- **Where**: ``address_id`` is the GSO code of the commune (phường, xã) concerned; a system whose
  identity belongs to one commune may leave it out. ``lat``/``long`` and ``address_string`` are
  kept in the petition's text.
- **POST requests** raises a petition through the petitions service's ``raise``, channel
  ``portal``, as the identity the API key stands for (``caunoi web open311-key issue``).
- **GET requests** and **GET a request** answer from the petitions service's read model, with
  what that identity may see (its unit's petitions, no personal data): ``status`` (open or
  closed), ``status_notes``, ``agency_responsible`` (the unit and agency handling it now),
  ``expected_datetime`` (the committed date, else the deadline watched now).
- Every call but the service list and definitions needs ``api_key``; a missing or unknown key
  is the spec's 403.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from caunoi.petitions.domain import STATUS_VI
from caunoi.petitions.events import Category, Channel, Kind, Status
from caunoi.petitions.labels import CATEGORY_EN, CATEGORY_VI, KIND_VI
from caunoi.petitions.lifecycle import OPEN
from caunoi.shared.client import RequestFailed, ServiceUnreachable
from caunoi.shared.clock import VN
from caunoi.web.open311.formats import FORMATS, error, respond
from caunoi.web.open311.keys import ApiKey
from caunoi.web.open311.openapi import document
from caunoi.web.reads import show_petition

BASE: Final = "/open311/v2"
SPEC: Final = "http://wiki.open311.org/GeoReport_v2"
#: what GET requests returns at most, and how far back it looks without dates (the spec's defaults)
MAX_REQUESTS: Final = 1000
DEFAULT_DAYS: Final = 90
ANONYMOUS: Final = "Không nêu tên (Open311)"
OPEN_VALUES: Final = frozenset(s.value for s in OPEN)


def state_of(request: Request) -> Any:
    return request.app.state.web


def fmt_of(request: Request) -> str | None:
    fmt = request.path_params.get("fmt", "")
    return fmt if fmt in FORMATS else None


def bad_format(request: Request) -> Response:
    return error("xml", 400, f"format must be one of {', '.join(FORMATS)}")


# --- services ---------------------------------------------------------------------------------


def service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.value,
        "service_name": CATEGORY_VI[category],
        "description": f"{CATEGORY_VI[category]} ({CATEGORY_EN[category]})",
        "metadata": True,
        "type": "realtime",
        "keywords": CATEGORY_EN[category].lower(),
        "group": "Ý kiến, kiến nghị",
    }


def definition(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.value,
        "attributes": [
            {
                "variable": True,
                "code": "kind",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "Loại ý kiến (mặc định: phản ánh)",
                "order": 1,
                "description": "Loại ý kiến / kind of opinion",
                "values": [{"key": k.value, "name": KIND_VI[k]} for k in Kind],
            },
            {
                "variable": True,
                "code": "hamlet_id",
                "datatype": "string",
                "required": False,
                "datatype_description": "Mã thôn, tổ dân phố trong danh sách của xã (<mã xã>-<tên>)",
                "order": 2,
                "description": "Thôn, tổ dân phố / hamlet",
            },
        ],
    }


async def discovery(request: Request) -> Response:
    fmt = fmt_of(request)
    if fmt is None:
        return bad_format(request)
    base = str(request.base_url).rstrip("/") + BASE
    body = {
        "changeset": "2025-01-01T00:00:00+07:00",
        "contact": "Quản trị hệ thống caunoi",
        "key_service": "caunoi web open311-key issue",
        "endpoints": [
            {
                "specification": SPEC,
                "url": base,
                "changeset": "2025-01-01T00:00:00+07:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(fmt, "discovery", body)


async def services(request: Request) -> Response:
    fmt = fmt_of(request)
    if fmt is None:
        return bad_format(request)
    return respond(fmt, "services", [service(c) for c in Category])


async def service_definition(request: Request) -> Response:
    fmt = fmt_of(request)
    if fmt is None:
        return bad_format(request)
    code = request.path_params["code"]
    if code not in Category.__members__:
        return error(fmt, 404, f"service_code {code} was not found")
    return respond(fmt, "definition", definition(Category(code)))


# --- requests ---------------------------------------------------------------------------------


def key_of(request: Request, value: Any) -> ApiKey | None:
    if not isinstance(value, str) or not value:
        return None
    found: ApiKey | None = state_of(request).keys.find(value)
    return found


def vn_midnight(value: Any) -> str | None:
    if not value:
        return None
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return datetime(day.year, day.month, day.day, tzinfo=VN).isoformat()


def status_notes(row: dict[str, Any], agency: str) -> str:
    status = Status(row["status"])
    note = STATUS_VI.get(status, status.value)
    if status in (Status.replied, Status.closed) and row.get("reply_summary"):
        return f"{note}: {row['reply_summary']}"
    if status is Status.ineligible and row.get("ineligible_reason"):
        return f"{note}: {row['ineligible_reason']}"
    if status is Status.merged and row.get("merged_into"):
        return f"{note} {row['merged_into']}"
    if status is Status.forwarded:
        return f"{note}: {agency}"
    return note


def as_request(row: dict[str, Any], unit_name: Any) -> dict[str, Any]:
    """A petition row as a GeoReport service request."""
    status = row["status"]
    agency = unit_name(row.get("handling_unit")) + (
        f" – {row['handling_agency']}" if row.get("handling_agency") else ""
    )
    is_open = status in OPEN_VALUES
    expected = row.get("committed_date") or row.get("due") if is_open else None
    category = Category(row["category"]) if row.get("category") in Category.__members__ else Category.other
    address = ", ".join(x for x in (row.get("hamlet"), unit_name(row.get("commune_code"))) if x)
    return {
        "service_request_id": row["id"],
        "status": "open" if is_open else "closed",
        "status_notes": status_notes(row, agency),
        "service_name": CATEGORY_VI[category],
        "service_code": category.value,
        "description": row.get("text"),
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": vn_midnight(row.get("received_on")),
        "updated_datetime": row["updated_at"] if isinstance(row.get("updated_at"), str) else None,
        "expected_datetime": vn_midnight(expected),
        "address": address or None,
        "address_id": row.get("commune_code"),
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


def request_text(form: Any) -> str:
    """The description, with where it is and the picture's address when the caller gave them."""
    parts = [str(form.get("description") or "").strip()]
    where = str(form.get("address_string") or "").strip()
    lat, lon = str(form.get("lat") or "").strip(), str(form.get("long") or "").strip()
    if where or (lat and lon):
        coords = f" ({lat}, {lon})" if lat and lon else ""
        parts.append(f"Địa điểm: {where}{coords}".replace(": (", ": ("))
    if media := str(form.get("media_url") or "").strip():
        parts.append(f"Ảnh: {media}")
    return "\n\n".join(p for p in parts if p)


async def post_request(request: Request) -> Response:
    fmt = fmt_of(request)
    if fmt is None:
        return bad_format(request)
    form = await request.form()
    key = key_of(request, form.get("api_key"))
    if key is None:
        return error(fmt, 403, "api_key was not provided or is not valid")
    code = form.get("service_code")
    if not isinstance(code, str) or not code:
        return error(fmt, 400, "service_code was not provided")
    if code not in Category.__members__:
        return error(fmt, 404, f"service_code {code} was not found")
    lat, lon = form.get("lat"), form.get("long")
    if not (form.get("address_id") or form.get("address_string") or (lat and lon)):
        return error(fmt, 400, "a location was not provided: lat and long, address_string or address_id")
    commune = form.get("address_id") or key.unit
    if not description_given(form):
        return error(fmt, 400, "description was not provided")
    name = " ".join(str(form.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    petitioner = {"name": name or ANONYMOUS, "phone": form.get("phone") or None}
    body = {
        "channel": Channel.portal.value,
        "kind": form.get("attribute[kind]") or Kind.feedback.value,
        "category": code,
        "petitioner": {k: v for k, v in petitioner.items() if v is not None},
        "commune_code": commune,
        "hamlet_id": form.get("attribute[hamlet_id]") or None,
        "text": request_text(form),
        "command_id": f"open311:{key.key_id}:{uuid.uuid4()}",
    }
    try:
        result = await state_of(request).gateway.command("petitions", "raise", body, key.token)
    except RequestFailed as e:
        return refused(fmt, e)
    except ServiceUnreachable:
        return error(fmt, 503, "the petitions service does not answer; try again later")
    notice = "Đã tiếp nhận; theo dõi bằng mã này / received; follow it with this id"
    return respond(fmt, "requests", [{"service_request_id": result["petition_id"], "service_notice": notice,
                                      "account_id": None}])  # fmt: skip


def description_given(form: Any) -> bool:
    return bool(str(form.get("description") or "").strip())


def refused(fmt: str, e: RequestFailed) -> Response:
    """A refusal of the petitions service in the spec's error shape (its English message; the
    field it concerns named)."""
    status = {"unauthenticated": 403, "forbidden": 403, "not_found": 404, "unknown_unit": 400}.get(e.code, 400)
    where = e.error.get("field")
    text = str(e.error.get("message_en") or e.error.get("message"))
    return error(fmt, status, f"{where}: {text}" if where else text)


def dates(request: Request) -> tuple[str | None, str | None] | None:
    """start_date and end_date as dates (their day in Vietnam); None when one does not parse."""
    out: list[str | None] = []
    for name in ("start_date", "end_date"):
        value = request.query_params.get(name)
        if not value:
            out.append(None)
            continue
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        out.append((when.astimezone(VN) if when.tzinfo else when).date().isoformat())
    return out[0], out[1]


async def get_requests(request: Request) -> Response:
    fmt = fmt_of(request)
    if fmt is None:
        return bad_format(request)
    p = request.query_params
    key = key_of(request, p.get("api_key"))
    if key is None:
        return error(fmt, 403, "api_key was not provided or is not valid")
    st = state_of(request)
    if ids := [i.strip() for i in p.get("service_request_id", "").split(",") if i.strip()]:
        rows = []
        for rid in ids[:MAX_REQUESTS]:
            try:
                shown = await show_petition(lambda body: st.gateway.query("petitions", "show", body, key.token), rid)
            except RequestFailed as e:
                if e.code in ("not_found", "forbidden", "invalid"):
                    continue
                return refused(fmt, e)
            if shown.get("petition") is not None:
                rows.append(shown["petition"])
        return respond(fmt, "requests", [as_request(r, st.unit_name) for r in rows])
    span = dates(request)
    if span is None:
        return error(fmt, 400, "start_date and end_date must be w3c date-times (e.g. 2025-03-01T00:00:00+07:00)")
    start, end = span
    if start is None and end is None:
        start = (datetime.now(VN).date() - timedelta(days=DEFAULT_DAYS)).isoformat()
    code = p.get("service_code")
    if code and code not in Category.__members__:
        return error(fmt, 404, f"service_code {code} was not found")
    wanted = {s.strip() for s in p.get("status", "").split(",") if s.strip()}
    if wanted - {"open", "closed"}:
        return error(fmt, 400, "status must be open, closed or both (comma-separated)")
    statuses = None
    if wanted == {"open"}:
        statuses = sorted(OPEN_VALUES)
    elif wanted == {"closed"}:
        statuses = sorted(s.value for s in Status if s.value not in OPEN_VALUES and s is not Status.new)
    query = {"category": code or None, "status": statuses, "received_from": start, "received_to": end,
             "public": True, "limit": MAX_REQUESTS}  # fmt: skip
    try:
        result = await st.gateway.query("petitions", "list", query, key.token)
    except RequestFailed as e:
        return refused(fmt, e)
    except ServiceUnreachable:
        return error(fmt, 503, "the petitions service does not answer; try again later")
    return respond(fmt, "requests", [as_request(r, st.unit_name) for r in result["items"]])


async def get_request(request: Request) -> Response:
    fmt = fmt_of(request)
    if fmt is None:
        return bad_format(request)
    key = key_of(request, request.query_params.get("api_key"))
    if key is None:
        return error(fmt, 403, "api_key was not provided or is not valid")
    rid = request.path_params["rid"]
    st = state_of(request)
    try:
        shown = await show_petition(lambda body: st.gateway.query("petitions", "show", body, key.token), rid)
    except RequestFailed as e:
        if e.code in ("not_found", "invalid"):
            return error(fmt, 404, f"service_request_id {rid} was not found")
        return refused(fmt, e)
    except ServiceUnreachable:
        return error(fmt, 503, "the petitions service does not answer; try again later")
    if shown.get("petition") is None:
        return error(fmt, 503, "the request is being recorded; try again in a moment")
    return respond(fmt, "requests", [as_request(shown["petition"], st.unit_name)])


async def openapi(request: Request) -> Response:
    return JSONResponse(document())


def routes() -> list[BaseRoute]:
    return [
        Route("/open311/discovery.{fmt}", discovery, methods=["GET"]),
        Route(f"{BASE}/services.{{fmt}}", services, methods=["GET"]),
        Route(f"{BASE}/services/{{code}}.{{fmt}}", service_definition, methods=["GET"]),
        Route(f"{BASE}/requests.{{fmt}}", post_request, methods=["POST"]),
        Route(f"{BASE}/requests.{{fmt}}", get_requests, methods=["GET"]),
        Route(f"{BASE}/requests/{{rid}}.{{fmt}}", get_request, methods=["GET"]),
        Route(f"{BASE}/openapi.json", openapi, methods=["GET"]),
    ]
