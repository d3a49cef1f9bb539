"""Follow every petition event of one area, with plain nats-py and no caunoi code.

Subjects carry the administrative path, so one filter is one area: ``caunoi.petitions.*.08.>`` is
everything in province 08, ``caunoi.petitions.*.08.00691`` one commune of it (2025 dataset). The
stream keeps every event forever; an ordered consumer replays them from the start, then follows.

    python examples/follow_an_area.py --area 08            # Ctrl-C to stop
    python examples/follow_an_area.py --area 08 --count 5  # stop after 5 events
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

import nats


async def follow(url: str, area: str, count: int | None) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    seen = 0
    done = asyncio.Event()

    async def on_event(msg: nats.aio.msg.Msg) -> None:
        nonlocal seen
        if done.is_set():
            return
        event = json.loads(msg.data)  # a CloudEvent, structured JSON
        print(
            f"{event['time'][:19]}  {event['type'].rsplit('.', 2)[-2]:<24} {event['subject']}  unit {event['unitcode']}"
        )
        seen += 1
        if count is not None and seen >= count:
            done.set()

    # A commune (5 digits) ends its path; a province or district has more below it.
    filter_subject = f"caunoi.petitions.*.{area}" + ("" if len(area.rsplit(".", 1)[-1]) == 5 else ".>")
    sub = await js.subscribe(filter_subject, stream="PETITIONS", cb=on_event, ordered_consumer=True)
    try:
        await done.wait()
    finally:
        await sub.unsubscribe()
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--area", default="08", help="unit path: a province (08) or province.commune (08.00691)")
    parser.add_argument("--count", type=int, help="stop after this many events")
    args = parser.parse_args()
    try:
        asyncio.run(follow(args.nats, args.area, args.count))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
