"""Unit reach (caunoi.shared.authz): own unit and sub-units, what was handed over, nothing across
datasets, except what was recorded under a legacy unit, reached through its 2025 successors."""

from __future__ import annotations

import pytest

from caunoi.shared.authz import may_reach, query_area, require_reach
from caunoi.shared.context import Actor, Role
from caunoi.shared.errors import Forbidden
from caunoi.shared.units import UnitTree

NEW = UnitTree.load("vn-2025")


def actor(unit: str, dataset: str = "vn-2025") -> Actor:
    return Actor(f"clerk.{unit}", unit=unit, dataset=dataset, roles=frozenset({Role.clerk}))


def test_own_units_sub_units_and_what_was_handed_over() -> None:
    path = ["08", "00691"]
    assert may_reach(actor("00691"), NEW, "vn-2025", path)
    assert may_reach(actor("08"), NEW, "vn-2025", path)
    assert not may_reach(actor("00694"), NEW, "vn-2025", path)
    assert may_reach(actor("01"), NEW, "vn-2025", path, handed_to=["01"])
    assert may_reach(Actor("op"), NEW, "vn-2025", path)  # national
    with pytest.raises(Forbidden):
        require_reach(actor("00694"), NEW, "vn-2025", path, what="x")
    assert query_area(actor("08"), NEW, "00691") == "00691"
    with pytest.raises(Forbidden):
        query_area(actor("00691"), NEW, "08")


def test_a_legacy_record_is_reached_through_the_2025_successors_only() -> None:
    legacy_path = UnitTree.load("vn-2024").path("00692")
    assert legacy_path[0] == "02"
    assert may_reach(actor("00691"), NEW, "vn-2024", legacy_path)  # Phường Hà Giang 2 succeeded it
    assert may_reach(actor("08"), NEW, "vn-2024", legacy_path)  # and its province
    assert not may_reach(actor("00694"), NEW, "vn-2024", legacy_path)
    assert not may_reach(actor("01"), NEW, "vn-2024", legacy_path)
    # handed over to a legacy district: reached through that district's communes' successors
    other = UnitTree.load("vn-2024").path("00004")
    assert may_reach(actor("00691"), NEW, "vn-2024", other, handed_to=["024"])
    # a legacy actor never reaches a 2025 record by code alone
    assert not may_reach(actor("00691", "vn-2024"), NEW, "vn-2025", ["08", "00691"])
