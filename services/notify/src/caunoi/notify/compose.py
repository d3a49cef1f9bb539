"""What a notice looks like for one recipient: who it is addressed to (looked up when it is sent,
from the contacts as they are then), what its template is given, and its printable letter."""

from __future__ import annotations

from datetime import date
from typing import Any

from caunoi.notify.addresses import lenient_phone as phone
from caunoi.notify.domain import Notice, Reach
from caunoi.notify.events import DeliveryChannel, NoticeRecipient, RecipientKind
from caunoi.notify.templates import Rendered
from caunoi.printing.letter import Letter
from caunoi.shared.projection import Conn, Pool
from caunoi.shared.sealed import Sealed
from caunoi.shared.units import UnitTree
from caunoi.shared.vault import Vault

#: the schemas of the tables recipients are looked up in
PETITION_FACTS = "from_petitions"
HAMLETS = "hamlets"


class Recipients:
    """How each recipient is reached now: a petitioner from the petition (the planner's facts),
    a hamlet or a unit's office from the contacts set with ``caunoi notify contacts``."""

    def __init__(self, pool: Pool, vault: Vault | None = None) -> None:
        self.pool = pool
        self.vault = vault

    async def reach(self, recipient: NoticeRecipient, dataset: str) -> Reach | None:
        """None: the recipient is not known (or its data were erased): nothing can be sent."""
        async with self.pool.acquire() as conn:
            return await reach_of(conn, recipient, dataset, vault=self.vault)


async def reach_of(
    conn: Conn,
    recipient: NoticeRecipient,
    dataset: str,
    *,
    facts_schema: str = PETITION_FACTS,
    vault: Vault | None = None,
) -> Reach | None:
    if recipient.kind is RecipientKind.petitioner:
        row = await conn.fetchrow(
            f'SELECT * FROM "{facts_schema}".petitions WHERE petition_id = $1 AND NOT erased', recipient.id
        )
        if row is None:
            return None
        if row["petitioner_sealed"]:  # opened now, while the petitioner's key lives
            box = Sealed.model_validate_json(row["petitioner_sealed"])
            data = await vault.open(box, recipient.id) if vault is not None else None
            if not data or not data.get("name"):
                return None
            return Reach(
                name=data["name"],
                email=data.get("email"),
                phone=phone(data.get("phone")),
                zalo=phone(data.get("zalo")),
                address=data.get("address"),
            )
        if not row["petitioner_name"]:
            return None
        return Reach(
            name=row["petitioner_name"],
            email=row["petitioner_email"],
            phone=row["petitioner_phone"],
            zalo=row["petitioner_zalo"],
            address=row["petitioner_address"],
        )
    contact = await conn.fetchrow("SELECT * FROM contacts.contacts WHERE recipient = $1", recipient.ref)
    name = recipient.id
    if recipient.kind is RecipientKind.hamlet:
        hamlet = await conn.fetchval(f'SELECT name FROM "{HAMLETS}".hamlets WHERE id = $1', recipient.id)
        name = hamlet or name
    else:
        tree = UnitTree.load(dataset)
        name = tree.get(recipient.id).name if recipient.id in tree else name
    if contact is None:
        return Reach(name=name)  # a letter, handed over
    return Reach(
        name=contact["name"] or name,
        email=contact["email"],
        phone=contact["phone"],
        zalo=contact["zalo"],
        address=contact["address"],
        preferred=DeliveryChannel(contact["preferred"]) if contact["preferred"] else None,
        lang=contact["lang"],
    )


def unit_name(dataset: str | None, code: str) -> str:
    tree = UnitTree.load(dataset) if dataset else None
    return tree.get(code).name if tree is not None and code in tree else code


def context_for(n: Notice, reach: Reach, lang: str) -> dict[str, Any]:
    """What a notice's template gets: the event's and the facts' fields the planner kept, and
    who it is for."""
    assert n.recipient is not None
    return {
        **n.context,
        "notice_id": n.id,
        "kind": n.kind.value,
        "recipient_kind": n.recipient.kind.value,
        "recipient_name": reach.name,
        "unit_name": unit_name(n.dataset, n.unit_code),
        "lang": lang,
    }


def addressee(reach: Reach, recipient: NoticeRecipient, lang: str) -> str:
    if recipient.kind is RecipientKind.petitioner:
        return f"{'Ông/bà' if lang == 'vi' else 'Mr/Ms'} {reach.name}"
    return reach.name


def letter_for(n: Notice, reach: Reach, rendered: Rendered, on: date) -> Letter:
    """The notice as an official letter from the unit concerned."""
    assert n.recipient is not None
    vi = rendered.lang != "en"
    tree = UnitTree.load(n.dataset) if n.dataset else None
    unit = tree.find(n.unit_code) if tree else None
    parent = tree.find(unit.parent_code) if tree and unit and unit.parent_code else None
    name = unit.name if unit else n.unit_code
    return Letter(
        issuer=("ỦY BAN NHÂN DÂN " if vi else "PEOPLE'S COMMITTEE OF ") + name.upper(),
        issuer_parent=parent.name.upper() if parent else None,
        place=unit.short_name if unit else name,
        on=on,
        subject=rendered.subject,
        recipient=[addressee(reach, n.recipient, rendered.lang), *([reach.address] if reach.address else [])],
        body=rendered.paragraphs,
        signer_title=["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"] if vi else ["FOR THE PEOPLE'S COMMITTEE", "CHAIR"],
        copies_to=["Như trên;", "Lưu: VT."] if vi else ["As above;", "File."],
        footer=f"{n.id} · {rendered.template} {rendered.version}",
        lang=rendered.lang,
    )
