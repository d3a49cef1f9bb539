"""Who may use which NATS subjects: the bus permissions of an installation.

One policy, the same on the embedded server and on a provincial deployment, rendered into the
nats-server configuration that ``deploy/nats/nats-server.conf`` includes:

- ``permissions.conf`` (committed in deploy/nats/; a test keeps it equal to this code): one
  variable per role of a connection:

  - a **service** publishes only its own stream's subjects and the JetStream API of its own
    stream (create, update, info, direct get), reads (direct get) the streams it follows, serves
    its request subjects, answers on the requester's inbox;
  - a service's **replay** user (``<service>-replay``) reads the streams the service reads
    through ephemeral consumers, for its projections' bulk reads (a rebuild), and may not answer
    requests (``caunoi.shared.settings.replay_user`` says why);
  - a **client** (the CLI, the web application, another system's caller) only sends requests
    and receives the replies on its own inbox; each credential issued gets a client user of its
    own, so no login can read another's replies;
  - an **auditor** reads every stream (direct gets, stream info: what verifying, exporting and
    timelines need), sends queries and the admin requests the services let auditors use (the
    audit replay), and never publishes to a stream subject or sends a command;
  - the **operator** may do everything.

- ``auth.conf`` (generated per installation, not committed): the users, each with its nkey
  (public key; the seed stays with whoever connects) and its permissions. A **subscriber** is a
  user that reads the events of exactly one area, as core subscriptions and as JetStream
  consumers, whose filter subject is in the consumer-create subject
  (``$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>``, NATS >= 2.10), so the permission
  restricts it.

Each user receives replies under its own inbox prefix ``_INBOX_<user>`` and may subscribe only
there, so no one reads another's replies.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import nkeys

from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.identity import IDENTITIES_STREAM, write_private
from caunoi.shared.settings import inbox_prefix, replay_user

OPERATOR: Final = "operator"
CLIENTS: Final = "clients"
USERS_FILE: Final = "users.json"
AUTH_FILE: Final = "auth.conf"
PERMISSIONS_FILE: Final = "permissions.conf"


@dataclass(frozen=True)
class ServiceStreams:
    """A service as the bus sees it: its own stream and the streams it reads."""

    name: str
    stream: StreamSpec
    follows: tuple[StreamSpec, ...] = ()


def installed_services() -> list[ServiceStreams]:
    """Every installed service (``caunoi.runtimes`` entry points), with what it reads. Every
    service follows the IDENTITIES stream (revoked credentials)."""
    from caunoi.shared.contracts import discover

    out = []
    for svc in discover():
        follows = {rm.stream.name: rm.stream for rm in svc.read_models if rm.stream is not None}
        follows[IDENTITIES_STREAM.name] = IDENTITIES_STREAM
        out.append(ServiceStreams(svc.name, svc.stream, tuple(follows[k] for k in sorted(follows))))
    return out


def _variable(name: str) -> str:
    return name.upper().replace("-", "_")


def _inbox(user: str) -> str:
    return f"{inbox_prefix(user)}.>"


def service_permissions(svc: ServiceStreams) -> dict[str, Any]:
    own = svc.stream.name
    publish = [
        f"{svc.stream.subject_prefix}.>",
        f"$JS.API.STREAM.CREATE.{own}",
        f"$JS.API.STREAM.UPDATE.{own}",
        f"$JS.API.STREAM.INFO.{own}",
        f"$JS.API.DIRECT.GET.{own}",
        *_replay_consumer(own),
    ]
    subscribe = [f"caunoi.cmd.{svc.name}.>", f"caunoi.q.{svc.name}.>", f"caunoi.admin.{svc.name}.>", _inbox(svc.name)]
    subscribe.append(f"{svc.stream.subject_prefix}.>")  # wake-ups of its projections
    for other in svc.follows:
        publish += [
            f"$JS.API.DIRECT.GET.{other.name}",
            f"$JS.API.STREAM.INFO.{other.name}",
            *_replay_consumer(other.name),
        ]
        subscribe.append(f"{other.subject_prefix}.>")
    return {
        "publish": {"allow": publish},
        "subscribe": {"allow": subscribe},
        # replies go to whatever inbox a request names, and only to it
        "allow_responses": True,
    }


def replay_permissions(svc: ServiceStreams) -> dict[str, Any]:
    """The service's replay user (:func:`caunoi.shared.settings.replay_user`): its projections'
    bulk reads of its own stream and the streams it follows, through ephemeral consumers, and
    nothing else; no ``allow_responses`` (what makes it cheaper for nats-server to serve)."""
    publish = [c for stream in (svc.stream, *svc.follows) for c in _replay_consumer(stream.name)]
    return {"publish": {"allow": publish}, "subscribe": {"allow": [_inbox(replay_user(svc.name))]}}


def _replay_consumer(stream: str) -> list[str]:
    """What a projection's bulk read (``caunoi.shared.streamread``, a rebuild) needs: an
    ephemeral pull consumer without acks on ``stream``, created, pulled from and deleted."""
    return [
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
        f"$JS.API.CONSUMER.DELETE.{stream}.*",
    ]


def client_permissions(user: str = CLIENTS) -> dict[str, Any]:
    return {
        "publish": {"allow": ["caunoi.cmd.>", "caunoi.q.>", "caunoi.admin.>"]},
        "subscribe": {"allow": [_inbox(user)]},
    }


def auditor_permissions(user: str, streams: Iterable[StreamSpec]) -> dict[str, Any]:
    """Read every stream, ask queries and audit requests; write nothing. Which admin requests an
    auditor may use is the services' decision (the request edge refuses the others)."""
    names = sorted({s.name for s in streams} | {IDENTITIES_STREAM.name})
    publish = ["caunoi.q.>", "caunoi.admin.>"]
    for name in names:
        publish += [f"$JS.API.DIRECT.GET.{name}", f"$JS.API.STREAM.INFO.{name}"]
    return {"publish": {"allow": publish}, "subscribe": {"allow": [_inbox(user)]}}


def area_filters(stream: StreamSpec, area: str) -> list[str]:
    """The subject filters of one area of a stream: its aggregates placed at the unit (a leaf, e.g.
    a 2025 commune) and below it."""
    return [f"{stream.subject_prefix}.*.{area}", f"{stream.subject_prefix}.*.{area}.>"]


def subscriber_permissions(
    user: str, areas: Sequence[str], streams: Iterable[StreamSpec], requests: bool = False
) -> dict[str, Any]:
    """Read the events of ``areas`` (unit paths like ``08`` or ``08.00691``) in ``streams``: core
    subscriptions on their subjects, and JetStream consumers filtered to them; with
    ``requests``, also send requests (a system that raises petitions and follows its area)."""
    publish: list[str] = []
    subscribe = [_inbox(user)]
    for stream in streams:
        for area in areas:
            for f in area_filters(stream, area):
                subscribe.append(f)
                publish.append(f"$JS.API.CONSUMER.CREATE.{stream.name}.*.{f}")
        publish += [
            f"$JS.API.CONSUMER.MSG.NEXT.{stream.name}.*",
            f"$JS.API.CONSUMER.INFO.{stream.name}.*",
            f"$JS.API.CONSUMER.DELETE.{stream.name}.*",
            f"$JS.ACK.{stream.name}.>",
            f"$JS.FC.{stream.name}.>",
        ]
    if requests:
        publish += ["caunoi.cmd.>", "caunoi.q.>"]
    return {"publish": {"allow": publish}, "subscribe": {"allow": subscribe}}


def render_permissions(services: Sequence[ServiceStreams]) -> str:
    """``permissions.conf``: a variable per service, and the clients'."""
    lines = [
        "# caunoi bus permissions: what each kind of NATS connection may publish and subscribe to.",
        "# Generated by caunoi.cli.bus (`caunoi bus permissions`); a test keeps this file equal to the",
        "# code. auth.conf (per installation) gives each user one of these, by variable.",
        "",
    ]
    for svc in services:
        lines.append(
            f"# the {svc.name} service: appends to {svc.stream.name}, reads {', '.join(s.name for s in svc.follows)}"
        )
        lines.append(f"SERVICE_{_variable(svc.name)} = {json.dumps(service_permissions(svc), indent=2)}")
        lines.append(f"# the {svc.name} service's replay user: its projections' bulk reads")
        lines.append(f"REPLAY_{_variable(svc.name)} = {json.dumps(replay_permissions(svc), indent=2)}")
        lines.append("")
    lines.append("# clients (CLI, web application, other systems' callers): requests and their replies only")
    lines.append(f"CLIENTS = {json.dumps(client_permissions(), indent=2)}")
    return "\n".join(lines) + "\n"


@dataclass
class BusUser:
    name: str
    kind: str  # operator | service | replay | client | subscriber | auditor
    nkey: str  # public key
    areas: list[str] = field(default_factory=list)
    requests: bool = False


@dataclass
class Bus:
    """An installation's NATS users: ``<conf_dir>/users.json`` lists them, ``auth.conf`` is what
    nats-server reads; seeds are written under ``keys_dir`` (0600)."""

    conf_dir: Path
    keys_dir: Path
    users: dict[str, BusUser] = field(default_factory=dict)

    @classmethod
    def open(cls, conf_dir: Path, keys_dir: Path) -> Bus:
        bus = cls(conf_dir, keys_dir)
        path = conf_dir / USERS_FILE
        if path.is_file():
            for raw in json.loads(path.read_text()):
                bus.users[raw["name"]] = BusUser(**raw)
        return bus

    def seed_file(self, name: str) -> Path:
        return self.keys_dir / f"{name}.nk"

    def seed(self, name: str) -> str:
        return str(self.seed_file(name).read_text().strip())

    def add(self, name: str, kind: str, areas: Sequence[str] = (), requests: bool = False) -> str:
        """Create (or replace) a user with a new nkey; return its seed (also written to its file)."""
        seed: bytes = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
        public = str(nkeys.from_seed(bytearray(seed)).public_key.decode())
        write_private(self.seed_file(name), seed + b"\n")
        self.users[name] = BusUser(name, kind, public, list(areas), requests)
        return seed.decode()

    def ensure(self, name: str, kind: str) -> None:
        if name not in self.users or not self.seed_file(name).is_file():
            self.add(name, kind)

    def remove(self, name: str) -> bool:
        self.seed_file(name).unlink(missing_ok=True)
        return self.users.pop(name, None) is not None

    def render_auth(self, streams: Iterable[StreamSpec]) -> str:
        streams = list(streams)
        entries = []
        for u in sorted(self.users.values(), key=lambda u: (u.kind, u.name)):
            if u.kind == "operator":
                perms = None
            elif u.kind == "service":
                perms = f"$SERVICE_{_variable(u.name)}"
            elif u.kind == "replay":
                service = u.name.removesuffix(replay_user(""))  # the user is <service>-replay
                perms = f"$REPLAY_{_variable(service)}"
            elif u.kind == "client":
                perms = "$CLIENTS" if u.name == CLIENTS else json.dumps(client_permissions(u.name))
            elif u.kind == "auditor":
                perms = json.dumps(auditor_permissions(u.name, streams))
            else:
                perms = json.dumps(subscriber_permissions(u.name, u.areas, streams, u.requests))
            entry = (
                f'    {{nkey: "{u.nkey}"' + (f", permissions: {perms}" if perms else "") + f"}}  # {u.kind} {u.name}"
            )
            entries.append(entry)
        return (
            "# caunoi NATS users of this installation (generated by `caunoi bus`; edit with it, not by hand).\n"
            f'include "{PERMISSIONS_FILE}"  # the permission sets, by variable (visible to this file only)\n'
            "authorization {\n  users: [\n" + "\n".join(entries) + "\n  ]\n}\n"
        )

    def write(self, services: Sequence[ServiceStreams]) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / USERS_FILE).write_text(
            json.dumps([asdict(u) for u in self.users.values()], indent=2, ensure_ascii=False) + "\n"
        )
        streams = [s.stream for s in services]
        (self.conf_dir / AUTH_FILE).write_text(self.render_auth(streams))
        (self.conf_dir / PERMISSIONS_FILE).write_text(render_permissions(services))


def reload_server(pid_file: Path) -> bool:
    """Ask a running nats-server to reload its configuration (SIGHUP); False if none runs."""
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError, IndexError):
        return False
    return True
