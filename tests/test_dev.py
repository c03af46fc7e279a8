"""`laura dev` as a user runs it: demo up, dev.json complete, clean stop, state kept; one
`laura dev` per data directory, and no Synapse outlives it (not even on `kill -9`)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import smtplib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from ruamel.yaml import YAML

from laura_bot.dev.guard import NO_DEATH_SIGNAL_ENV
from laura_bot.dev.synapse import PID_FILE, Synapse, port_is_free
from tests.helpers import Visitor

pytestmark = pytest.mark.synapse


async def start_dev(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], dict]:
    (data_dir / "dev.json").unlink(missing_ok=True)
    log = (data_dir.parent / "dev.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "laura_bot", "dev", "--data-dir", str(data_dir), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    async with asyncio.timeout(180):
        while not (data_dir / "dev.json").exists():
            assert proc.poll() is None, (data_dir.parent / "dev.log").read_text()[-3000:]
            await asyncio.sleep(0.3)
    return proc, json.loads((data_dir / "dev.json").read_text())


def stop_dev(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may never be reaped in a container)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def synapse_pid(data_dir: Path) -> int:
    return int(json.loads((data_dir / "synapse" / PID_FILE).read_text())["pid"])


def kill_everything_in(data_dir: Path) -> None:
    """Clean-up that trusts none of the code under test: SIGKILL every process whose command
    line names the data directory (`laura dev`, the guard, Synapse), with its process group."""
    needle = str(data_dir).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "cmdline").read_bytes():
                continue
            pid = int(entry.name)
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError):
            pass


async def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"{what} after {timeout:g}s") from None


async def joined_rooms(http: aiohttp.ClientSession, homeserver: str, user: dict) -> list[str]:
    """Log in as a demo user (from dev.json) and list the rooms they are in."""
    async with http.post(
        f"{homeserver}/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "password": user["password"],
            "identifier": {"type": "m.id.user", "user": user["user_id"]},
        },
    ) as resp:
        token = (await resp.json())["access_token"]
    async with http.get(
        f"{homeserver}/_matrix/client/v3/joined_rooms",
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        return list((await resp.json())["joined_rooms"])


async def check_working(dev: dict) -> None:
    """The widget answers and the admin can log in and sees the control room."""
    admin = next(u for u in dev["users"] if u["role"] == "admin")
    async with aiohttp.ClientSession() as http:
        async with http.get(dev["widget_url"]) as resp:
            assert resp.status == 200
        assert dev["control_room"] in await joined_rooms(http, dev["homeserver"], admin)


async def test_laura_dev_demo(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    data_dir.mkdir()
    proc, dev = await start_dev(data_dir, "--dispatch-timeout", "10s")
    try:
        for key in (
            "homeserver",
            "widget_url",
            "api",
            "control_room",
            "contact_room",
            "departments",
            "users",
            "mail_dir",
        ):
            assert dev[key], key
        # The demo's mail catcher takes mail on the configured port and keeps it as .eml.
        port = YAML().load((data_dir / "config.yaml").read_text())["mail"]["port"]
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.sendmail(
                "afspraken@zorggroep-demo.example",
                ["demo@example.org"],
                b"Subject: Afspraak\r\nTo: demo@example.org\r\n\r\nTot dan.\r\n",
            )
        eml = list(Path(dev["mail_dir"]).glob("*.eml"))
        assert len(eml) == 1 and b"Tot dan." in eml[0].read_bytes()
        assert len(dev["departments"]) >= 2
        admins = [u for u in dev["users"] if u["role"] == "admin"]
        assert len(admins) == 1
        async with aiohttp.ClientSession() as http:
            async with http.get(dev["widget_url"]) as resp:
                assert resp.status == 200 and "/widget/laura.js" in await resp.text()
            for dept in dev["departments"]:
                staff = [u for u in dev["users"] if dept["id"] in u["departments"]]
                assert len(staff) >= 2, dept
                for user in staff + admins:
                    joined = await joined_rooms(http, dev["homeserver"], user)
                    expected = dev["control_room"] if user["role"] == "admin" else dept["room_id"]
                    assert expected in joined, (user["user_id"], dept["id"])
        visitor = Visitor(dev["api"])
        await visitor.start(name="Demo", topic=dev["departments"][0]["id"])
        await visitor.say("bewaard over een herstart heen")
    finally:
        stop_dev(proc)
    hs_port = int(dev["homeserver"].rsplit(":", 1)[1])
    assert port_is_free(hs_port), "Synapse must stop with the demo"
    await asyncio.sleep(11)  # the dispatch deadline passes while everything is down

    proc, dev2 = await start_dev(data_dir)
    try:
        assert dev2["control_room"] == dev["control_room"]
        assert dev2["users"] == dev["users"]
        visitor.api = dev2["api"]
        await visitor.wait_status("contact", timeout=60)  # the pending deadline still fired
        await visitor.poll(timeout=0)
        bodies = [e.get("body") for e in visitor.events]
        assert bodies.count("bewaard over een herstart heen") == 1
    finally:
        await visitor.close()
        stop_dev(proc)
    assert os.path.exists(data_dir / "laura.db")


async def test_crash_restart_second_run_and_kill_9(tmp_path: Path) -> None:
    """The demo's life off the happy path, on one data directory (each start of the demo
    costs a Synapse): a crashed run's Synapse is stopped by the next; stopped and started
    again at once, it comes back on the same addresses with the visitor's token still valid;
    a second `laura dev` there is refused and changes nothing; `kill -9` takes Synapse along."""
    data_dir = tmp_path / "demo"
    data_dir.mkdir()
    visitor: Visitor | None = None
    try:
        # A crash where nothing takes Synapse along (as on a system without a parent-death
        # signal): kill -9 with the death signal switched off.
        crashed, _ = await start_dev(data_dir, env={**os.environ, NO_DEATH_SIGNAL_ENV: "1"})
        stale = synapse_pid(data_dir)
        crashed.kill()
        crashed.wait(10)
        await asyncio.sleep(2)
        assert running(stale), "the simulated crash should leave Synapse running"

        proc, dev = await start_dev(data_dir)
        assert not running(stale)
        assert f"Stopped Synapse (pid {stale})" in (tmp_path / "dev.log").read_text()
        assert synapse_pid(data_dir) != stale
        await check_working(dev)
        visitor = Visitor(dev["api"])
        await visitor.start(name="Terug", topic=dev["departments"][0]["id"])
        stop_dev(proc)
        assert not (data_dir / "synapse" / PID_FILE).exists(), "pid file left after clean stop"

        # Started again at once: the same ports (the ones bookmarked, and the widget's stored
        # chat belongs to that origin), though the old sockets may linger; the token works.
        proc, dev2 = await start_dev(data_dir)
        for key in ("homeserver", "widget_url", "api"):
            assert dev2[key] == dev[key], key
        # The token works; the chat still waits (or, on a slow machine past the demo's
        # 2-minute dispatch timeout, asks for contact details).
        assert (await visitor.state())["status"] in ("waiting", "contact")

        # A second `laura dev` on the same data directory: refused, naming the first.
        files = {
            name: (data_dir / name).read_bytes()
            for name in ("dev.json", "dev-state.json", "config.yaml")
        }
        second = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "laura_bot", "dev", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        async with asyncio.timeout(60):
            _, err = await second.communicate()
        message = err.decode()
        assert second.returncode == 3, message
        assert str(data_dir) in message, message
        assert f"pid {proc.pid}" in message, message
        assert "--data-dir" in message, message
        # The first one is untouched and keeps working.
        assert proc.poll() is None
        for name, content in files.items():
            assert (data_dir / name).read_bytes() == content, name
        await check_working(dev2)

        # kill -9: Synapse goes with it (the parent-death signal), and its port is free.
        pid = synapse_pid(data_dir)
        port = int(dev2["homeserver"].rsplit(":", 1)[1])
        assert running(pid) and not port_is_free(port)
        proc.kill()
        proc.wait(10)
        await eventually(lambda: not running(pid), 10, f"Synapse {pid} outlived kill -9")
        await eventually(lambda: port_is_free(port), 5, f"port {port} still taken")
    finally:
        if visitor:
            await visitor.close()
        kill_everything_in(data_dir)


def test_synapse_database_setting(tmp_path: Path) -> None:
    """The throwaway Synapse keeps SQLite in its data dir, or (the benchmark's --synapse-db)
    uses a PostgreSQL database given as a URL, password unquoted."""
    default = Synapse(tmp_path, 8008)._database()
    assert default == {
        "name": "sqlite3",
        "args": {"database": str(tmp_path.resolve() / "homeserver.db")},
    }
    pg = Synapse(tmp_path, 8008, database="postgres://syn:p%40ss@db.example:5433/synapse")
    assert pg._database() == {
        "name": "psycopg2",
        "args": {
            "host": "db.example",
            "port": 5433,
            "user": "syn",
            "password": "p@ss",
            "database": "synapse",
            "cp_min": 5,
            "cp_max": 10,
        },
    }


def test_synapse_extra_settings_win(tmp_path: Path) -> None:
    """`extra` (the benchmark's --synapse-set and its workers) sets top-level keys of
    homeserver.yaml over the throwaway Synapse's own; the rest stays as it was."""
    plain = Synapse(tmp_path / "plain", 8008)
    plain.prepare()
    before = json.loads(plain.config_path.read_text())
    tuned = Synapse(tmp_path / "tuned", 8008, extra={"presence": {"enabled": False}, "x": 1})
    tuned.prepare()
    after = json.loads(tuned.config_path.read_text())
    assert before["presence"] == {"enabled": True}
    assert after["presence"] == {"enabled": False} and after["x"] == 1
    assert after["listeners"] == before["listeners"]
