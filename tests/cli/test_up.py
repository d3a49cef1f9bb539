"""`caunoi up` as a user runs it, with the demo data: the README's commands and the examples run
against it, then it is stopped with SIGTERM, started again, killed hard and started again, and
nothing is lost or doubled. The tests of this module run in order on one system."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
from click.testing import CliRunner, Result

from caunoi.cli.bus import installed_services
from caunoi.cli.embedded import free_port
from caunoi.cli.installation import Installation
from caunoi.cli.main import cli as caunoi_cli
from caunoi.shared.client import Login
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.eventstore import StoredMessage
from caunoi.shared.identity import IDENTITIES_STREAM
from caunoi.shared.jetstream import JetStreamEventStore

REPO = Path(__file__).resolve().parents[2]
#: one running system for the whole module, whose tests run in order: keep them on one worker
pytestmark = pytest.mark.xdist_group("caunoi-up")
CAUNOI = [sys.executable, "-m", "caunoi.cli.main"]
PLACEHOLDER = "PA-XXXXXXXX"
#: a meeting reference: the one the last command printing one at the start of a line printed
MEETING = "HN-XXXXXXXX"
#: a report: the one the last command printing one at the start of a line printed
REPORT = "BC-XXXXXXXX"
#: a "Dân vận khéo" model: the one the last command printing one at the start of a line printed
MODEL = "MH-XXXXXXXX"


def env_for(data: Path) -> dict[str, str]:
    """A user's environment: their own config folder (where `caunoi login` keeps its file)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL", "CAUNOI_LOGIN")}
    env["CAUNOI_DATA_DIR"] = str(data)
    env["CAUNOI_LOG_LEVEL"] = "warning"
    env["XDG_CONFIG_HOME"] = str(data.parent / "config")
    return env


@dataclass
class Live:
    data: Path
    ports: tuple[int, int, int]  # NATS, PostgreSQL, the web application
    proc: subprocess.Popen[str]
    started: str

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[2]}"

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports[0]}"

    def cli(self, *args: str, check: bool = True) -> Result:
        """``caunoi ARGS`` as the user types it, in their working folder (beside the data
        directory), with their environment. In this process (click's runner): the same code
        without a Python start-up per command; ``caunoi up`` and the examples run as processes."""
        env = env_for(self.data)
        previous = Path.cwd()
        os.chdir(self.data.parent)
        try:
            res = CliRunner().invoke(caunoi_cli, list(args), env={k: env.get(k) for k in {*env, *os.environ}})
        finally:
            os.chdir(previous)
        if check:
            assert res.exit_code == 0, f"caunoi {shlex.join(args)}\n{res.output}\n{res.exception!r}"
        return res

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli("--json", *args).stdout)


def start_up(data: Path, ports: tuple[int, int, int]) -> Live:
    proc = subprocess.Popen(
        [*CAUNOI, "up", "--nats-port", str(ports[0]), "--pg-port", str(ports[1]), "--web-port", str(ports[2])],
        env=env_for(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    out = []
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        out.append(line)
        if "caunoi is running" in line:
            break
        assert time.monotonic() < deadline, "".join(out)
    else:
        raise AssertionError("caunoi up exited early:\n" + "".join(out))
    return Live(data, ports, proc, "".join(out))


def stop_up(live: Live) -> str:
    live.proc.send_signal(signal.SIGTERM)
    rest, _ = live.proc.communicate(timeout=60)
    assert live.proc.returncode == 0, rest
    assert "Stopped cleanly" in rest
    return rest


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data = tmp_path_factory.mktemp("up") / "data"
    system = start_up(data, (free_port(), free_port(), free_port()))
    yield system
    if system.proc.poll() is None:
        stop_up(system)
    shutil.rmtree(data, ignore_errors=True)


def snapshot(live: Live) -> tuple[int, list[dict[str, Any]]]:
    """The petitions stream's size and the listing, once the services signed a checkpoint over
    everything (a checkpoint over what a service holds is made once: a restart adds none)."""
    live.cli("audit", "checkpoint")
    deadline = time.monotonic() + 20
    while True:
        petitions = live.cli_json("status")["services"]["petitions"]
        if all(p["lag"] == 0 for p in petitions["projections"]) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    items = live.cli_json("petitions", "list", "--limit", "1000")["items"]
    return petitions["stream"]["messages"], sorted(items, key=lambda r: r["id"])


def settle(live: Live, timeout: float = 30) -> None:
    """Until every read model of every service has caught up with its stream (twice in a row: a
    reaction of one service is an event another read model then follows)."""
    deadline, calm = time.monotonic() + timeout, 0
    while calm < 2 and time.monotonic() < deadline:
        services = live.cli_json("status")["services"].values()
        calm = calm + 1 if all(p["lag"] == 0 for s in services for p in s.get("projections") or []) else 0
        time.sleep(0.1)


def test_up_loads_the_demo_data(live: Live) -> None:
    assert "Demo data: 34 petitions (34 new)" in live.started
    _, items = snapshot(live)
    assert len(items) == 34
    assert {r["status"] for r in items} >= {
        "received", "classified", "ineligible", "answered", "forwarded", "returned", "in_progress", "replied",
        "closed", "reopened", "withdrawn", "merged",
    }  # fmt: skip
    # time, not a person, put some past their deadlines; each owed petitioner gets one delay notice
    overdue = live.cli_json("petitions", "list", "--overdue", "--limit", "1000")["items"]
    assert overdue and all(r["overdue"] for r in overdue)
    late = next(r for r in overdue if r["status"] == "in_progress")
    history = live.cli_json("petitions", "show", late["id"])["history"]
    assert sum(h["type"].endswith("DelayNoticeRequired.v2") for h in history) == 1
    assert "Đã có văn bản trả lời" in live.cli("petitions", "list").stdout
    assert "QUÁ HẠN" in live.cli("petitions", "list", "--overdue").stdout
    # reports fell due by themselves; the province sees who filed (late), who is missing, the ad-hoc one filed
    board = live.cli_json("reporting", "list", "--unit", "08")
    assert {"late", "missing", "submitted"} <= {i["status"] for i in board["items"]}, board["counts"]
    shown = live.cli("reporting", "list", "--unit", "08", "--schedule", "weekly").stdout
    assert "Nộp muộn" in shown and "CHƯA NỘP" in shown
    # "Dân vận khéo" models at every step: one recognised up to the province, two not updated for months
    assert '5 "Dân vận khéo" models' in live.started
    models = live.cli_json("reporting", "models", "list", "--unit", "08")
    assert models["counts"]["stage"] == {"commendation": 1, "recognition": 1, "evaluation": 1, "monitoring": 1,
                                         "idea": 1}  # fmt: skip
    assert models["counts"]["tier"] == {"-": 3, "grassroots": 1, "province": 1}
    assert len(live.cli_json("reporting", "models", "list", "--unit", "08", "--stale")["items"]) == 2
    assert "Cấp tỉnh" in live.cli("reporting", "models", "list", "--unit", "08", "--tier", "province").stdout


async def every_stored_message(live: Live) -> list[StoredMessage]:
    login = Login.from_file(Installation(live.data).operator_login)
    nc = await nats.connect(live.nats_url, **login.nats_options())
    out: list[StoredMessage] = []
    try:
        for spec in (*(s.stream for s in installed_services()), IDENTITIES_STREAM):
            store, seq = JetStreamEventStore(nc, spec), 0
            while batch := await store.read(seq + 1, 1000):
                out += batch
                seq = batch[-1].seq
    finally:
        await nc.close()
    return out


def test_any_cloudevents_sdk_reads_every_stored_event(live: Live) -> None:
    """The official CloudEvents Python SDK, with its automatic mode detection, reads every event of
    the demo run (petitions, hamlets, identities) as caunoi does."""
    from cloudevents.core.bindings.http import HTTPMessage, from_http
    from cloudevents.core.formats.json import JSONFormat

    messages = asyncio.run(every_stored_message(live))
    assert len(messages) > 60
    for msg in messages:
        ours = CloudEvent.from_json_bytes(msg.data)
        theirs = from_http(HTTPMessage(msg.headers, msg.data), JSONFormat())
        attrs = theirs.get_attributes()
        assert (attrs["id"], attrs["type"], attrs["source"], attrs["subject"]) == (
            ours.id, ours.type, ours.source, ours.subject,
        ), msg.subject  # fmt: skip
        assert theirs.get_data() == ours.data
        assert attrs["actor"] == ours.actor and attrs["unitcode"] == ours.unitcode


def readme_commands() -> list[list[str]]:
    """Every ``caunoi`` command of the README's shell blocks, as printed, in order."""
    text = (REPO / "README.md").read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["caunoi"] and words[1:2] != ["up"]:
                commands.append(words[1:])
    return commands


def test_every_caunoi_command_of_the_readme_works_as_printed(live: Live) -> None:
    commands = readme_commands()
    assert len(commands) >= 12 and any(c[:2] == ["petitions", "raise"] for c in commands)
    reference = meeting = report = model = None
    for args in commands:
        if PLACEHOLDER in args:
            assert reference, f"{shlex.join(args)}: the README uses {PLACEHOLDER} before a raise printed one"
            args = [reference if a == PLACEHOLDER else a for a in args]
        if MEETING in args:
            assert meeting, f"{shlex.join(args)}: the README uses {MEETING} before a command printed one"
            args = [meeting if a == MEETING else a for a in args]
        if REPORT in args:
            assert report, f"{shlex.join(args)}: the README uses {REPORT} before a command printed one"
            args = [report if a == REPORT else a for a in args]
        if args[0] == "notify":
            settle(live)  # notices are the notify service's reactions to the petitions' events
        if MODEL in args:
            assert model, f"{shlex.join(args)}: the README uses {MODEL} before a command printed one"
            args = [model if a == MODEL else a for a in args]
        res = live.cli(*args)
        if printed := re.match(r"(HN-[0-9A-Z]{8}):", res.stdout):
            meeting = printed.group(1)
        if printed := re.match(r"(BC-[0-9A-Za-z_-]+):", res.stdout):
            report = printed.group(1)
        if printed := re.match(r"(MH-[0-9A-Z]{8}):", res.stdout):
            model = printed.group(1)
        if args[:2] == ["petitions", "raise"]:
            found = re.search(r"PA-[0-9A-Z]{8}", res.stdout)
            assert found, res.stdout
            reference = found.group(0)
    shown = live.cli_json("petitions", "show", str(reference))
    assert shown["status"] == "closed" and shown["petition"]["hamlet"] == "Thôn Đồng Tâm"
    assert (live.data.parent / "dang-giai-quyet.xlsx").stat().st_size > 0
    # the reports: printed with their charts, exported, and the ad-hoc one filed
    assert (live.data.parent / "bao-cao-thang.pdf").read_bytes().startswith(b"%PDF")
    assert (live.data.parent / "bao-cao-dot-xuat.pdf").read_bytes().startswith(b"%PDF")
    assert (live.data.parent / "bao-cao-thang.xlsx").stat().st_size > 0
    filed = live.cli_json("reporting", "show", str(report))
    assert filed["status"] == "submitted" and filed["corrections"]["attendees"]["value"] == 40
    # the README's model: recognised at the grassroots, its forms printed
    shown = live.cli_json("reporting", "models", "show", str(model))
    assert shown["tier"] == "grassroots" and shown["next_tier"] == "province" and shown["level"] == "exceeded"
    assert (live.data.parent / "mau-2a.pdf").read_bytes().startswith(b"%PDF")
    assert (live.data.parent / "mau-2b.pdf").read_bytes().startswith(b"%PDF")
    # the clerk's login file, its list limited to its commune, and the subscriber's file
    assert (live.data.parent / "lan.json").stat().st_mode & 0o077 == 0
    assert {"portal.json", "thong-ke-08.json"} <= {p.name for p in live.data.parent.iterdir()}
    live.cli("login", "lan.json")
    assert {r["commune_code"] for r in live.cli_json("petitions", "list", "--limit", "1000")["items"]} == {"00691"}
    live.cli("logout")


def test_the_web_application_serves_the_demo_and_open311(live: Live) -> None:
    """As the README says: the URL `caunoi up` printed, the local operator's login file, and the
    Open311 key the README's `caunoi web open311-key issue` wrote."""
    import httpx

    assert f"Starting the web application on {live.web_url}" in live.started
    web = httpx.Client(base_url=live.web_url, follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/login").text)
    assert token is not None
    login = (live.data / "credentials" / "operator.json").read_bytes()
    inbox = web.post("/login", data={"csrf_token": token.group(1)}, files={"login_file": ("op.json", login)})
    assert inbox.status_code == 200 and inbox.url.path == "/petitions"
    assert "Đã có văn bản trả lời" in inbox.text and "Quá hạn" in inbox.text
    assert web.get("/dashboard").status_code == 200 and web.get("/meetings").status_code == 200
    # the demo's reports: filed late, missing; one printed; the notices
    board = web.get("/reports", params={"unit": "08", "schedule": "weekly"})
    assert board.status_code == 200 and "Nộp muộn" in board.text and "CHƯA NỘP" in board.text
    filed = re.search(r'data-id="(BC-[^"]+)"[^>]*data-status="late"', board.text)
    assert filed is not None
    pdf = web.get(f"/reports/{filed.group(1)}/export/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert web.get("/notices", params={"state": "sent"}).status_code == 200
    # the demo's "Dân vận khéo" models: the one recognised up to the province and commended, its forms 2a and 2b
    board = web.get("/models", params={"unit": "08", "stage": "commendation"})
    assert board.status_code == 200 and "hiến đất làm đường" in board.text
    top = re.search(r'data-id="(MH-[0-9A-Z]{8})" data-stage="commendation"', board.text)
    assert top is not None
    assert 'data-tier="province" data-state="recognised"' in web.get(f"/models/{top.group(1)}").text
    for form in ("2a.pdf", "2b/province.pdf"):
        printed = web.get(f"/models/{top.group(1)}/{form}")
        assert printed.status_code == 200 and printed.content.startswith(b"%PDF"), form
    key = (live.data.parent / "open311-key.txt").read_text().strip()
    open311_request = {"api_key": key, "service_code": "roads", "address_id": "00691", "description": "Ổ gà đầu thôn"}
    created = httpx.post(f"{live.web_url}/open311/v2/requests.json", data=open311_request)
    assert created.status_code == 200, created.text
    rid = created.json()[0]["service_request_id"]
    got = httpx.get(f"{live.web_url}/open311/v2/requests/{rid}.json", params={"api_key": key}).json()
    assert got[0]["status"] == "open" and got[0]["agency_responsible"] == "Phường Hà Giang 2"


def run_example(live: Live, name: str, *args: str) -> str:
    res = subprocess.run(
        [sys.executable, str(REPO / "examples" / name), *args],
        env=env_for(live.data),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_the_examples_run(live: Live, tmp_path: Path) -> None:
    """With the connection files an operator gives out, as the README and the examples say."""
    subscriber = tmp_path / "so-noi-vu-08.json"
    live.cli("bus", "subscriber", "so-noi-vu-08", "--area", "08", "--out", str(subscriber))
    lines = run_example(live, "follow_an_area.py", "--login", str(subscriber), "--count", "5").splitlines()
    assert len(lines) == 5 and all("Petition" in line for line in lines), lines
    portal = tmp_path / "portal.json"
    live.cli(
        "identities", "issue", "--system", "--name", "Cổng thông tin tỉnh", "--unit", "08", "--role", "service",
        "--area", "08", "--out", str(portal),
    )  # fmt: skip
    out = run_example(live, "raise_and_follow.py", "--login", str(portal), "--commune", "00691")
    assert re.search(r"raised PA-[0-9A-Z]{8}: received", out) and "PetitionRaised.v3: unit 00691" in out
    out = run_example(live, "petitions_by_category.py")
    assert re.search(r"roads\s+\d+", out), out


def test_restarts_lose_and_double_nothing(live: Live) -> None:
    events, items = snapshot(live)
    stop_up(live)
    assert not (live.data / "runtime.json").exists()

    # again, and even with the demo marker gone the fixed command ids store nothing twice
    (live.data / "demo-loaded").unlink()
    again = start_up(live.data, live.ports)
    try:
        assert "Demo data: 34 petitions (0 new)" in again.started
        assert snapshot(again) == (events, items)
    finally:
        stop_up(again)

    # a hard kill of everything, then a start: still the same
    killed = start_up(live.data, live.ports)
    runtime = json.loads((live.data / "runtime.json").read_text())
    for pid in runtime["services"].values():
        os.kill(pid, signal.SIGKILL)
    killed.proc.kill()
    killed.proc.wait()
    for name in ("nats/nats-server.pid", "postgres/data/postmaster.pid"):
        pidfile = live.data / name
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    time.sleep(0.5)
    final = start_up(live.data, live.ports)
    try:
        assert snapshot(final) == (events, items)
    finally:
        stop_up(final)
