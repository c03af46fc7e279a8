"""Fault injection: `kill -9` of Laura, and separately of Synapse, in the middle of a
conversation. After the restarts every message arrives exactly once, in order, on both sides.

These tests get a Synapse of their own, since one of them kills it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from laura_bot.dev.demo import write_laura_config
from laura_bot.dev.synapse import free_port
from tests.conftest import (
    ON_POSTGRES,
    LauraHandle,
    SynapseEnv,
    laura_overrides,
    password,
    start_synapse_env,
)
from tests.helpers import Staff, Visitor, is_msg, wait_until

pytestmark = pytest.mark.synapse

N = 50  # numbered messages each way
KILL_AT = 25


@pytest_asyncio.fixture(scope="module")
async def own_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SynapseEnv]:
    env = await start_synapse_env(tmp_path_factory.mktemp("faults"))
    yield env
    await env.stop()


async def staff_member(env: SynapseEnv, user: str) -> Staff:
    staff = await Staff(env.synapse.url, env.mxid(user), password(user)).start()
    return staff


async def join_invites(staff: Staff) -> None:
    """Join every room Laura invited this staff member to so far (dispatch, contact)."""
    await asyncio.sleep(0.5)
    for room in list(staff.invites | staff.stale_invites):
        await staff.join(room)
    staff.stale_invites.clear()


async def connect(visitor: Visitor, anna: Staff, name: str) -> str:
    await visitor.start(name=name, topic="huisarts")
    dispatch = await anna.wait_for(
        lambda e: (
            is_msg(body_has=f"van {name}", msgtype="m.text")(e)
            and "m.relates_to" not in e["content"]
        ),
        what="dispatch",
    )
    await anna.react(dispatch["room_id"], dispatch["event_id"], "Ik!")
    await visitor.wait_status("connected")
    consult = await anna.wait_invite()
    await anna.join(consult)
    return consult


async def say_until_accepted(visitor: Visitor, text: str, txn: str, timeout: float = 90) -> None:
    """What the widget does: retry the same client_txn_id until Laura answers."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                await visitor.say(text, txn=txn)
                return
            except (aiohttp.ClientError, OSError):
                await asyncio.sleep(0.3)


async def assert_exactly_once_in_order(visitor: Visitor, anna: Staff, consult: str) -> None:
    want_v = [f"bezoeker {i:02d}" for i in range(1, N + 1)]
    want_s = [f"medewerker {i:02d}" for i in range(1, N + 1)]
    await anna.wait_for(is_msg(consult, body_has=want_v[-1]), timeout=120, what=want_v[-1])
    await visitor.wait_for(lambda e: e.get("body") == want_s[-1], timeout=120, what=want_s[-1])
    await asyncio.sleep(1.5)  # anything doubled would show up by now
    history = await anna.history(consult)
    seen_v = [
        e["content"].get("body")
        for e in history
        if e["type"] == "m.room.message" and str(e["content"].get("body")).startswith("bezoeker")
    ]
    assert seen_v == want_v, seen_v
    await visitor.poll(timeout=0)
    seen_s = [e["body"] for e in visitor.events if e.get("sender") == "staff"]
    assert seen_s == want_s, seen_s


def start_laura_process(config_dir: Path) -> subprocess.Popen[bytes]:
    log = (config_dir / "laura.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "laura_bot", "run", "-c", str(config_dir / "config.yaml")],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def wait_for_api(api: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    async with asyncio.timeout(60), aiohttp.ClientSession() as http:
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                async with http.get(f"{api}/widget") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


async def test_kill_laura_mid_conversation(
    own_env: SynapseEnv, db_url: str, tmp_path: Path
) -> None:
    web_port = free_port()
    overrides = laura_overrides(own_env, db_url, web_port) | {"logging.level": "WARNING"}
    write_laura_config(tmp_path / "config.yaml", overrides)
    api = f"http://127.0.0.1:{web_port}/api/v1"
    proc = start_laura_process(tmp_path)
    anna = visitor = None
    try:
        await wait_for_api(api, proc, tmp_path / "laura.log")
        anna = await staff_member(own_env, "anna")
        await join_invites(anna)
        visitor = Visitor(api)
        consult = await connect(visitor, anna, f"Kill{db_url[:6]}")
        for i in range(1, N + 1):
            if i == KILL_AT:
                os.killpg(proc.pid, signal.SIGKILL)  # in the middle of deliveries
                proc.wait(10)
            if KILL_AT <= i < KILL_AT + 5:
                # Laura is down: staff go on talking (Synapse queues it); the visitor's
                # widget cannot reach Laura and keeps retrying below.
                await anna.send(consult, f"medewerker {i:02d}")
                continue
            if i == KILL_AT + 5:
                proc = start_laura_process(tmp_path)
                for j in range(KILL_AT, KILL_AT + 5):
                    await say_until_accepted(visitor, f"bezoeker {j:02d}", f"v{j}")
            await anna.send(consult, f"medewerker {i:02d}")
            await say_until_accepted(visitor, f"bezoeker {i:02d}", f"v{i}")
        await assert_exactly_once_in_order(visitor, anna, consult)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        if anna:
            await anna.stop()
        if visitor:
            await visitor.close()


@ON_POSTGRES
async def test_kill_synapse_mid_conversation(
    own_env: SynapseEnv, db_url: str, tmp_path: Path
) -> None:
    handle = LauraHandle(own_env, db_url, tmp_path)
    laura = await handle.start()
    anna = await staff_member(own_env, "anna")
    visitor = Visitor(handle.api)
    try:
        await join_invites(anna)
        consult = await connect(visitor, anna, f"Crash{db_url[:6]}")
        for i in range(1, N + 1):
            if i == KILL_AT:
                assert own_env.synapse.proc
                os.killpg(own_env.synapse.proc.pid, signal.SIGKILL)
                own_env.synapse.proc.wait(10)
                own_env.synapse.proc = None
            if KILL_AT <= i < KILL_AT + 5:
                # Synapse is down: the visitor's messages are still taken in (stored first).
                await visitor.say(f"bezoeker {i:02d}", txn=f"v{i}")
                continue
            if i == KILL_AT + 5:
                await own_env.synapse.start()
                for j in range(KILL_AT, KILL_AT + 5):
                    await anna.send(consult, f"medewerker {j:02d}")
            await anna.send(consult, f"medewerker {i:02d}")
            await visitor.say(f"bezoeker {i:02d}", txn=f"v{i}")
        await assert_exactly_once_in_order(visitor, anna, consult)
        # A send that was tried before Synapse restarted (so Synapse forgot its txn id) is
        # found in the room instead of being sent again.
        history = await anna.history(consult)
        ev = next(e for e in history if e["content"].get("body") == "bezoeker 01")
        txn = ev["content"]["org.laura.txn_id"]
        session = await laura.store.sessions.get_by_id(visitor.session_id)
        assert session
        # As if its answer had been lost: noted in the ledger, but not confirmed.
        await laura.store.db.execute("UPDATE mx_send SET event_id=NULL WHERE txn_id=$1", txn)
        again = await laura.bridge.sender.send(
            consult, {"msgtype": "m.text", "body": "x"}, txn, laura.bridge.ghost(session)
        )
        assert again == ev["event_id"]
        history = await anna.history(consult)
        assert [e["content"].get("body") for e in history].count("x") == 0
    finally:
        await anna.stop()
        await visitor.close()
        await handle.stop()
        if own_env.synapse.proc is None:
            await own_env.synapse.start()


class LossyLink:
    """Stands between Synapse and Laura's appservice listener and loses whole transactions
    whose events match `lose`, answering Synapse 200: what Synapse does itself when its
    recoverer leaves a transaction unsent (it is in the room, but never pushed)."""

    def __init__(self, port: int, target_port: int) -> None:
        self.port = port
        self.target = f"http://127.0.0.1:{target_port}"
        self.lose: Callable[[dict[str, Any]], bool] = lambda e: False
        self.lost: list[str] = []
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._http = aiohttp.ClientSession()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.path.startswith("/_matrix/app/v1/transactions/"):
            events = json.loads(body).get("events", [])
            if any(self.lose(e) for e in events):
                self.lost.append(request.match_info["tail"])
                return web.json_response({})
        assert self._http
        headers = {
            k: v for k, v in request.headers.items() if k in ("Authorization", "Content-Type")
        }
        async with self._http.request(
            request.method, self.target + request.path_qs, headers=headers, data=body
        ) as resp:
            return web.Response(
                status=resp.status, body=await resp.read(), content_type=resp.content_type
            )

    async def stop(self) -> None:
        if self._http:
            await self._http.close()
        if self._runner:
            await self._runner.cleanup()


async def test_transaction_the_homeserver_never_sent(
    own_env: SynapseEnv, db_url: str, tmp_path: Path
) -> None:
    """A staff message Synapse never pushes (its recoverer's race) still reaches the visitor,
    before the message that came after it; a lost last message is found too."""
    laura_port = free_port()
    link = LossyLink(own_env.as_port, laura_port)
    await link.start()
    handle = LauraHandle(own_env, db_url, tmp_path, {"appservice.port": laura_port})
    await handle.start()
    anna = await staff_member(own_env, "anna")
    visitor = Visitor(handle.api)
    try:
        await join_invites(anna)
        consult = await connect(visitor, anna, f"Lost{db_url[:6]}")

        def lost_text(e: dict[str, Any]) -> bool:
            content = e.get("content")
            return isinstance(content, dict) and str(content.get("body", "")).startswith("kwijt")

        link.lose = lost_text
        await anna.send(consult, "kwijt 1")
        await wait_until(lambda: link.lost or None, lambda: asyncio.sleep(0.05), 10, "a lost txn")
        await anna.send(consult, "na 1")
        await visitor.wait_for(lambda e: e.get("body") == "na 1", timeout=60, what="na 1")
        staff = [e["body"] for e in visitor.events if e.get("sender") == "staff"]
        assert staff == ["kwijt 1", "na 1"], staff

        await anna.send(consult, "kwijt 2")  # the last message: no gap shows it was lost
        await visitor.wait_for(lambda e: e.get("body") == "kwijt 2", timeout=90, what="kwijt 2")
        assert len(link.lost) == 2, link.lost
        staff = [e["body"] for e in visitor.events if e.get("sender") == "staff"]
        assert staff == ["kwijt 1", "na 1", "kwijt 2"], staff
    finally:
        await anna.stop()
        await visitor.close()
        await handle.stop()
        await link.stop()
