"""The areas of the web application, in the order of the navigation. Each is a module of
``caunoi.web.pages`` exporting ``module`` (a navigation entry and a group of routes).

The "Dân vận khéo" models (issue 11, built inside the reporting service) take the slot after
reports: ``pages/models.py`` exporting ``module`` (title ``("Mô hình Dân vận khéo", "Models")``,
path ``/models``), listed here between ``reports.module`` and ``notices.module``."""

from __future__ import annotations

from caunoi.web.pages import dashboard, meetings, notices, petitions, reports
from caunoi.web.pages.base import Module

MODULES: list[Module] = [petitions.module, meetings.module, reports.module, notices.module, dashboard.module]
