"""`laura dev` as a user runs it: demo up, dev.json complete, clean stop, state kept."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from laura_bot.dev.synapse import port_is_free
from tests.helpers import Visitor

pytestmark = pytest.mark.synapse


async def start_dev(data_dir: Path, *args: str) -> tuple[subprocess.Popen[bytes], dict]:
    (data_dir / "dev.json").unlink(missing_ok=True)
    log = (data_dir.parent / "dev.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "laura_bot", "dev", "--data-dir", str(data_dir), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    async with asyncio.timeout(180):
        while not (data_dir / "dev.json").exists():
            assert proc.poll() is None, (data_dir.parent / "dev.log").read_text()[-3000:]
            await asyncio.sleep(0.3)
    return proc, json.loads((data_dir / "dev.json").read_text())


def stop_dev(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0


async def test_laura_dev_demo(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    data_dir.mkdir()
    proc, dev = await start_dev(data_dir, "--dispatch-timeout", "6s")
    try:
        for key in (
            "homeserver",
            "widget_url",
            "api",
            "control_room",
            "contact_room",
            "departments",
            "users",
        ):
            assert dev[key], key
        assert len(dev["departments"]) >= 2
        admins = [u for u in dev["users"] if u["role"] == "admin"]
        assert len(admins) == 1
        async with aiohttp.ClientSession() as http:
            async with http.get(dev["widget_url"]) as resp:
                assert resp.status == 200 and "laura-widget.js" in await resp.text()
            for dept in dev["departments"]:
                staff = [u for u in dev["users"] if dept["id"] in u["departments"]]
                assert len(staff) >= 2, dept
                for user in staff + admins:
                    async with http.post(
                        f"{dev['homeserver']}/_matrix/client/v3/login",
                        json={
                            "type": "m.login.password",
                            "password": user["password"],
                            "identifier": {"type": "m.id.user", "user": user["user_id"]},
                        },
                    ) as resp:
                        token = (await resp.json())["access_token"]
                    async with http.get(
                        f"{dev['homeserver']}/_matrix/client/v3/joined_rooms",
                        headers={"Authorization": f"Bearer {token}"},
                    ) as resp:
                        joined = (await resp.json())["joined_rooms"]
                    expected = dev["control_room"] if user["role"] == "admin" else dept["room_id"]
                    assert expected in joined, (user["user_id"], dept["id"])
        visitor = Visitor(dev["api"])
        await visitor.start(name="Demo", topic=dev["departments"][0]["id"])
        await visitor.say("bewaard over een herstart heen")
    finally:
        stop_dev(proc)
    hs_port = int(dev["homeserver"].rsplit(":", 1)[1])
    assert port_is_free(hs_port), "Synapse must stop with the demo"
    await asyncio.sleep(7)  # the dispatch deadline passes while everything is down

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
