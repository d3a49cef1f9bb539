"""Another system (a hotline, a city portal) raises a petition and follows it, with plain nats-py
and JSON: a request to ``caunoi.cmd.petitions.raise``, then the petition's own events, which are
one subject prefix: ``caunoi.petitions.<reference>.>``.

    python examples/raise_and_follow.py --commune 00691 --text "Đèn đường hỏng"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import uuid

import nats


async def raise_and_follow(url: str, commune: str, text: str, name: str) -> None:
    nc = await nats.connect(url)
    try:
        command = {
            "command_id": f"hotline-{uuid.uuid4()}",  # send it again after a timeout: stored once
            "channel": "hotline",
            "category": "roads",
            "petitioner": {"name": name},
            "commune_code": commune,
            "text": text,
        }
        reply = json.loads(
            (await nc.request("caunoi.cmd.petitions.raise", json.dumps(command).encode(), timeout=10)).data
        )
        if not reply["ok"]:
            error = reply["error"]
            raise SystemExit(f"refused: {error['code']} {error.get('field', '')}: {error['message_en']}")
        reference = reply["result"]["petition_id"]
        print(f"raised {reference}: {reply['result']['status']}")

        # Its whole history so far, from the stream (an ordered consumer on its subject prefix).
        js = nc.jetstream()
        sub = await js.subscribe(f"caunoi.petitions.{reference}.>", stream="PETITIONS", ordered_consumer=True)
        try:
            msg = await sub.next_msg(timeout=5)
            event = json.loads(msg.data)
            print(f"event {event['type']}: unit {event['unitcode']}, received {event['data']['received_on']}")
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--commune", default="00691")
    parser.add_argument("--text", default="Đèn đường ở đầu thôn bị hỏng, đề nghị sửa.")
    parser.add_argument("--name", default="Trần Thị Bình")
    args = parser.parse_args()
    asyncio.run(raise_and_follow(args.nats, args.commune, args.text, args.name))


if __name__ == "__main__":
    main()
