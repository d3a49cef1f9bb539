"""JSON in ``jsonb`` columns as asyncpg takes and gives it (text)."""

from __future__ import annotations

from datetime import date

from caunoi.shared.jsonb import decoded, dumps, encoded, loads


def test_a_rows_json_columns_go_out_as_text_and_come_back_parsed() -> None:
    row = {"id": "BC-1", "narrative": {"situation": "Ổn định"}, "steps": [["received", date(2026, 5, 1)]], "n": 3}
    text = encoded(row, ("narrative", "steps"))
    assert text == {
        "id": "BC-1",
        "narrative": '{"situation":"Ổn định"}',
        "steps": '[["received","2026-05-01"]]',
        "n": 3,
    }
    assert decoded(text, ("narrative", "steps")) == {**row, "steps": [["received", "2026-05-01"]]}
    assert loads(None) is None and loads(loads(dumps([1]))) == [1]  # NULL, and a value parsed already
