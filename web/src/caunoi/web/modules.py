"""The areas of the web application, in the order of the navigation. Each is a module of
``caunoi.web.pages`` exporting ``module`` (a navigation entry and a group of routes); the pages
for reports, "Dân vận khéo" models and failed notices are each one more line here when their
services land."""

from __future__ import annotations

from caunoi.web.pages import dashboard, meetings, petitions
from caunoi.web.pages.base import Module

MODULES: list[Module] = [petitions.module, meetings.module, dashboard.module]
