"""What every page module uses: its navigation entry and routes (:class:`Module`), rendering a
template with the common context, calling a service as the logged-in person, and turning a
refused command into messages at the fields they concern."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from caunoi.shared.client import RequestFailed
from caunoi.shared.clock import VN
from caunoi.shared.units import UnitTree
from caunoi.web.auth import User, csrf_token, current_user, flash, require_user
from caunoi.web.i18n import chooser, labeller, lang_of, message

if TYPE_CHECKING:
    from caunoi.web.app import WebState

T = TypeVar("T")


@dataclass(frozen=True)
class Module:
    """An area of the web application: one navigation entry and one group of routes. A new
    area (reports, models, failed notices) is one more module listed in ``caunoi.web.modules``."""

    name: str
    #: the navigation label, Vietnamese and English
    title: tuple[str, str]
    #: where the navigation entry leads
    path: str
    routes: Sequence[BaseRoute]
    #: show the entry only to these roles (what the services let them do decides the rest)
    roles: frozenset[str] = frozenset()

    def shown_to(self, user: User | None) -> bool:
        return user is not None and (not self.roles or user.has(*self.roles))


def state(request: Request) -> WebState:
    st: WebState = request.app.state.web
    return st


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    st = state(request)
    lang = lang_of(request)
    user = current_user(request)
    flashes = request.session.pop("flash", []) if "session" in request.scope else []
    ctx = {
        "user": user,
        "lang": lang,
        "_": chooser(lang),
        "label": labeller(lang),
        "csrf_token": csrf_token(request) if "session" in request.scope else "",
        "nav": [m for m in st.modules if m.shown_to(user)],
        "flashes": flashes,
        "path": request.url.path,
        "unit_name": st.unit_name,
        "today": datetime.now(VN).date(),
        **context,
    }
    return st.templates.TemplateResponse(request, template, ctx, status_code=status_code)


async def ask(request: Request, service: str, name: str, payload: Mapping[str, Any] | None = None) -> Any:
    """A query as the logged-in person."""
    user = require_user(request)
    return await state(request).gateway.query(service, name, dict(payload or {}), user.token)


async def send(request: Request, service: str, name: str, payload: Mapping[str, Any]) -> Any:
    """A command as the logged-in person."""
    user = require_user(request)
    return await state(request).gateway.command(service, name, dict(payload), user.token)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- forms ------------------------------------------------------------------------------------


def new_command_id() -> str:
    """A form's command id, rendered in it: posting it twice (a double click, a retry after a
    lost answer) stores one result."""
    return str(uuid.uuid4())


def payload_from(
    form: FormData, fields: Sequence[str], flags: Sequence[str] = (), lists: Sequence[str] = ()
) -> dict[str, Any]:
    """A command body from a form: ``fields`` as text (empty: left out, so the service's
    default applies), ``flags`` as checkboxes, ``lists`` as repeated values; a dotted name
    (``petitioner.name``) becomes a nested object. The service validates everything."""
    out: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        *parents, last = name.split(".")
        target = out
        for p in parents:
            target = target.setdefault(p, {})
        target[last] = value

    for name in fields:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            put(name, value.strip())
    for name in flags:
        put(name, form.get(name) in ("on", "true", "1"))
    for name in lists:
        put(name, [v for v in form.getlist(name) if isinstance(v, str) and v])
    return out


@dataclass
class Refusal:
    """A refused command as a form shows it: the message at its field, or above the form."""

    message: str
    field: str | None = None
    code: str = ""
    fields: dict[str, str] = dc_field(default_factory=dict)

    @classmethod
    def of(cls, e: RequestFailed, lang: str) -> Refusal:
        err = e.error
        text = message(err, lang)
        fields: dict[str, str] = {}
        where = err.get("field")
        if isinstance(where, str) and where:
            fields[where] = text
        details = err.get("details")
        for item in details.get("errors", []) if isinstance(details, dict) else []:
            name = item.get("field")
            if isinstance(name, str) and name and name not in fields:
                fields[name] = message(item, lang)
        return cls(text, where if isinstance(where, str) else None, str(err.get("code", "")), fields)

    def at(self, name: str) -> str | None:
        return self.fields.get(name)


def refused(request: Request, e: RequestFailed) -> Refusal:
    return Refusal.of(e, lang_of(request))


def typed(form: FormData) -> dict[str, str]:
    """What was typed into a form, to show it again with a refusal."""
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def submit(
    request: Request,
    service: str,
    name: str,
    body: Mapping[str, Any],
    form: FormData,
    *,
    again: Callable[[Refusal, dict[str, str]], Awaitable[Response]],
    done: Callable[[Any], tuple[str, str]],
    then: Callable[[Any], str],
) -> Response:
    """A form's command, sent as the logged-in person (post, redirect, get). Refused: the form's
    page again (``again``) with the message at its field and what was typed. Done: the message
    ``done(result)`` (Vietnamese, English) shown once on the page ``then(result)`` names. A session
    expired or revoked since the log-in is no refusal of the form: it leads to the log-in page."""
    try:
        result = await send(request, service, name, body)
    except RequestFailed as e:
        if e.code == "unauthenticated":
            raise
        return await again(refused(request, e), typed(form))
    flash(request, chooser(lang_of(request))(*done(result)))
    return redirect(then(result))


#: the refusals of a page's query shown at its filters (a unit, dates, a schedule); any other
#: goes to the error page
SHOWN_AT_FILTERS = frozenset({"invalid", "forbidden", "unknown_unit", "unknown_schedule", "not_found"})


async def asked(request: Request, asking: Awaitable[T]) -> tuple[T | None, Refusal | None]:
    """What a page asked (``ask``, or several at once), or the refusal its filters caused."""
    try:
        return await asking, None
    except RequestFailed as e:
        if e.code not in SHOWN_AT_FILTERS:
            raise
        return None, refused(request, e)


# --- the unit a page is about -------------------------------------------------------------------


@dataclass(frozen=True)
class UnitOption:
    """One choice of a page's unit picker: ``code`` "" is the person's own unit (the services'
    default; the whole country for a national identity)."""

    code: str
    name: str
    depth: int
    selected: bool


def unit_options(request: Request, chosen: str | None) -> list[UnitOption]:
    """The units a page may be shown for, as one select (:func:`unit_choices`) for the person
    logged in. Whether the person reaches a unit is the services' to say: a unit typed into the
    address outside their reach comes back ``forbidden``, shown at the picker."""
    user = require_user(request)
    national = chooser(lang_of(request))("Toàn quốc", "National")
    return unit_choices(state(request).units, user.unit or None, chosen, national)


def unit_choices(tree: UnitTree, own: str | None, chosen: str | None, national: str) -> list[UnitOption]:
    """``own``'s unit (None: the country, named ``national``), the way down from it to ``chosen``
    (to go back up) and the units right below ``chosen`` (to go down)."""
    top = own if own and own in tree else None
    scope = chosen if chosen and chosen in tree else top
    path = tree.path(scope) if scope else []
    way = path[path.index(top) + 1 :] if top in path else ([] if scope == top else path)
    out = [UnitOption("", tree.get(top).name if top else national, 0, scope == top)]
    out += [UnitOption(code, tree.get(code).name, depth, code == scope) for depth, code in enumerate(way, 1)]
    out += [UnitOption(u.code, u.name, len(way) + 1, False) for u in tree.children(scope)]
    return out


# --- values -----------------------------------------------------------------------------------


def parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def int_arg(request: Request, name: str, default: int, lo: int = 0, hi: int = 10_000_000) -> int:
    try:
        return max(lo, min(hi, int(request.query_params.get(name, default))))
    except ValueError:
        return default
