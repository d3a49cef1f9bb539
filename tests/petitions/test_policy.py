"""The deadline policy is data: the shipped defaults, an operator's own file named by
CAUNOI_PETITIONS_POLICY, and clear errors for a bad one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from caunoi.petitions import policy
from caunoi.petitions.events import Complexity, DeadlineKind, Kind


def test_the_shipped_defaults_are_the_laws_as_domain_md_gives_them() -> None:
    p = policy.default_policy()
    assert set(p.kinds) == set(Kind)
    complaint, second, denunciation = (
        p.for_kind(Kind.complaint),
        p.for_kind(Kind.complaint_second),
        p.for_kind(Kind.denunciation),
    )
    assert (complaint.resolve.limit, complaint.resolve.complex, complaint.resolve.remote) == (30, 45, 45)
    assert complaint.resolve.remote_complex == 60 and complaint.resolve.start == "accepted"
    assert (second.resolve.limit, second.resolve.complex, second.resolve.remote, second.resolve.remote_complex) == (
        45, 60, 60, 70,
    )  # fmt: skip
    assert denunciation.extension == 30
    assert [denunciation.extensions_allowed(c) for c in Complexity] == [0, 1, 2]
    assert p.for_kind(Kind.feedback).resolve.start == "committed"  # the resolver's own date
    assert p.deadline(Kind.feedback, DeadlineKind.resolve, date(2026, 1, 5)) is None
    assert all(k.handle is not None and k.handle.limit == 10 for k in p.kinds.values())


def test_an_operator_points_to_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "policy.toml"
    mine.write_text(
        policy.shipped_text()
        .replace('version = "vn-default-2026.1"', 'version = "tinh-08-2027"')
        .replace("warn_before = 3", "warn_before = 5")
    )
    monkeypatch.setenv("CAUNOI_PETITIONS_POLICY", str(mine))
    p = policy.load()
    assert (p.version, p.warn_before) == ("tinh-08-2027", 5)
    d = p.deadline(Kind.denunciation, DeadlineKind.resolve, date(2026, 3, 2))
    assert d is not None and (d.policy_version, d.due_on, d.warn_on) == (
        "tinh-08-2027",
        date(2026, 4, 1),
        date(2026, 3, 27),
    )


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda t: t.replace('unit = "calendar"', 'unit = "lunar"', 1), "unit"),
        (lambda t: t.replace("limit = 30,", "limit = -1,", 1), "limit"),
        (lambda t: t.split("[kinds.denunciation]")[0], "denunciation"),
        (lambda t: t + "\n[oops", "policy"),
        (lambda t: t.replace('from = "accepted"', 'from = "whenever"', 1), "from"),
    ],
)
def test_a_bad_policy_file_is_refused_naming_the_file_and_the_field(tmp_path: Path, change: object, says: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(change(policy.shipped_text()))  # type: ignore[operator]
    with pytest.raises(policy.PolicyError) as e:
        policy.load(bad)
    assert str(bad) in str(e.value) and says in str(e.value)
    with pytest.raises(policy.PolicyError) as e:
        policy.load(tmp_path / "missing.toml")
    assert "CAUNOI_PETITIONS_POLICY" in str(e.value)
