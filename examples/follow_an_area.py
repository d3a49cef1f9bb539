"""Follow every petition event of one area, with plain nats-py and no caunoi code.

Subjects carry the administrative path, so one filter is one area: ``caunoi.petitions.*.08.>`` is
everything in province 08, ``caunoi.petitions.*.08.00691`` one commune of it (2025 dataset). The
stream keeps every event forever; a consumer reads them from the start, then follows.

An operator gives this program a connection file that may read exactly that area:

    caunoi bus subscriber so-noi-vu-08 --area 08           # writes so-noi-vu-08.json
    python examples/follow_an_area.py --login so-noi-vu-08.json --count 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import nats
from nats.errors import TimeoutError as NatsTimeout


async def follow(login: dict[str, str], area: str, count: int | None) -> None:
    nc = await nats.connect(
        login["nats_url"], nkeys_seed_str=login["nats_seed"], inbox_prefix=f"_INBOX_{login['nats_user']}"
    )
    js = nc.jetstream()
    # A commune (5 digits) ends its path; a province or district has more below it.
    filter_subject = f"caunoi.petitions.*.{area}" + ("" if len(area.rsplit(".", 1)[-1]) == 5 else ".>")
    # A pull consumer created with its filter in the API subject: the only kind a subscriber's
    # permissions allow, and only for its own area.
    sub = await js.pull_subscribe(filter_subject, stream="PETITIONS")
    seen = 0
    try:
        while count is None or seen < count:
            try:
                msgs = await sub.fetch(min(100, (count or 100) - seen), timeout=5)
            except NatsTimeout:
                continue
            for msg in msgs:
                event = json.loads(msg.data)  # a CloudEvent, structured JSON
                kind = event["type"].rsplit(".", 2)[-2]  # vn.caunoi.petitions.PetitionRaised.v1
                print(f"{event['time'][:19]}  {kind:<24} {event['subject']}  unit {event['unitcode']}")
                await msg.ack()
                seen += 1
    finally:
        await sub.unsubscribe()
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--login", type=Path, required=True, help="connection file (caunoi bus subscriber)")
    parser.add_argument("--area", help="unit path to follow, default the connection's first area (e.g. 08)")
    parser.add_argument("--count", type=int, help="stop after this many events")
    args = parser.parse_args()
    login = json.loads(args.login.read_text())
    try:
        asyncio.run(follow(login, args.area or login["areas"][0], args.count))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
