"""Test drivers: staff through matrix-nio (an independent client), visitors through HTTP."""

from __future__ import annotations

import ast
import asyncio
import pickle
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import nio

Pred = Callable[[dict[str, Any]], bool]

# The demo page with the chat on the page itself (laura-widget.js in a shadow root), which the
# chat's own tests use; the demo page at / has the launcher and the chat in an iframe
# (laura.js), which test_widget_frame.py covers.
INLINE = "widget/demo-inline.html"

# Tokens, chat text and contact details the tests send: none may ever reach Laura's log
# (checked over the whole run in conftest.py). Short texts are left out, since words like
# "hallo" may well appear in a log line for other reasons.
SECRETS: set[str] = set()


def secret(text: Any, min_len: int = 10) -> None:
    if isinstance(text, str) and len(text.strip()) >= min_len:
        SECRETS.add(text.strip())


T = TypeVar("T")


async def wait_until(
    find: Callable[[], T | None], refresh: Callable[[], Awaitable[Any]], timeout: float, what: str
) -> T:
    """find() until it gives something, refresh() in between; a time-out fails the test with
    what never came."""
    try:
        async with asyncio.timeout(timeout):
            while (found := find()) is None:
                await refresh()
            return found
    except TimeoutError:
        raise AssertionError(f"never saw {what} within {timeout:g}s") from None


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30) -> None:
    """await check() until it is true; a time-out fails the test with what never came."""
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"never saw {what} within {timeout:g}s") from None


def _bodies(value: Any) -> list[str]:
    """Every text under a "body" key inside a JSON-like value (chat text, however nested)."""
    if isinstance(value, dict):
        own = [v for k, v in value.items() if k == "body" and isinstance(v, str)]
        return own + [s for v in value.values() for s in _bodies(v)]
    if isinstance(value, list):
        return [s for v in value for s in _bodies(v)]
    return []


# (homeserver, user) → (access token, device, sync token) of the last stopped client.
_STAFF_SESSIONS: dict[tuple[str, str], tuple[str, str, str]] = {}


# Synapse gives a room's last 10 events per sync by default and skips the rest ("limited"):
# a busy dispatch room would lose requests to a client that waited for them.
TIMELINE_IN_FULL = {"room": {"timeline": {"limit": 1000}}}


class Staff:
    """A staff member in Element, played by matrix-nio."""

    def __init__(self, homeserver: str, user_id: str, password: str) -> None:
        self.user_id = user_id
        self.password = password
        self.client = nio.AsyncClient(homeserver, user_id)
        self.events: list[dict[str, Any]] = []  # timeline events, each with "room_id"
        self.typing: list[tuple[str, list[str]]] = []  # (room, users typing), as synced
        self.invites: set[str] = set()
        self.stale_invites: set[str] = set()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Staff:
        key = (self.client.homeserver, self.user_id)
        known = _STAFF_SESSIONS.get(key)
        if known:
            # The same Element session as this person's client in an earlier test, picking up
            # where it stopped: a new login and a full sync per test made every test slower
            # than the last (each person collects hundreds of rooms over a run).
            access_token, device_id, self.client.next_batch = known
            self.client.restore_login(self.user_id, device_id, access_token)
            first = await self.client.sync(timeout=0)
            if not isinstance(first, nio.SyncResponse):  # another homeserver on that port since
                del _STAFF_SESSIONS[key]
                self.client = nio.AsyncClient(self.client.homeserver, self.user_id)
                return await self.start()
        else:
            resp = await self.client.login(self.password)
            assert isinstance(resp, nio.LoginResponse), resp
            first = await self.client.sync(timeout=0, full_state=True)
        assert isinstance(first, nio.SyncResponse), first
        # Invites from before this client started (earlier tests) are not this test's.
        self.stale_invites = set(first.rooms.invite)
        self._task = asyncio.create_task(self._sync_loop())
        return self

    async def _sync_loop(self) -> None:
        while True:
            try:
                resp = await self.client.sync(timeout=1000, sync_filter=TIMELINE_IN_FULL)
            except (TimeoutError, aiohttp.ClientError, OSError):
                resp = None  # the homeserver is down (a fault test): try again
            if not isinstance(resp, nio.SyncResponse):
                await asyncio.sleep(0.2)
                continue
            for room_id, room in resp.rooms.join.items():
                for evt in room.timeline.events:
                    self.events.append({**evt.source, "room_id": room_id})
                for edu in room.ephemeral:
                    if isinstance(edu, nio.TypingNoticeEvent):
                        self.typing.append((room_id, list(edu.users)))
            self.invites.update(set(resp.rooms.invite) - self.stale_invites)
            self._changed.set()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.client.access_token and self.client.next_batch:
            _STAFF_SESSIONS[(self.client.homeserver, self.user_id)] = (
                self.client.access_token,
                self.client.device_id,
                self.client.next_batch,
            )
        await self.client.close()

    async def _next_sync(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    async def wait_for(
        self, pred: Pred, timeout: float = 30, what: str = "event"
    ) -> dict[str, Any]:
        return await wait_until(
            lambda: next((e for e in self.events if pred(e)), None),
            self._next_sync,
            timeout,
            f"{what} (as {self.user_id})",
        )

    async def wait_invite(self, room_id: str | None = None, timeout: float = 30) -> str:
        return await wait_until(
            lambda: next((r for r in self.invites if room_id in (None, r)), None),
            self._next_sync,
            timeout,
            f"an invite (as {self.user_id})",
        )

    async def join(self, room_id: str) -> None:
        resp = await self.client.join(room_id)
        assert isinstance(resp, nio.JoinResponse), resp
        self.invites.discard(room_id)

    async def send(self, room_id: str, body: str) -> str:
        if not body.startswith("!"):
            secret(body)
        resp = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": body}, tx_id=uuid.uuid4().hex
        )
        assert isinstance(resp, nio.RoomSendResponse), resp
        return resp.event_id

    async def send_thread(self, room_id: str, root: str, body: str) -> str:
        """A reply in the thread of root, as Element sends it."""
        secret(body)
        content = {
            "msgtype": "m.text",
            "body": body,
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": root},
            },
        }
        txn = uuid.uuid4().hex
        resp = await self.client.room_send(room_id, "m.room.message", content, tx_id=txn)
        assert isinstance(resp, nio.RoomSendResponse), resp
        return resp.event_id

    async def send_raw(self, room_id: str, event_type: str, content: dict[str, Any]) -> str | None:
        """Any content, as a careless or hostile client would send it; None if Synapse refused."""
        for value in _bodies(content):
            secret(value)
        resp = await self.client.room_send(
            room_id, event_type, content, tx_id=uuid.uuid4().hex, ignore_unverified_devices=True
        )
        return resp.event_id if isinstance(resp, nio.RoomSendResponse) else None

    async def wait_typing(
        self, room_id: str, pred: Callable[[list[str]], bool], timeout: float = 30
    ) -> list[str]:
        """Waits until the room's latest typing list (as synced) is one pred accepts."""

        def find() -> list[str] | None:
            latest = next((u for r, u in reversed(self.typing) if r == room_id), [])
            return latest if pred(latest) else None

        return await wait_until(find, self._next_sync, timeout, f"typing in {room_id}")

    async def upload(self, data: bytes, mime: str, name: str) -> str:
        """Upload a file to the homeserver (as Element does before sending it)."""
        resp, _ = await self.client.upload(
            lambda *_: data, content_type=mime, filename=name, filesize=len(data)
        )
        assert isinstance(resp, nio.UploadResponse), resp
        return str(resp.content_uri)

    async def download(self, mxc: str) -> bytes:
        """Authenticated media (Synapse refuses the old unauthenticated path for new media)."""
        server, media_id = mxc.removeprefix("mxc://").split("/", 1)
        url = f"{self.client.homeserver}/_matrix/client/v1/media/download/{server}/{media_id}"
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
            assert resp.status == 200, (resp.status, await resp.text())
            return await resp.read()

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        resp = await self.client.room_send(
            room_id,
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}},
            tx_id=uuid.uuid4().hex,
        )
        assert isinstance(resp, nio.RoomSendResponse), resp
        return resp.event_id

    async def history(self, room_id: str) -> list[dict[str, Any]]:
        """Everything visible in the room, oldest first, as /messages returns it."""
        resp = await self.client.room_messages(room_id, start="", limit=200)
        assert isinstance(resp, nio.RoomMessagesResponse), resp
        return [e.source for e in reversed(resp.chunk)]


async def reply_to(staff: Staff, room: str, event_id: str, what: str) -> str:
    """The body of Laura's notice answering event_id (a command's reply)."""
    reply = await staff.wait_for(
        lambda e: (
            e.get("type") == "m.room.message"
            and e.get("room_id") == room
            and e["content"].get("msgtype") == "m.notice"
            and e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            == event_id
        ),
        what=f"reply to {what}",
    )
    return str(reply["content"]["body"])


def is_msg(
    room_id: str | None = None,
    body_has: str | None = None,
    sender: str | None = None,
    msgtype: str | None = None,
) -> Pred:
    def pred(e: dict[str, Any]) -> bool:
        if e.get("type") != "m.room.message":
            return False
        c = e.get("content", {})
        return (
            (room_id is None or e.get("room_id") == room_id)
            and (body_has is None or body_has in str(c.get("body", "")))
            and (sender is None or e.get("sender") == sender)
            and (msgtype is None or c.get("msgtype") == msgtype)
        )

    return pred


class Visitor:
    """A visitor's browser, speaking widget API v1."""

    def __init__(self, api: str, headers: dict[str, str] | None = None) -> None:
        """headers go with every request (for example X-Forwarded-For behind a proxy)."""
        self.api = api
        self.http = aiohttp.ClientSession(headers=headers)
        self.session_id = ""
        self.token = ""
        self.cursor = 0
        self.events: list[dict[str, Any]] = []

    async def close(self) -> None:
        await self.http.close()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        headers: dict[str, str] | None = None,
        data: Any = None,
        expect: int | None = None,
    ) -> tuple[int, Any]:
        if isinstance(json, dict) and path.endswith(("/messages", "/contact-request")):
            for key in ("body", "phone", "email", "message"):
                secret(json.get(key), min_len=8)
        async with self.http.request(
            method,
            f"{self.api}{path}",
            json=json,
            data=data,
            headers=headers if headers is not None else self.auth,
        ) as resp:
            body = await resp.json(content_type=None)
            if expect is not None:
                assert resp.status == expect, (resp.status, body)
            return resp.status, body

    async def start(
        self, name: str | None = "Piet", topic: str | None = None, **extra: Any
    ) -> Visitor:
        payload = {k: v for k, v in {"name": name, **extra}.items() if v is not None}
        _, body = await self.call("POST", "/sessions", payload, expect=201)
        self.session_id, self.token = body["session_id"], body["token"]
        secret(self.token)
        secret(self.token.split(".", 1)[1])
        if topic:
            await self.topic(topic)
        return self

    async def topic(self, topic_id: str) -> dict[str, Any]:
        _, body = await self.call(
            "POST", f"/sessions/{self.session_id}/topic", {"topic_id": topic_id}, expect=200
        )
        return body

    async def say(self, text: str, txn: str | None = None) -> int:
        _, body = await self.call(
            "POST",
            f"/sessions/{self.session_id}/messages",
            {"body": text, "client_txn_id": txn or uuid.uuid4().hex},
            expect=201,
        )
        return int(body["seq"])

    async def state(self) -> dict[str, Any]:
        return (await self.call("GET", f"/sessions/{self.session_id}", expect=200))[1]

    async def poll(self, timeout: float = 5) -> list[dict[str, Any]]:
        _, body = await self.call(
            "GET",
            f"/sessions/{self.session_id}/events?after={self.cursor}&timeout={timeout}",
            expect=200,
        )
        for evt in body["events"]:
            assert evt["seq"] == self.cursor + 1, ("gap or duplicate in seq", evt, self.cursor)
            self.cursor = evt["seq"]
            self.events.append(evt)
        return body["events"]

    async def wait_for(
        self, pred: Pred, timeout: float = 30, what: str = "event"
    ) -> dict[str, Any]:
        return await wait_until(
            lambda: next((e for e in self.events if pred(e)), None),
            lambda: self.poll(timeout=2),
            timeout,
            f"{what} (as the visitor)",
        )

    async def wait_status(self, status: str, timeout: float = 30) -> dict[str, Any]:
        return await self.wait_for(
            lambda e: e["type"] == "status" and e["status"] == status, timeout, f"status {status}"
        )


class CuttableLink:
    """A TCP proxy in front of a local port that can cut every connection at once and refuse
    new ones, as when a visitor's network goes away (open streams die mid-way), and
    `stall` to let connections hang without a byte (a network that drops silently)."""

    def __init__(self, port: int, target_port: int) -> None:
        self.port, self.target_port = port, target_port
        self.down = False
        self.stalled = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    while self.stalled:
                        await asyncio.sleep(0.1)
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.transport.abort()
                self._writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        self.down = True
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.down = False
        self.stalled = False

    async def stop(self) -> None:
        self.cut()
        if self._server:
            self._server.close()
            await self._server.wait_closed()


async def start_in_widget(chat: Any, name: str, text: str, keys: Any = None) -> None:
    """In the widget's start form (open already) of a page or the chat's frame: a chat under
    `name` about huisarts, waiting in the queue, with `text` sent. keys: where the keyboard
    is (the page of a frame)."""
    await chat.fill("input[name=name]", name)
    await chat.click("form.start button[type=submit]")
    await chat.click("button[data-topic=huisarts]")
    await chat.wait_for_selector(".queue:not([hidden])")
    secret(text)
    await chat.fill("textarea[aria-label]", text)
    await (keys or chat).keyboard.press("Enter")
    await chat.wait_for_selector(f".msg.visitor >> text={text}")


def minimal_pdf(comment: bytes = b"", catalog: bytes = b"", objects: list[bytes] = []) -> bytes:  # noqa: B006
    """A small PDF a real parser reads (one empty page, a correct xref): a comment line (a
    canary, say), extra catalog entries and extra objects, numbered from 4 on."""
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << >> >>",
        *objects,
    ]
    out = b"%PDF-1.4\n" + (b"% " + comment + b"\n" if comment else b"")
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        xref,
    )
    return out


_PARSE = (
    "import ast, pickle, sys\n"
    "trees = [ast.parse(open(p, encoding='utf-8').read()) for p in sys.argv[1:]]\n"
    "sys.stdout.buffer.write(pickle.dumps(trees))"
)


def parse_sources(paths: list[Path]) -> dict[Path, ast.Module]:
    """ast.parse of Laura's own source files, in a fresh interpreter: in this one, once Laura
    has caught a RecursionError (the fuzz's deeply nested JSON bodies), CPython 3.11's AST
    builder may fail with "AST constructor recursion depth mismatch"."""
    out = subprocess.run(
        [sys.executable, "-c", _PARSE, *map(str, paths)], check=True, capture_output=True
    ).stdout
    return dict(zip(paths, pickle.loads(out), strict=True))  # our own child
