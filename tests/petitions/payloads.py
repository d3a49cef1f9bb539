"""Request bodies the petitions tests send."""

from __future__ import annotations

from typing import Any

PROVINCE, COMMUNE, OTHER = "08", "00691", "00694"
HAMLET = f"{COMMUNE}-thon-dong-tam"


def raise_payload(**over: Any) -> dict[str, Any]:
    """A valid ``raise`` body (a meeting opinion in Thôn Đồng Tâm of commune 00691), changed by ``over``."""
    body: dict[str, Any] = {
        "channel": "meeting",
        "kind": "petition",
        "category": "roads",
        "petitioner": {"name": "Nguyễn Văn An", "phone": "0912345678"},
        "commune_code": COMMUNE,
        "hamlet_id": HAMLET,
        "text": "Đường liên thôn xuống cấp, đề nghị sửa chữa.",
        "received_on": "2026-11-01",
    }
    body.update(over)
    return body
