"""Widget API v1: bad input gets a clear 4xx JSON error, sessions are private."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.conftest import ON_POSTGRES, ON_SQLITE, LauraHandle
from tests.helpers import Visitor

pytestmark = pytest.mark.synapse


def assert_error(status: int, body: dict, expected_status: int, code: str | None = None) -> None:
    assert status == expected_status, (status, body)
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str), body
    assert body["error"]["message"] and "Traceback" not in body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body


@ON_SQLITE
async def test_widget_and_openapi(laura_handle: LauraHandle) -> None:
    v = Visitor(laura_handle.api)
    try:
        _, widget = await v.call("GET", "/widget", headers={}, expect=200)
        # Staff were invited to the dispatch rooms but nobody joined: nobody can take a chat.
        assert widget["available"] is False and widget["languages"] == ["nl", "en"]
        assert [t["id"] for t in widget["topics"]] == ["huisarts", "thuiszorg"]
        assert not any(t["available"] for t in widget["topics"])
        assert widget["out_of_office"].startswith("Op dit moment is er niemand")
        # The widget's own texts come from Laura, in the language asked for (else the first).
        assert widget["language"] == "nl" and widget["texts"]["send"] == "Verstuur"
        assert widget["language_names"] == {"nl": "Nederlands", "en": "English"}
        _, english = await v.call("GET", "/widget?lang=pl-PL,en-GB,nl", headers={}, expect=200)
        assert english["language"] == "en" and english["texts"]["send"] == "Send"
        assert english["out_of_office"].startswith("Nobody is available")
        _, doc = await v.call("GET", "/openapi.json", headers={}, expect=200)
        assert doc["openapi"].startswith("3.")
        for path in (
            "/api/v1/widget",
            "/api/v1/sessions",
            "/api/v1/sessions/{id}/events",
            "/api/v1/sessions/{id}/contact-request",
            "/api/v1/sessions/{id}/end",
        ):
            assert path in doc["paths"], path
        for path in ("", "/{id}/topic", "/{id}/messages", "/{id}/contact-request"):
            limited = doc["paths"][f"/api/v1/sessions{path}"]["post"]["responses"]["429"]
            if "$ref" in limited:  # a shared answer, in components.responses
                limited = doc["components"]["responses"][limited["$ref"].rsplit("/", 1)[1]]
            assert "Retry-After" in limited["headers"], path
        assert doc["components"]["headers"]["RetryAfter"]["schema"]["type"] == "integer"
    finally:
        await v.close()


async def test_tokens_and_other_sessions(laura_handle: LauraHandle) -> None:
    a, b = Visitor(laura_handle.api), Visitor(laura_handle.api)
    try:
        await a.start()
        await b.start()
        path = f"/sessions/{a.session_id}"
        assert len(a.token.split(".", 1)[1]) >= 43  # ≥ 256 bits of randomness
        for headers, code in (
            ({}, "missing_token"),
            ({"Authorization": "Bearer "}, None),
            ({"Authorization": "Basic abc"}, "missing_token"),
            ({"Authorization": f"Bearer {a.token}x"}, "invalid_token"),
            ({"Authorization": f"Bearer {a.session_id}.wrong"}, "invalid_token"),
        ):
            status, body = await a.call("GET", path, headers=headers)
            assert_error(status, body, 401, code)
        # B's token on A's session, and an unknown session: the same 404.
        for sid in (a.session_id, "0" * 24):
            for method, sub, payload in (
                ("GET", "", None),
                ("GET", "/events", None),
                ("POST", "/messages", {"body": "x", "client_txn_id": "1"}),
                ("POST", "/topic", {"topic_id": "huisarts"}),
                ("POST", "/contact-request", {"phone": "0612345678"}),
                ("POST", "/end", None),
            ):
                status, body = await b.call(method, f"/sessions/{sid}{sub}", payload)
                assert_error(status, body, 404, "session_not_found")
        # Nothing happened to A.
        assert (await a.state())["status"] == "choosing"
    finally:
        await a.close()
        await b.close()


async def test_bad_inputs(laura_handle: LauraHandle) -> None:
    v = Visitor(laura_handle.api)
    try:
        for payload, code in (
            ({"name": 5}, "bad_name"),
            ({"language": "fr"}, "bad_language"),
            ({"email": "geen-adres"}, "bad_email"),
            ({"name": "x" * 500}, "bad_name"),
        ):
            status, body = await v.call("POST", "/sessions", payload, headers={})
            assert_error(status, body, 400, code)
        for raw, code in (
            (b"{not json", "invalid_json"),
            (b"[1,2]", "invalid_json"),
            (b"\xff\xfe", "invalid_json"),
            (b"[" * 100000, "too_large"),
        ):
            status, body = await v.call("POST", "/sessions", data=raw, headers={})
            assert_error(status, body, 400 if len(raw) < 65536 else 413, code)
        await v.start(topic=None)
        sid = v.session_id
        cases = [
            ("/topic", {"topic_id": "bestaat-niet"}, 400, "unknown_topic"),
            ("/topic", {"topic_id": {"$regex": ".*"}}, 400, "bad_topic"),
            ("/topic", {}, 400, "bad_topic"),
            ("/messages", {"body": "hoi"}, 400, "bad_client_txn_id"),
            ("/messages", {"body": ["hoi"], "client_txn_id": "1"}, 400, "bad_body"),
            ("/messages", {"body": "   ", "client_txn_id": "1"}, 400, "bad_body"),
            ("/messages", {"body": "x" * 5000, "client_txn_id": "1"}, 413, "message_too_long"),
            ("/messages", {"body": "hoi", "client_txn_id": "x" * 65}, 400, "bad_client_txn_id"),
            ("/messages", None, 400, "missing_body"),
            (
                "/contact-request",
                {"phone": "0612345678", "topic_id": "bestaat-niet"},
                400,
                "unknown_topic",
            ),
        ]
        for sub, payload, status_expected, code in cases:
            status, body = await v.call("POST", f"/sessions/{sid}{sub}", payload)
            assert_error(status, body, status_expected, code)
        status, body = await v.call(
            "POST",
            f"/sessions/{sid}/messages",
            data=json.dumps({"body": "x" * 70000, "client_txn_id": "big"}),
            headers={**v.auth, "Content-Type": "application/json"},
        )
        assert_error(status, body, 413)
        for query in ("after=-1", "after=abc", "timeout=x", "timeout=-5"):
            status, body = await v.call("GET", f"/sessions/{sid}/events?{query}")
            assert_error(status, body, 400, "bad_query")
        await v.topic("huisarts")
        status, body = await v.call("POST", f"/sessions/{sid}/topic", {"topic_id": "huisarts"})
        assert_error(status, body, 409, "topic_already_chosen")
        for payload, code in (
            ({"phone": "abc"}, "bad_phone"),
            ({"email": "a@b"}, "bad_email"),
            ({"phone": 612345678}, "bad_phone"),
            ({}, "contact_required"),
        ):
            status, body = await v.call("POST", f"/sessions/{sid}/contact-request", payload)
            assert_error(status, body, 400, code)
        status, body = await v.call("GET", "/nothing-here")
        assert_error(status, body, 404)
        status, body = await v.call("PUT", f"/sessions/{sid}")
        assert_error(status, body, 405)
        # After all that, the session still works and nothing was half-stored.
        assert await v.say("Nog steeds hier") > 0
        await v.poll(timeout=0)
        assert [e["body"] for e in v.events if e.get("sender") == "visitor"] == ["Nog steeds hier"]
        # Contact details after the chat ended: refused, with the reason.
        await v.call("POST", f"/sessions/{sid}/end", expect=200)
        status, body = await v.call(
            "POST", f"/sessions/{sid}/contact-request", {"phone": "0612345678"}
        )
        assert_error(status, body, 409, "contact_not_possible")
    finally:
        await v.close()


@ON_POSTGRES
async def test_long_poll_answers_when_something_arrives(laura_handle: LauraHandle) -> None:
    import asyncio
    import time

    v = Visitor(laura_handle.api)
    try:
        await v.start(topic=None)
        await v.poll(timeout=0)
        start = time.monotonic()
        poll = asyncio.create_task(v.poll(timeout=20))
        await asyncio.sleep(0.5)
        await v.call(
            "POST", f"/sessions/{v.session_id}/topic", {"topic_id": "huisarts"}, expect=200
        )
        events = await poll
        assert time.monotonic() - start < 10
        assert any(e["type"] == "status" and e["status"] == "waiting" for e in events)
    finally:
        await v.close()


async def read_stream(
    v: Visitor, after: int | str, until: Any, timeout: float = 20, **headers: str
) -> list[dict[str, Any]]:
    """The data of each Server-Sent Event on the visitor's stream until until(datas) holds
    (or the stream ends), with the ids checked against each data's next."""
    import asyncio

    datas: list[dict[str, Any]] = []
    query = f"?after={after}" if after != "" else ""
    async with asyncio.timeout(timeout):
        async with v.http.get(
            f"{v.api}/sessions/{v.session_id}/stream{query}", headers={**v.auth, **headers}
        ) as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            assert resp.headers["Cache-Control"] == "no-store"
            event_id = None
            async for raw in resp.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("data: "):
                    datas.append(json.loads(line[6:]))
                    assert datas[-1]["next"] == event_id, (line, event_id)
                    if until(datas):
                        break
    return datas


async def test_event_stream_pushes_in_order_and_resumes(laura_handle: LauraHandle) -> None:
    """The widget's push transport: the first event at once (even with nothing new), then each
    new event as it comes, the queue's rounds handed over without a gap; a reconnect from the
    last id (Last-Event-ID) goes on where it was; the stream ends after its timeout."""
    import asyncio
    import time

    first, second = Visitor(laura_handle.api), Visitor(laura_handle.api)
    try:
        await first.start(topic="huisarts")
        await second.start(topic=None)
        opened = await read_stream(second, 0, lambda d: True)
        assert len(opened) == 1 and opened[0]["next"] == len(opened[0]["events"])
        cursor = opened[0]["next"]

        async def choose_then_first_leaves() -> None:
            await asyncio.sleep(0.5)
            await second.topic("huisarts")
            await second_heard(2)
            await first.call("POST", f"/sessions/{first.session_id}/end", {}, expect=200)

        heard: list[int] = []

        async def second_heard(place: int) -> None:
            while place not in heard:
                await asyncio.sleep(0.05)

        def places(datas: list[dict[str, Any]]) -> bool:
            heard[:] = [e["position"] for d in datas for e in d["events"] if e["type"] == "queue"]
            return 1 in heard

        start = time.monotonic()
        mover = asyncio.create_task(choose_then_first_leaves())
        datas = await read_stream(second, cursor, places)
        await mover
        assert time.monotonic() - start < 15
        seqs = [e["seq"] for d in datas for e in d["events"]]
        assert seqs == list(range(cursor + 1, cursor + 1 + len(seqs))), seqs
        assert heard == [2, 1]
        # What the stream sent is exactly what the long poll has, in the same order.
        await second.poll(timeout=0)
        assert [e for e in second.events if e["seq"] > cursor] == [
            e for d in datas for e in d["events"]
        ]
        # A reconnect with Last-Event-ID (no after) resumes after it: nothing twice.
        last = datas[-1]["next"]
        resumed = await read_stream(second, "", lambda d: True, **{"Last-Event-ID": str(last)})
        assert resumed == [{"events": [], "next": last}]
        # The stream ends by itself after its timeout.
        start = time.monotonic()
        ended = await read_stream(second, f"{last}&timeout=1", lambda d: False)
        assert ended == [{"events": [], "next": last}] and time.monotonic() - start < 5
        # Bad cursors and missing tokens get the API's JSON errors, not a stream.
        for query, code in (("?after=-1", "bad_query"), ("?after=1&timeout=x", "bad_query")):
            status, body = await second.call("GET", f"/sessions/{second.session_id}/stream{query}")
            assert_error(status, body, 400, code)
        status, body = await second.call(
            "GET", f"/sessions/{second.session_id}/stream", headers={}
        )
        assert_error(status, body, 401, "missing_token")
    finally:
        await first.close()
        await second.close()


async def test_appservice_listener_auth_and_dedupe(laura_handle: LauraHandle) -> None:
    env = laura_handle.env
    url = f"http://127.0.0.1:{env.as_port}/_matrix/app/v1/transactions"
    event = {
        "event_id": "$test-dedupe",
        "room_id": "!nowhere",
        "type": "m.room.message",
        "sender": "@anna:localhost",
        "origin_server_ts": 1,
        "content": {"body": "x"},
    }
    laura = laura_handle.laura
    assert laura
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            async with http.put(f"{url}/t1", json={"events": []}, headers=headers) as resp:
                assert resp.status in (401, 403)
        auth = {"Authorization": f"Bearer {env.hs_token}"}
        async with http.put(f"{url}/t1", data=b"{nope", headers=auth) as resp:
            assert resp.status == 400
        # The same event in two transactions (and a replayed txn id) is stored once.
        for txn in ("t2", "t3", "t2"):
            async with http.put(f"{url}/{txn}", json={"events": [event]}, headers=auth) as resp:
                assert resp.status == 200
        assert await laura.store.inbox.count("$test-dedupe") == 1
        # When the database cannot store the events, Synapse is told to retry (not 200).
        original = laura.store.inbox.add_many

        async def broken(events: list) -> None:
            raise RuntimeError("disk full")

        laura.az._persist = broken
        try:
            event2 = {**event, "event_id": "$test-broken"}
            async with http.put(f"{url}/t4", json={"events": [event2]}, headers=auth) as resp:
                assert resp.status == 500
        finally:
            laura.az._persist = original
        async with http.put(f"{url}/t4", json={"events": [event2]}, headers=auth) as resp:
            assert resp.status == 200
        assert await laura.store.inbox.count("$test-broken") == 1
        # The appservice API is not on the public web listener.
        public = f"http://127.0.0.1:{laura_handle.web_port}/_matrix/app/v1/transactions/t9"
        async with http.put(public, json={"events": [event]}, headers=auth) as resp:
            assert resp.status in (404, 405)


async def test_a_message_reaches_the_other_tabs_as_it_is_stored(
    laura_handle: LauraHandle,
) -> None:
    """A visitor's message wakes their other open tabs with the message itself (no read):
    what such a tab gets is exactly what reading the stored events gives."""
    v = Visitor(laura_handle.api)
    try:
        await v.start(name="Tabs", topic=None)
        events = f"/sessions/{v.session_id}/events"
        _, before = await v.call("GET", f"{events}?after=0&timeout=0", expect=200)
        cursor = before["next"]
        other_tab = asyncio.create_task(v.call("GET", f"{events}?after={cursor}&timeout=20"))
        await asyncio.sleep(0.5)  # held
        seq = await v.say("Hallo vanuit één tabblad ✓")
        _, pushed = await other_tab
        _, read = await v.call("GET", f"{events}?after={cursor}&timeout=0", expect=200)
        assert [e["seq"] for e in read["events"]] == [seq]
        assert pushed == read
    finally:
        await v.close()
