"""Who is logged in, and forms that only the page that served them can post.

A person logs in with the login file ``caunoi identities issue`` gave them (or the credential
in it): the web application asks a service who that credential proves (``whoami``: verified and
not revoked, by the service) and keeps the credential in the signed, HttpOnly, SameSite session
cookie. Every request to the services carries it as ``Authorization: Bearer``, so the services
decide what the person sees and does; the web application decides nothing of that itself.

Every form carries the session's CSRF token (a hidden field); a post without it, or with another,
is refused before anything is sent (:func:`posted_form`).
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any, Final

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from caunoi.shared.client import LOGIN_FORMAT

CSRF_FIELD: Final = "csrf_token"
USER: Final = "user"


class LoginRequired(Exception):
    """Raised by a page that needs someone logged in; the app sends them to the log-in page."""


@dataclass(frozen=True)
class User:
    token: str
    id: str
    name: str
    unit: str
    dataset: str
    roles: tuple[str, ...]

    def has(self, *roles: str) -> bool:
        return bool(set(roles) & set(self.roles))

    @property
    def national(self) -> bool:
        return not self.unit

    def to_session(self) -> dict[str, Any]:
        return {**self.__dict__, "roles": list(self.roles)}

    @classmethod
    def from_session(cls, data: Any) -> User | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(**{**data, "roles": tuple(data["roles"])})
        except (TypeError, KeyError):
            return None

    @classmethod
    def from_whoami(cls, token: str, who: dict[str, Any]) -> User:
        return cls(token, who["id"], who["name"], who["unit"], who["dataset"], tuple(who["roles"]))


def current_user(request: Request) -> User | None:
    return User.from_session(request.session.get(USER))


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    return user


def log_in(request: Request, user: User) -> None:
    """A new session for ``user`` (nothing of the one before it is kept, its CSRF token neither)."""
    lang_flash = request.session.get("flash", [])
    request.session.clear()
    request.session[USER] = user.to_session()
    request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    request.session["flash"] = lang_flash


def log_out(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


async def posted_form(request: Request) -> FormData:
    """The posted form, once its CSRF token is checked against the session's."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(CSRF_FIELD)
    if not isinstance(sent, str) or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")
    return form


def token_from_login_file(raw: bytes) -> str | None:
    """The credential in a login file (``caunoi identities issue --out FILE``), or None."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != LOGIN_FORMAT:
        return None
    token = data.get("token")
    return token if isinstance(token, str) and token else None


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A message shown once, on the next page."""
    request.session["flash"] = [*request.session.get("flash", []), [kind, text]]
