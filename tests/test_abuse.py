"""Abuse controls: rate limits per address and per chat, and the cap on waiting chats per
address, so a script can neither flood the staff's rooms nor push real visitors down the queue."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from laura_bot.db.base import transaction
from laura_bot.dev.demo import write_laura_config
from laura_bot.errors import ConfigError
from laura_bot.web import api as web_api
from tests.conftest import ON_POSTGRES, ON_SQLITE, LauraHandle
from tests.helpers import Visitor

pytestmark = pytest.mark.synapse


def assert_refused(status: int, headers: Any, body: Any, code: str = "rate_limited") -> int:
    """A 429 in the JSON error shape with a Retry-After of whole seconds; those seconds."""
    assert status == 429, (status, body)
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and len(body["error"]["message"]) > 10
    assert re.fullmatch(r"[1-9][0-9]*", headers.get("Retry-After", "")), dict(headers)
    return int(headers["Retry-After"])


async def post(
    http: aiohttp.ClientSession, url: str, payload: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    async with http.post(url, json=payload, headers=headers or {}) as resp:
        return resp.status, resp.headers, await resp.json(content_type=None)


async def test_burst_of_new_chats_from_one_address(laura_handle: LauraHandle) -> None:
    """The default of 30 new chats per 10 minutes per address; X-Forwarded-For is ignored when
    no proxy is configured (each request claims another address here)."""
    async with aiohttp.ClientSession() as http:
        results = await asyncio.gather(
            *(
                post(
                    http,
                    f"{laura_handle.api}/sessions",
                    {},
                    {"X-Forwarded-For": f"198.51.100.{i}"},
                )
                for i in range(45)
            )
        )
    created = [r for r in results if r[0] == 201]
    refused = [r for r in results if r[0] != 201]
    assert len(created) == 30 and len(refused) == 15, sorted(r[0] for r in results)
    for status, headers, body in refused:
        assert 1 <= assert_refused(status, headers, body) <= 600


async def test_flood_of_contact_requests_is_cut_off(laura_handle: LauraHandle) -> None:
    """By default one address may leave 10 contact requests an hour (and one chat may try 10
    times in 10 minutes): a script cannot fill the staff's contact room."""
    laura = laura_handle.laura
    assert laura
    statuses = []
    visitors = [Visitor(laura_handle.api) for _ in range(14)]
    try:
        for v in visitors:
            await v.start(topic="huisarts")
            status, body = await v.call(
                "POST",
                f"/sessions/{v.session_id}/contact-request",
                {"phone": "0612345678", "message": "flood"},
            )
            statuses.append(status)
            if status == 429:
                async with v.http.post(
                    f"{v.api}/sessions/{v.session_id}/contact-request",
                    json={"phone": "0612345678"},
                    headers=v.auth,
                ) as resp:
                    assert_refused(resp.status, resp.headers, await resp.json())
        assert statuses == [201] * 10 + [429] * 4
        assert await laura.db.fetchval("SELECT COUNT(*) FROM contact_request") == 10
    finally:
        for v in visitors:
            await v.close()


@pytest.mark.laura_config({"web.trusted_proxies": ["127.0.0.1"]})
async def test_contact_retries_per_chat(laura_handle: LauraHandle) -> None:
    v = Visitor(laura_handle.api, headers={"X-Forwarded-For": "192.0.2.50"})
    try:
        await v.start(topic="huisarts")
        path = f"/sessions/{v.session_id}/contact-request"
        for _ in range(10):
            status, body = await v.call("POST", path, {"phone": "abc"})
            assert status == 400 and body["error"]["code"] == "bad_phone", body
        async with v.http.post(f"{v.api}{path}", json={"phone": "abc"}, headers=v.auth) as r:
            assert_refused(r.status, r.headers, await r.json())
    finally:
        await v.close()


@pytest.mark.laura_config({"web.trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]})
async def test_waiting_cap_keeps_the_queue_fair(laura_handle: LauraHandle) -> None:
    laura = laura_handle.laura
    assert laura
    cap = laura.config["web.max_waiting_per_address"]
    assert cap == 5
    # The script's requests pass two proxies; the left-most address is its own lie.
    script_headers = {"X-Forwarded-For": "1.2.3.4, 203.0.113.66, 10.1.2.3"}
    script = [Visitor(laura_handle.api, headers=script_headers) for _ in range(12)]
    real = Visitor(laura_handle.api, headers={"X-Forwarded-For": "198.51.100.7"})
    try:
        results = []
        for v in script:
            await v.start(topic=None)
            async with v.http.post(
                f"{v.api}/sessions/{v.session_id}/topic",
                json={"topic_id": "huisarts"},
                headers=v.auth,
            ) as resp:
                results.append((resp.status, resp.headers, await resp.json()))
        assert [r[0] for r in results] == [200] * cap + [429] * (12 - cap)
        for status, headers, body in results[cap:]:
            assert_refused(status, headers, body, code="too_many_waiting")
            assert "waiting" in body["error"]["message"]
        # Refused chats were not queued: they can still choose a topic later.
        assert (await script[-1].state())["status"] == "choosing"
        await real.start(topic="huisarts")
        state = await real.state()
        assert state["status"] == "waiting" and state["queue_position"] <= cap + 1
        # Only a keyed hash of the address is stored, the same for the same address.
        sessions = [await laura.store.sessions.get_by_id(v.session_id) for v in [*script, real]]
        keys = {s.client_key for s in sessions[:-1] if s}
        real_key = sessions[-1].client_key if sessions[-1] else None
        assert len(keys) == 1 and real_key and real_key not in keys
        (key,) = keys
        assert key and re.fullmatch(r"[0-9a-f]{64}", key)
        assert "203.0.113.66" not in key
        secret = await laura.store.settings.get("secret.client_key")
        assert secret and re.fullmatch(r"[0-9a-f]{64}", secret)
        # When a waiting chat ends, one more from that address may wait.
        await script[0].call("POST", f"/sessions/{script[0].session_id}/end", expect=200)
        await script[-1].topic("huisarts")
    finally:
        for v in [*script, real]:
            await v.close()


@pytest.mark.laura_config({"web.trusted_proxies": ["127.0.0.1"]})
async def test_waiting_cap_decided_by_the_database_under_a_race(
    laura_handle: LauraHandle,
) -> None:
    script = [
        Visitor(laura_handle.api, headers={"X-Forwarded-For": "203.0.113.99"}) for _ in range(10)
    ]
    try:
        for v in script:
            await v.start(topic=None)
        statuses = await asyncio.gather(
            *(
                v.call("POST", f"/sessions/{v.session_id}/topic", {"topic_id": "thuiszorg"})
                for v in script
            )
        )
        assert sorted(s for s, _ in statuses) == [200] * 5 + [429] * 5
    finally:
        for v in script:
            await v.close()


@ON_SQLITE
async def test_messages_above_the_per_chat_limit(laura_handle: LauraHandle) -> None:
    """Default 60 messages a minute per chat: a burst of 66 gets 60 in, 6 refused, and the
    event stream has every accepted message exactly once and no refused one."""
    v = Visitor(laura_handle.api)
    try:
        await v.start(topic="huisarts")
        path = f"/sessions/{v.session_id}/messages"

        async def send(i: int) -> tuple[str, int]:
            status, _ = await v.call("POST", path, {"body": f"m{i}", "client_txn_id": f"t{i}"})
            return f"m{i}", status

        results = await asyncio.gather(*(send(i) for i in range(66)))
        accepted = {body for body, status in results if status == 201}
        refused = {body for body, status in results if status == 429}
        assert len(accepted) == 60 and len(refused) == 6, results
        await v.poll(timeout=0)
        bodies = [e["body"] for e in v.events if e.get("sender") == "visitor"]
        assert sorted(bodies) == sorted(accepted)
    finally:
        await v.close()


@pytest.mark.laura_config({"web.rate_limits.messages.per_session": "3/4 seconds"})
@ON_POSTGRES
async def test_refused_message_goes_through_after_retry_after(laura_handle: LauraHandle) -> None:
    v = Visitor(laura_handle.api)
    try:
        await v.start(topic=None)
        path = f"/sessions/{v.session_id}/messages"
        sent: dict[str, int] = {}
        waits = []
        for i in range(5):
            async with v.http.post(
                f"{v.api}{path}", json={"body": f"m{i}", "client_txn_id": f"t{i}"}, headers=v.auth
            ) as resp:
                body = await resp.json()
                if resp.status == 201:
                    sent[f"t{i}"] = body["seq"]
                else:
                    waits.append(assert_refused(resp.status, resp.headers, body))
        assert len(sent) == 3 and len(waits) == 2 and max(waits) <= 4
        await asyncio.sleep(max(waits))
        for i in (3, 4):  # the visitor's widget retries with the same client_txn_id, as
            for _ in range(5):  # often as it is told to wait (m1 and m2 leave the window too)
                async with v.http.post(
                    f"{v.api}{path}",
                    json={"body": f"m{i}", "client_txn_id": f"t{i}"},
                    headers=v.auth,
                ) as resp:
                    body = await resp.json()
                    if resp.status == 201:
                        sent[f"t{i}"] = body["seq"]
                        break
                    await asyncio.sleep(assert_refused(resp.status, resp.headers, body))
            assert f"t{i}" in sent, i
        assert await v.say("m0", txn="t0") == sent["t0"]  # a retry of an accepted one: no new
        await v.poll(timeout=0)
        bodies = [e["body"] for e in v.events if e.get("sender") == "visitor"]
        assert bodies == [f"m{i}" for i in range(5)]
    finally:
        await v.close()


@pytest.mark.laura_config({"web.rate_limits.messages.per_address": "4/minute"})
async def test_messages_per_address(laura_handle: LauraHandle) -> None:
    a, b = Visitor(laura_handle.api), Visitor(laura_handle.api)
    try:
        await a.start(topic=None)
        await b.start(topic=None)
        for v in (a, b, a, b):
            await v.say("hoi")
        status, body = await a.call(
            "POST",
            f"/sessions/{a.session_id}/messages",
            {"body": "hoi", "client_txn_id": uuid.uuid4().hex},
        )
        assert status == 429 and body["error"]["code"] == "rate_limited"
    finally:
        await a.close()
        await b.close()


@pytest.mark.parametrize(
    "key,value",
    [
        ("web.rate_limits.messages.per_session", "lots"),
        ("web.rate_limits.sessions.per_address", 30),
        ("web.trusted_proxies", ["not-an-ip"]),
        ("web.trusted_proxies", "127.0.0.1"),
        ("web.max_waiting_per_address", -1),
    ],
)
def test_config_names_the_bad_key(tmp_path: Path, key: str, value: object) -> None:
    with pytest.raises(ConfigError) as exc:
        write_laura_config(tmp_path / "config.yaml", {key: value})
    assert f"'{key}'" in str(exc.value)


@ON_SQLITE
async def test_one_chat_holds_at_most_eight_open_polls_and_streams(
    laura_handle: LauraHandle,
) -> None:
    """Tabs, a popped-out window and overlapping reconnects fit; a script holding connections
    open on one token to exhaust memory gets a 429, and the chat works again once they end."""
    visitor = Visitor(laura_handle.api)
    try:
        await visitor.start(name="Veel", topic=None)
        url = f"{laura_handle.api}/sessions/{visitor.session_id}"
        async with aiohttp.ClientSession(headers=visitor.auth) as http:
            held = [
                asyncio.create_task(http.get(f"{url}/events?after=1000&timeout=4"))
                for _ in range(5)
            ]
            streams = [await http.get(f"{url}/stream?after=1000&timeout=4") for _ in range(3)]
            await asyncio.sleep(0.5)  # the polls are held
            for path in ("events?after=1000&timeout=1", "stream?after=1000&timeout=1"):
                async with http.get(f"{url}/{path}") as resp:
                    body = await resp.json()
                    assert_refused(resp.status, resp.headers, body, "too_many_listening")
            # Another chat is not held back by this one.
            other = Visitor(laura_handle.api)
            try:
                await other.start(name="Ander", topic=None)
                status, _ = await other.call(
                    "GET", f"/sessions/{other.session_id}/events?after=0&timeout=0"
                )
                assert status == 200
            finally:
                await other.close()
            for resp in await asyncio.gather(*held):
                assert resp.status == 200
                resp.release()
            for resp in streams:
                resp.close()
            await asyncio.sleep(0.3)
            async with http.get(f"{url}/events?after=0&timeout=0") as resp:
                assert resp.status == 200
    finally:
        await visitor.close()


@pytest.mark.laura_config({"web.max_stream_time": 1})
@ON_POSTGRES
async def test_a_stream_nobody_reads_ends_at_its_time(
    laura_handle: LauraHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that opens an event stream and stops reading (a frozen tab, a script holding
    connections) leaves Laura's write waiting for room in the socket: the stream still ends
    at max_stream_time plus the grace, its connection is cut, and its slot is free again."""
    monkeypatch.setattr(web_api, "STREAM_GRACE", 1.0)
    laura = laura_handle.laura
    assert laura is not None and laura._web_runner is not None
    listening = laura._web_runner.app[web_api.LISTENING_KEY]
    visitor = Visitor(laura_handle.api)
    sock = socket.socket()
    try:
        await visitor.start(name="Stil", topic=None)
        session = await laura.store.sessions.get_by_id(visitor.session_id)
        assert session is not None
        backlog = 5000 * 4000  # far more than the socket buffers on both sides hold
        async with transaction(laura.store.db) as conn:
            for _ in range(5000):
                await laura.store.events.append(
                    conn, session.id, session.conversation_id, "message", sender="staff",
                    name="x", body="x" * 4000,
                )  # fmt: skip
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, ("127.0.0.1", laura_handle.web_port))
        request = (
            f"GET /api/v1/sessions/{session.id}/stream?after=0 HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: {visitor.auth['Authorization']}\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        async with asyncio.timeout(10):
            while session.id not in listening:
                await asyncio.sleep(0.05)
        opened = loop.time()
        async with asyncio.timeout(15):  # without the cut: never
            while session.id in listening:
                await asyncio.sleep(0.1)
        assert loop.time() - opened < 1 + 1 + 3
        received = 0
        with contextlib.suppress(ConnectionResetError):
            async with asyncio.timeout(10):
                while chunk := await loop.sock_recv(sock, 65536):
                    received += len(chunk)
        assert 0 < received < backlog  # it was stuck, and was cut off
        # The chat is not held back: its stream opens and reads as before.
        status, _ = await visitor.call("GET", f"/sessions/{session.id}/events?after=0&timeout=0")
        assert status == 200
    finally:
        sock.close()
        await visitor.close()
