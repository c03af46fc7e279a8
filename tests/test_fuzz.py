"""Input fuzz of widget API v1: whatever a client sends, the answer is never a 5xx, every error
has the JSON shape with a message, and aiohttp logs no errors with tracebacks."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import pytest

from tests.conftest import ON_POSTGRES, ON_SQLITE, LauraHandle
from tests.helpers import Visitor

pytestmark = pytest.mark.synapse

# The fuzz creates many chats from one address: the rate limits are not what it is about.
NO_LIMITS = {
    f"web.rate_limits.{action}.{scope}": ""
    for action in ("sessions", "messages", "topic", "contact")
    for scope in ("per_address", "per_session")
} | {"web.max_waiting_per_address": 0}

WRONG_TYPES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    2**53 - 1,
    [],
    ["x"],
    {},
    {"x": "y"},
    "",
    " ",
    "x" * 60_000,
    "é\u200b\U0001f600",
]

# Raw JSON bodies that the json module parses into something no database or client should see.
RAW_BODIES: list[tuple[str, str]] = [
    ('{"name": "\\ud800"}', "invalid_text"),
    ('{"\\udfff": "x"}', "invalid_text"),
    ('{"x": [{"y": ["ok", "\\ud83d"]}]}', "invalid_text"),
    ('{"body": "a\\u0000b", "client_txn_id": "t"}', "invalid_text"),
    ('{"x": ' + "9" * 5000 + "}", "bad_number"),
    ('{"x": -' + "9" * 5000 + "}", "bad_number"),
    ('{"x": 18446744073709551616}', "bad_number"),
    ('{"x": 1e999}', "bad_number"),
    ('{"x": -1e999}', "bad_number"),
    ('{"x": 1' + "0" * 400 + ".5}", "bad_number"),
    ('{"x": NaN}', "bad_number"),
    ('{"x": Infinity}', "bad_number"),
    ('{"x": -Infinity}', "bad_number"),
    ('{"x": ' + "[" * 5000 + "]" * 5000 + "}", "invalid_json"),
    ('{"a": ' * 3000 + "1" + "}" * 3000, "invalid_json"),
    ('"just a string"', "invalid_json"),
    ("null", "invalid_json"),
    ("\ufeff{}", "invalid_json"),
]

FIELDS = {
    "/topic": ({"topic_id": "huisarts"}, ["topic_id"]),
    "/messages": ({"body": "hoi", "client_txn_id": "t"}, ["body", "client_txn_id"]),
    "/contact-request": ({"phone": "0612345678"}, ["name", "phone", "email", "message"]),
    "/end": ({}, ["reason"]),
    "/wait": ({}, ["x"]),
}


def assert_shape(status: int, body: Any, context: object) -> None:
    assert status < 500, (status, body, context)
    if status >= 400:
        assert isinstance(body, dict) and set(body) == {"error"}, (status, body, context)
        error = body["error"]
        assert isinstance(error.get("code"), str) and error["code"], (body, context)
        assert isinstance(error.get("message"), str) and error["message"], (body, context)
        assert "Traceback" not in error["message"]


def assert_no_error_logs(caplog: pytest.LogCaptureFixture) -> None:
    bad = [
        (r.name, r.levelname, r.getMessage()[:200])
        for r in caplog.records
        if r.levelno >= logging.ERROR or (r.name.startswith("aiohttp") and r.exc_info)
    ]
    assert not bad, bad


async def raw_http(port: int, data: bytes, then: bytes = b"") -> tuple[int, dict[str, str], Any]:
    """Send bytes over a plain socket (and `then` a moment later, in a packet of its own); the
    status, headers and JSON body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if then:
            await asyncio.sleep(0.2)
            writer.write(then)
            await writer.drain()
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
    finally:
        writer.close()
    return status, headers, json.loads(body) if body else None


@pytest.mark.laura_config(NO_LIMITS)
@ON_POSTGRES
async def test_every_field_with_wrong_types(
    laura_handle: LauraHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    v = Visitor(laura_handle.api)
    try:
        for field in ("name", "email", "language", "unknown"):
            for value in WRONG_TYPES:
                status, body = await v.call("POST", "/sessions", {field: value}, headers={})
                assert_shape(status, body, ("/sessions", field, value))
        await v.start(topic=None)
        for sub, (base, fields) in FIELDS.items():
            for field in fields:
                for value in WRONG_TYPES:
                    payload = {**base, field: value}
                    if sub == "/messages" and field == "body":
                        payload["client_txn_id"] = uuid.uuid4().hex
                    status, body = await v.call("POST", f"/sessions/{v.session_id}{sub}", payload)
                    assert_shape(status, body, (sub, field, value))
                    if status < 300 and sub in ("/topic", "/contact-request", "/end"):
                        await v.start(topic=None)  # that changed the chat: a fresh one
        # Every JSON value as the whole body, and no body at all.
        for sub in ("", *FIELDS):
            path = f"/sessions/{v.session_id}{sub}" if sub else "/sessions"
            for value in WRONG_TYPES[:12]:
                status, body = await v.call("POST", path, value)
                assert_shape(status, body, (path, value))
            status, body = await v.call("POST", path, data=b"")
            assert_shape(status, body, (path, "empty"))
    finally:
        await v.close()
    assert_no_error_logs(caplog)


@pytest.mark.laura_config(NO_LIMITS)
@ON_SQLITE
async def test_strange_json_text(
    laura_handle: LauraHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    v = Visitor(laura_handle.api)
    try:
        await v.start(topic=None)
        headers = {**v.auth, "Content-Type": "application/json"}
        for sub in ("", *FIELDS):
            path = f"/sessions/{v.session_id}{sub}" if sub else "/sessions"
            for raw, code in RAW_BODIES:
                status, body = await v.call("POST", path, data=raw.encode(), headers=headers)
                assert_shape(status, body, (path, raw[:40]))
                if sub != "/wait":  # the one call that reads no body
                    assert status == 400, (path, raw[:40], body)
                    assert body["error"]["code"] == code, (path, raw[:40], body)
        # A lone surrogate in a field that is otherwise fine is refused before any storing.
        status, body = await v.call(
            "POST",
            f"/sessions/{v.session_id}/messages",
            data=b'{"body": "hoi \\udc80", "client_txn_id": "s1"}',
            headers=headers,
        )
        assert status == 400 and body["error"]["code"] == "invalid_text"
        await v.poll(timeout=0)
        assert not [e for e in v.events if e.get("sender") == "visitor"]
        # Valid text of every plane still goes through, as it should.
        assert await v.say("emoji \U0001f600 en é en \u4e2d") > 0
    finally:
        await v.close()
    assert_no_error_logs(caplog)


async def test_cursors_path_params_and_tokens(
    laura_handle: LauraHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    v = Visitor(laura_handle.api)
    try:
        await v.start(topic=None)
        events = f"/sessions/{v.session_id}/events"
        for query in (
            f"after={2**64}",
            f"after={2**53}",
            "after=1e30",
            "after=1.5",
            "after=%EF%BC%91",  # a full-width digit: int() would take it
            "after=1_000",
            "after=%00",
            "after=%ED%A0%80",
            "after=" + "9" * 5000,
            "timeout=inf",
            "timeout=nan",
            "timeout=1e309",
            "timeout=-0.5",
            "timeout=" + "9" * 5000,
            "after=&timeout=",
        ):
            status, body = await v.call("GET", f"{events}?{query}")
            assert_shape(status, body, query)
            assert status == 400 and body["error"]["code"] == "bad_query", (query, body)
        status, body = await v.call("GET", f"{events}?after={2**53 - 1}&timeout=0")
        assert status == 200 and body == {"events": [], "next": 2**53 - 1}
        # Odd session ids in the path: the normal 404 (with a token) or 401 (without).
        for sid in ("%FF%FE", "%00", "%ED%A0%80", "%C3%A9", "x" * 5000, "%20"):
            for sub in ("", "/events", "/topic", "/messages", "/end"):
                method = "GET" if sub in ("", "/events") else "POST"
                path = f"/sessions/{sid}{sub}"
                status, body = await v.call(method, path, {"topic_id": "huisarts"})
                assert_shape(status, body, path)
                assert status == 404, (path, body)
                status, body = await v.call(method, path, {}, headers={})
                assert_shape(status, body, path)
                assert status == 401, (path, body)
        # Tokens: the scheme is case-insensitive; odd tokens are simply wrong.
        path = f"/sessions/{v.session_id}"
        for scheme in ("bearer", "BEARER", "Bearer", "bEaReR"):
            await v.call("GET", path, headers={"Authorization": f"{scheme} {v.token}"}, expect=200)
        for auth in (
            f"Bearer {v.token}\u00e9",
            f"Bearer {v.session_id}.{'x' * 5000}",
            "Bearer .",
            "Bearer ....",
            "Bearer",
            f"Bearer{v.token}",
            f"Basic {v.token}",
        ):
            status, body = await v.call("GET", path, headers={"Authorization": auth})
            assert_shape(status, body, auth[:30])
            assert status == 401, (auth[:30], body)
        # Bytes that are not UTF-8 in the Authorization header.
        port = laura_handle.web_port
        for token in (b"\xff\xfe.\x80", v.token.encode() + b"\xed\xa0\x80", b"\x00.\x00"):
            status, _, body = await raw_http(
                port,
                b"GET /api/v1" + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer " + token + b"\r\nConnection: close\r\n\r\n",
            )
            assert_shape(status, body, token)
            assert status in (400, 401), (token, body)
    finally:
        await v.close()
    assert_no_error_logs(caplog)


@ON_SQLITE
async def test_aiohttp_protocol_errors_in_our_shape(
    laura_handle: LauraHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = laura_handle.web_port
    long_path = b"/api/v1/sessions/" + b"a" * 20_000
    cases: list[tuple[bytes, str | None]] = [
        (b"GET " + long_path + b" HTTP/1.1\r\nHost: x\r\n\r\n", "request_too_long"),
        (
            b"GET /api/v1/widget HTTP/1.1\r\nHost: x\r\nX-Long: " + b"b" * 20_000 + b"\r\n\r\n",
            "request_too_long",
        ),
        (
            b"GET /api/v1/widget HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + b"SECRETTOKEN" * 2000
            + b"\r\n\r\n",
            "request_too_long",
        ),
        (b"G@T /api/v1/widget HTTP/1.1\r\nHost: x\r\n\r\n", "bad_http_method"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40, None),
        (b"GARBAGE\r\n\r\n", None),
        (b"GET /api/v1/widget HTTP/9.9\r\nHost: x\r\n\r\n", None),
        (b"GET /api/v1/widget HTTP/1.1\r\nBad Header\r\n\r\n", None),
        (b"GET /api/v1/widget HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", None),
        (
            b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"\r\nZZZ\r\n{}\r\n0\r\n\r\n",
            None,
        ),
        (
            b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
            b"Content-Length: 2\r\n\r\n{}",
            None,
        ),
    ]
    for data, code in cases:
        status, headers, body = await raw_http(port, data)
        assert 400 <= status < 500, (data[:60], status, body)
        assert headers.get("content-type", "").startswith("application/json"), (data[:60], headers)
        assert_shape(status, body, data[:60])
        if code:
            assert body["error"]["code"] == code, (data[:60], body)
    # A body that breaks the framing after the handler started reading it.
    v = Visitor(laura_handle.api)
    try:
        await v.start(topic=None)
        head = (
            f"POST /api/v1/sessions/{v.session_id}/messages HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {v.token}\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
        for then in (b"ZZZ\r\n{}\r\n", b"5\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX\r\n"):
            status, headers, body = await raw_http(port, head, then)
            assert 400 <= status < 500, (then, status, body)
            assert_shape(status, body, then)
    finally:
        await v.close()
    # A long URL through an ordinary client as well.
    v = Visitor(laura_handle.api)
    try:
        status, body = await v.call("GET", "/sessions/" + "a" * 20_000, headers={})
        assert_shape(status, body, "long url")
        assert status == 400
    finally:
        await v.close()
    assert_no_error_logs(caplog)
    assert "SECRETTOKEN" not in caplog.text
    # The refusals are logged at INFO, without a traceback.
    ours = [
        r for r in caplog.records if r.name == "laura_bot.web.errors" and "unreadable" in r.message
    ]
    assert ours and all(r.levelno == logging.INFO and not r.exc_info for r in ours)
