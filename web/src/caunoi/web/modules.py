"""The areas of the web application, in the order of the navigation. Each is a module of
``caunoi.web.pages`` exporting ``module`` (a navigation entry and a group of routes)."""

from __future__ import annotations

from caunoi.web.pages import dashboard, meetings, models, notices, petitions, reports
from caunoi.web.pages.base import Module

MODULES: list[Module] = [
    petitions.module, meetings.module, reports.module, models.module, notices.module, dashboard.module,
]  # fmt: skip
