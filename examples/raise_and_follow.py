"""Another system (a hotline, a city portal) raises a petition and follows it, with plain nats-py
and JSON: a request to ``caunoi.cmd.petitions.raise`` carrying its credential, then the
petition's own events, which are one subject prefix: ``caunoi.petitions.<reference>.>``.

An operator issues the system an identity for its unit, allowed to read that area's events:

    caunoi identities issue --system --name "Cổng thông tin tỉnh" --unit 08 --role service \\
        --area 08 --out portal.json
    python examples/raise_and_follow.py --login portal.json --commune 00691
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from pathlib import Path

import nats


async def raise_and_follow(login: dict[str, str], commune: str, text: str, name: str) -> None:
    nc = await nats.connect(
        login["nats_url"], nkeys_seed_str=login["nats_seed"], inbox_prefix=f"_INBOX_{login['nats_user']}"
    )
    try:
        command = {
            "command_id": f"hotline-{uuid.uuid4()}",  # send it again after a timeout: stored once
            "channel": "hotline",
            "category": "roads",
            "petitioner": {"name": name},
            "commune_code": commune,
            "text": text,
        }
        headers = {"Authorization": f"Bearer {login['token']}"}  # who asks, proven
        msg = await nc.request("caunoi.cmd.petitions.raise", json.dumps(command).encode(), timeout=10, headers=headers)
        reply = json.loads(msg.data)
        if not reply["ok"]:
            error = reply["error"]
            raise SystemExit(f"refused: {error['code']} {error.get('field', '')}: {error['message_en']}")
        reference = reply["result"]["petition_id"]
        print(f"raised {reference}: {reply['result']['status']}")

        # Its history so far, from the stream: a consumer filtered to the petition's own subject,
        # which the reply names (it is in this system's area, so its permissions allow it).
        sub = await nc.jetstream().pull_subscribe(reply["result"]["subject"], stream="PETITIONS")
        try:
            for event_msg in await sub.fetch(10, timeout=2):
                event = json.loads(event_msg.data)
                print(f"event {event['type']}: unit {event['unitcode']}, received {event['data']['received_on']}")
                await event_msg.ack()
        except nats.errors.TimeoutError:
            pass  # fewer than 10 events so far
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--login", type=Path, required=True, help="login file (caunoi identities issue --system)")
    parser.add_argument("--commune", default="00691")
    parser.add_argument("--text", default="Đèn đường ở đầu thôn bị hỏng, đề nghị sửa.")
    parser.add_argument("--name", default="Trần Thị Bình")
    args = parser.parse_args()
    asyncio.run(raise_and_follow(json.loads(args.login.read_text()), args.commune, args.text, args.name))


if __name__ == "__main__":
    main()
