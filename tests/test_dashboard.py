"""The team's dashboard (#26), its server side against a real Synapse: the widget in the
rooms, who may see what (OpenID tokens the homeserver issued, checked with the homeserver),
Take racing a simultaneous Ik!, Not now, the status buttons, the figures, and the page's
framing policy. The page itself in Chromium, hosted by matrix-widget-api: test_dashboard_widget.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from laura_bot.dashboard.room import WIDGET_ID

from .conftest import Team
from .helpers import Staff, is_msg, reply_to

pytestmark = [
    pytest.mark.synapse,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
    pytest.mark.laura_config({"dashboard.enabled": True}),
]


async def openid(staff: Staff) -> dict[str, Any]:
    """An OpenID token as the homeserver issues it to a client (what get_openid gives)."""
    client = staff.client
    url = f"{client.homeserver}/_matrix/client/v3/user/{staff.user_id}/openid/request_token"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            url, json={}, headers={"Authorization": f"Bearer {client.access_token}"}
        ) as resp:
            assert resp.status == 200, await resp.text()
            return dict(await resp.json())


class Board:
    """The dashboard's API as the page calls it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession()
        self.token = ""

    async def call(
        self, method: str, path: str, body: Any = None, query: str = ""
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.http.request(
            method, f"{self.base}/api/v1/dashboard{path}{query}", json=body, headers=headers
        ) as resp:
            return resp.status, await resp.json(content_type=None)

    async def login(self, token: dict[str, Any], room: str = "") -> tuple[int, Any]:
        status, body = await self.call("POST", "/session", token, f"?room={room}&lang=en")
        if status == 201:
            self.token = body["token"]
        return status, body

    async def close(self) -> None:
        await self.http.close()


async def test_dashboard_api(team: Team) -> None:
    laura = team.laura
    base = team.handle.api.removesuffix("/api/v1")
    rooms = team.rooms
    anna, bram, carla, admin, outsider = (
        team[u] for u in ("anna", "bram", "carla", "admin", "outsider")
    )
    boards = [Board(base) for _ in range(5)]
    a, b, c, boss, out = boards
    try:
        # The widget is in the dispatch rooms and the control room, pinned.
        for key, member in (("huisarts", anna), ("thuiszorg", carla), ("control", admin)):
            state = await member.client.room_get_state_event(
                rooms[key], "im.vector.modular.widgets", WIDGET_ID
            )
            content = getattr(state, "content", {})
            assert content.get("type") == "m.custom", (key, state)
            assert content["url"].startswith(f"{base}/dashboard?room=$matrix_room_id")

        # Who sees what: the homeserver's word, and the dispatch rooms' members.
        status, body = await a.login(await openid(anna), rooms["huisarts"])
        assert status == 201, body
        assert body["department"] == "huisarts" and not body["lead"]
        assert [d["id"] for d in body["departments"]] == ["huisarts"]
        assert body["texts"] and all(k.startswith("dashboard_") for k in body["texts"])
        status, body = await c.login(await openid(carla), rooms["huisarts"])
        assert (status, body["error"]["code"]) == (403, "not_your_department"), body
        assert (await c.login(await openid(carla), rooms["control"]))[0] == 403
        assert (await c.login(await openid(carla)))[0] == 201
        status, body = await out.login(await openid(outsider))
        assert (status, body["error"]["code"]) == (403, "not_staff"), body
        forged = await openid(bram)
        forged["access_token"] = forged["access_token"][::-1]
        status, body = await b.login(forged)
        assert (status, body["error"]["code"]) == (401, "invalid_openid"), body
        other_server = await openid(bram) | {"matrix_server_name": "elders.example"}
        assert (await b.login(other_server))[0] == 401
        assert (await b.login({"access_token": 5}))[0] == 400
        assert (await b.login(await openid(bram)))[0] == 201
        assert (await boss.login(await openid(admin), rooms["control"]))[0] == 201
        # A colleague of another department sees nothing of this one.
        status, body = await c.call("GET", "/departments/huisarts/state")
        assert (status, body["error"]["code"]) == (403, "not_your_department")
        status, _ = await Board(base).call("GET", "/departments/huisarts/state")
        assert status == 401

        # A visitor arrives: the queue shows them, with the unread message.
        visitor = await team.visitor(name="Greet")
        await visitor.say("Mijn vraag voor het dashboard")
        for _ in range(50):
            status, state = await a.call("GET", "/departments/huisarts/state")
            if state["queue"] and state["queue"][0]["unread"] == 1:
                break
            await asyncio.sleep(0.2)
        assert status == 200
        [waiting] = state["queue"]
        assert waiting["nickname"] == "Greet" and waiting["topic"] == "Huisartsenpraktijk"
        assert {s["user_id"] for s in state["staff"]} >= {anna.user_id, bram.user_id}
        assert state["me"]["user_id"] == anna.user_id

        # Take from the dashboard against Ik! in Element at the same moment: one wins.
        request = await bram.wait_for(
            lambda e: (
                is_msg(rooms["huisarts"], body_has="van Greet", msgtype="m.text")(e)
                and "m.relates_to" not in e["content"]
            )
        )
        taken, _ = await asyncio.gather(
            a.call("POST", f"/chats/{waiting['chat_id']}/take"),
            bram.react(rooms["huisarts"], request["event_id"], "Ik!"),
        )
        conv = await laura.store.conversations.get_by_id(waiting["chat_id"])
        assert conv and conv.taker in (anna.user_id, bram.user_id)
        if conv.taker == anna.user_id:
            assert taken == (200, {"result": "taken"}), taken
            await anna.wait_invite()
        else:
            assert taken[0] == 409 and taken[1]["error"]["code"] in ("already_taken", "too_late")
        await visitor.wait_status("connected")

        # Taken in Element first: Take on the dashboard loses cleanly, naming who has it.
        third = await team.visitor(name="Joke")
        chat_id = await _queued(a, "Joke")
        request = await bram.wait_for(
            lambda e: (
                is_msg(rooms["huisarts"], body_has="van Joke", msgtype="m.text")(e)
                and "m.relates_to" not in e["content"]
            )
        )
        await bram.react(rooms["huisarts"], request["event_id"], "Ik!")
        await third.wait_status("connected")
        status, body = await a.call("POST", f"/chats/{chat_id}/take")
        assert (status, body["error"]["code"]) == (409, "already_taken"), body
        assert "bram" in body["error"]["message"]

        # Not now: the chat is offered to the others; when all decline, it is missed.
        second = await team.visitor(name="Henk")
        chat_id = await _queued(a, "Henk")
        assert await a.call("POST", f"/chats/{chat_id}/decline") == (200, {"result": "declined"})
        assert (await b.call("POST", f"/chats/{chat_id}/decline"))[0] == 200
        await second.wait_status("contact")
        status, body = await a.call("POST", f"/chats/{chat_id}/take")
        assert (status, body["error"]["code"]) == (409, "too_late")
        assert (await c.call("POST", f"/chats/{chat_id}/take"))[0] == 403

        # Own status, as !status does.
        status, body = await a.call("POST", "/status", {"status": "offline"})
        assert status == 200 and body["me"]["status"] == "offline"
        assert (await laura.store.staff_members.get(anna.user_id)).status == "offline"
        assert (await a.call("POST", "/status", {"status": "asleep"}))[0] == 400
        assert (await a.call("POST", "/status", {"status": "online"}))[0] == 200

        # Figures: for leads only.
        assert (await a.call("GET", "/departments/huisarts/figures", query="?days=7"))[0] == 403
        status, body = await boss.call("GET", "/departments/huisarts/figures", query="?days=7")
        assert status == 200 and len(body["days"]) == 7, body
        # Today's (and yesterday's, should midnight have passed since the chats).
        recent = {k: sum(d[k] for d in body["days"][-2:]) for k in ("started", "taken", "missed")}
        assert recent["started"] >= 2 and recent["taken"] >= 1 and recent["missed"] >= 1, body

        # The live stream: the first state at once, the next when a visitor arrives.
        async with a.http.get(
            f"{base}/api/v1/dashboard/departments/huisarts/stream",
            headers={"Authorization": f"Bearer {a.token}"},
        ) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            first = await _next_state(resp)
            arrival = await team.visitor(name="Ineke")
            while True:
                state = await _next_state(resp)
                if any(q["nickname"] == "Ineke" for q in state["queue"]):
                    break
            assert state != first
        await arrival.call("POST", f"/sessions/{arrival.session_id}/end", expect=200)

        # The page: framed only by the listed clients, with a strict policy.
        async with a.http.get(f"{base}/dashboard?room={rooms['huisarts']}") as resp:
            policy = resp.headers["Content-Security-Policy"]
            assert resp.status == 200 and "script-src 'self'" in policy
            assert "frame-ancestors https://app.element.io" in policy
            assert "unsafe-inline" not in policy
        async with a.http.get(f"{base}/widget/dashboard/index.html") as resp:
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]

        # Admins switch it off for one room (and on again).
        asked = await admin.send(rooms["control"], "!dashboard uit huisarts")
        assert "gehaald" in await reply_to(admin, rooms["control"], asked, "!dashboard off")
        state = await anna.client.room_get_state_event(
            rooms["huisarts"], "im.vector.modular.widgets", WIDGET_ID
        )
        assert getattr(state, "content", None) == {}
        assert await laura.dashboard_rooms.is_off(rooms["huisarts"])
        asked = await admin.send(rooms["control"], "!dashboard aan huisarts")
        assert "weer" in await reply_to(admin, rooms["control"], asked, "!dashboard on")
        assert not await laura.dashboard_rooms.is_off(rooms["huisarts"])
    finally:
        for board in boards:
            await board.close()


async def _queued(board: Board, nickname: str) -> str:
    for _ in range(50):
        _, state = await board.call("GET", "/departments/huisarts/state")
        for q in state["queue"]:
            if q["nickname"] == nickname:
                return str(q["chat_id"])
        await asyncio.sleep(0.2)
    raise AssertionError(f"{nickname} never in the queue")


async def _next_state(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    import json

    async with asyncio.timeout(15):
        data = ""
        while True:
            line = (await resp.content.readline()).decode()
            if line.startswith("data: "):
                data = line[6:]
            elif line == "\n" and data:
                return dict(json.loads(data))
