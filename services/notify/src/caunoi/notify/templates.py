"""Templates: files an operator edits without touching code. One Jinja2 file per notice and
language, ``<lang>/<name>.j2`` (shipped in templates/ beside this module; a file of the same name
under ``CAUNOI_NOTIFY_TEMPLATES_DIR`` replaces it), with three blocks:

- ``subject``: the e-mail's subject and the letter's subject line (trích yếu);
- ``short``: the SMS or Zalo text (short: a few hundred characters);
- ``body``: the e-mail's and the letter's text, paragraphs separated by a blank line.

A template's **version** is the SHA-256 of its source (12 hex digits): every notice sent records
the template and the version it was rendered with, so what a citizen received can be told years
later, and an edit takes effect on the next notice without a restart. A language without its
own file falls back to Vietnamese.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
)

from caunoi.shared.clock import VN

BLOCKS = ("subject", "short", "body")
FALLBACK_LANG = "vi"


class TemplateProblem(Exception):
    """A template is missing or cannot be rendered (a mistake in an edited file): the notice is
    retried later, so fixing the file is enough."""


def vndate(value: Any) -> str:
    """``2026-12-01`` (or a date) -> ``01/12/2026``, as Vietnamese documents write dates."""
    if value is None or value == "":
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def vndatetime(value: Any) -> str:
    """``2026-12-03T07:00:00Z`` (or a datetime) -> ``14:00 03/12/2026``, in Vietnam's time."""
    if value is None or value == "":
        return ""
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    t = t.astimezone(VN) if t.tzinfo else t
    return f"{t:%H:%M} {vndate(t.date())}"


@dataclass(frozen=True)
class Rendered:
    template: str
    version: str
    lang: str
    subject: str
    short: str
    body: str

    @property
    def paragraphs(self) -> list[str]:
        return [" ".join(p.split()) for p in self.body.split("\n\n") if p.strip()]

    @property
    def text(self) -> str:
        """The body as plain text (paragraphs separated by a blank line)."""
        return "\n\n".join(self.paragraphs)


class Templates:
    def __init__(self, override: Path | None = None) -> None:
        loaders: list[BaseLoader] = [FileSystemLoader(str(override))] if override else []
        loaders.append(PackageLoader("caunoi.notify", "templates"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=False,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=True,
        )
        self.env.filters["vndate"] = vndate
        self.env.filters["vndatetime"] = vndatetime

    def source(self, name: str, lang: str) -> tuple[str, str, str]:
        """(path, source, version) of the file used for ``name`` in ``lang``."""
        assert self.env.loader is not None
        for candidate in dict.fromkeys((lang, FALLBACK_LANG)):
            path = f"{candidate}/{name}.j2"
            try:
                source, _, _ = self.env.loader.get_source(self.env, path)
            except TemplateNotFound:
                continue
            return path, source, hashlib.sha256(source.encode()).hexdigest()[:12]
        raise TemplateProblem(f"no template {name!r} (looked for {lang}/{name}.j2 and {FALLBACK_LANG}/{name}.j2)")

    def render(self, name: str, lang: str, context: Mapping[str, Any]) -> Rendered:
        path, _, version = self.source(name, lang)
        try:
            tmpl = self.env.get_template(path)
            ctx = tmpl.new_context(dict(context))
            parts = {b: "".join(tmpl.blocks[b](ctx)).strip() for b in BLOCKS}
        except KeyError as e:
            raise TemplateProblem(f"{path}: no block {e}") from e
        except (TemplateError, ValueError, TypeError) as e:
            raise TemplateProblem(f"{path}: {e}") from e
        return Rendered(name, version, path.split("/")[0], parts["subject"], parts["short"], parts["body"])

    def names(self) -> list[str]:
        assert self.env.loader is not None
        return sorted({p.split("/")[1].removesuffix(".j2") for p in self.env.loader.list_templates()})
