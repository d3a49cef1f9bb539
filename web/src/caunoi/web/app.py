"""The web application: Starlette, server-rendered Jinja2 pages, a small stylesheet and script of
its own (no build step), and the Open311 GeoReport v2 API, all as a client of the services over
NATS. ``create_app`` builds it; ``python -m caunoi.web`` serves it with uvicorn."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from caunoi.shared.client import RequestFailed, ServiceUnreachable
from caunoi.shared.settings import Settings
from caunoi.shared.units import UnitTree
from caunoi.web import filters
from caunoi.web.auth import LoginRequired, User, log_in, log_out, posted_form, token_from_login_file
from caunoi.web.gateway import Gateway
from caunoi.web.i18n import COOKIE, LANGS, lang_of, message
from caunoi.web.open311.keys import KeyStore
from caunoi.web.pages.base import Module, redirect, render
from caunoi.web.settings import WebSettings

log = structlog.get_logger(__name__)
HERE = Path(__file__).parent
#: the service asked who a credential proves at log-in
WHOAMI_SERVICE = "petitions"


@dataclass
class WebState:
    """What every page reaches through ``request.app.state.web``."""

    gateway: Gateway
    units: UnitTree
    templates: Jinja2Templates
    modules: Sequence[Module]
    keys: KeyStore
    extra: dict[str, Any] = field(default_factory=dict)

    def unit_name(self, code: str | None) -> str:
        if not code:
            return ""
        unit = self.units.find(code)
        return unit.name if unit else code


def templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("caunoi.web", "templates"),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters.install(env)
    return Jinja2Templates(env=env)


# --- log in and out ---------------------------------------------------------------------------


def safe_next(value: Any) -> str:
    """Where to go after logging in: a path of this site only."""
    return value if isinstance(value, str) and value.startswith("/") and not value.startswith("//") else "/"


async def login_page(request: Request) -> Response:
    return render(request, "login.html", next=safe_next(request.query_params.get("next")), error=None)


async def login_post(request: Request) -> Response:
    form = await posted_form(request)
    st: WebState = request.app.state.web
    _ = lang_of(request)
    nxt = safe_next(form.get("next"))
    upload = form.get("login_file")
    token: str | None = None
    if upload is not None and not isinstance(upload, str) and upload.filename:
        token = token_from_login_file(await upload.read(64 * 1024))
        if token is None:
            error = (
                "Tệp không phải tệp đăng nhập caunoi (caunoi identities issue --out …)"
                if _ == "vi"
                else "the file is not a caunoi login file (caunoi identities issue --out …)"
            )
            return render(request, "login.html", 400, next=nxt, error=error)
    if token is None:
        pasted = form.get("token")
        token = pasted.strip() if isinstance(pasted, str) and pasted.strip() else None
    if token is None:
        error = "Chọn tệp đăng nhập hoặc dán mã xác thực" if _ == "vi" else "choose a login file or paste a credential"
        return render(request, "login.html", 400, next=nxt, error=error)
    try:
        who = await st.gateway.query(WHOAMI_SERVICE, "whoami", {}, token)
    except RequestFailed as e:
        return render(request, "login.html", 401, next=nxt, error=message(e.error, _))
    user = User.from_whoami(token, who)
    log_in(request, user)
    log.info("web.login", actor=user.id, unit=user.unit, roles=list(user.roles))
    return redirect(nxt)


async def logout_post(request: Request) -> Response:
    await posted_form(request)
    log_out(request)
    return redirect("/login")


async def set_lang(request: Request) -> Response:
    lang = request.path_params["lang"]
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    if lang in LANGS:
        response.set_cookie(COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


async def home(request: Request) -> Response:
    return redirect("/petitions")


async def healthz(request: Request) -> Response:
    st: WebState = request.app.state.web
    ok = st.gateway.connected
    return JSONResponse({"ok": ok, "nats": ok}, status_code=200 if ok else 503)


# --- what goes wrong ---------------------------------------------------------------------------


async def on_login_required(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/open311"):
        return PlainTextResponse("unauthenticated", status_code=401)
    return redirect(f"/login?next={request.url.path}")


async def on_refused(request: Request, exc: Exception) -> Response:
    """A service refused what a page asked (not a form's command: those show at their fields)."""
    assert isinstance(exc, RequestFailed)
    if exc.code == "unauthenticated":  # expired or revoked since the log-in
        log_out(request)
        return redirect(f"/login?next={request.url.path}")
    status = {"forbidden": 403, "not_found": 404, "unknown_unit": 404}.get(exc.code, 400)
    return render(request, "error.html", status, status=status, error=message(exc.error, lang_of(request)))


async def on_unreachable(request: Request, exc: Exception) -> Response:
    _ = lang_of(request)
    text = "Không liên lạc được với dịch vụ; hãy thử lại sau" if _ == "vi" else "a service does not answer; try again"
    log.warning("web.service_unreachable", error=str(exc), path=request.url.path)
    return render(request, "error.html", 503, status=503, error=text)


async def on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/open311"):
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)
    return render(request, "error.html", exc.status_code, status=exc.status_code, error=str(exc.detail))


# --- the application ------------------------------------------------------------------------------


def core_routes() -> list[BaseRoute]:
    return [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout_post, methods=["POST"]),
        Route("/lang/{lang}", set_lang),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(packages=[("caunoi.web", "static")]), name="static"),
    ]


def create_app(
    web: WebSettings | None = None,
    core: Settings | None = None,
    *,
    gateway: Gateway | None = None,
    keys: KeyStore | None = None,
) -> Starlette:
    from caunoi.web.modules import MODULES
    from caunoi.web.open311.api import routes as open311_routes

    web = web or WebSettings()
    core = core or Settings()
    key_file = web.session_key_path(core.data_dir)
    if not key_file.is_file():
        raise SystemExit(f"no session key at {key_file} (CAUNOI_WEB_SESSION_KEY_FILE): run `caunoi bus init` first")
    state = WebState(
        gateway=gateway or Gateway(core, web.request_timeout),
        units=UnitTree.load(core.units_dataset),
        templates=templates(),
        modules=MODULES,
        keys=keys or KeyStore(web.open311_keys_path(core.data_dir)),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await state.gateway.connect()
        log.info("web.started", nats=core.nats_url, connected=state.gateway.connected)
        try:
            yield
        finally:
            await state.gateway.close()

    routes = [*core_routes(), *(r for m in MODULES for r in m.routes), *open311_routes()]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=key_file.read_text().strip(),
                session_cookie="caunoi_session",
                max_age=int(web.session_hours * 3600),
                same_site="lax",
                https_only=web.secure_cookies,
            )
        ],
        exception_handlers={
            LoginRequired: on_login_required,
            RequestFailed: on_refused,
            ServiceUnreachable: on_unreachable,
            HTTPException: on_http,
        },
        lifespan=lifespan,
    )
    app.state.web = state
    return app
