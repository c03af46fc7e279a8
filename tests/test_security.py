"""Security tests for QUALITY.md items 8–14 (issue #9 item 6), for what the other test files do
not cover yet: every call of widget API v1 (typing, video, restart, rating, delete, attachments,
the long poll) against another visitor's chat, token storage and comparison, type confusion on
the later endpoints, markup in every renderer (Matrix, the widget in Chromium, the PDF
transcript), CORS, the appservice paths that are easy to forget, the rooms' power levels (as a
staff member and as a ghost), commands in the wrong room or from the wrong person, and upload
polyglots and rate. The tests at the end (Findings) show defects still open: bidi controls in
names, the missing Origin check, and visitors' PDFs with scripts.

Staff are matrix-nio clients against a real Synapse; visitors speak HTTP (or Chromium)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import re
import time
import uuid
import zipfile
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import aiohttp
import nio
import pytest
from aiohttp import web
from mautrix.types import EventType, RoomID
from PIL import Image
from pypdf import PdfReader

import laura_bot.web.auth as auth_module
from laura_bot.commands import CONSULT, CONTROL, DISPATCH, registry
from laura_bot.dev.synapse import free_port
from laura_bot.matrix.rooms import LOCKED_STATE
from tests.conftest import LauraHandle, Team
from tests.helpers import INLINE, Pred, Staff, Visitor, is_msg, minimal_pdf, reply_to, secret

pytestmark = pytest.mark.synapse
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

PDF = minimal_pdf()
# What a PDF must never hold: links, scripts, actions that run on opening, embedded files.
PDF_ACTIONS = (
    b"/URI",
    b"/Launch",
    b"/JavaScript",
    b"/JS",
    b"/Annots",
    b"/AA",
    b"/GoToR",
    b"/SubmitForm",
    b"/EmbeddedFile",
)
# The widget's shadow root; an empty fragment until the widget has drawn itself (it does once
# Laura has told it its texts), so a wait polls on instead of failing.
ROOT = "(document.querySelector('#laura-chat')?.shadowRoot ?? document.createDocumentFragment())"


def dispatch_for(team: Team, nickname: str) -> Pred:
    """The dispatch message itself (not Laura's later edits of it)."""
    msg = is_msg(team.rooms["huisarts"], body_has=f"van {nickname}", msgtype="m.text")
    return lambda e: msg(e) and "m.relates_to" not in e["content"]


def png(size: int = 16) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def form(data: bytes, name: str, mime: str) -> aiohttp.FormData:
    f = aiohttp.FormData()
    f.add_field("file", data, filename=name, content_type=mime)
    return f


async def upload(visitor: Visitor, data: bytes, name: str, mime: str) -> dict[str, Any]:
    path = f"/sessions/{visitor.session_id}/attachments"
    _, body = await visitor.call("POST", path, data=form(data, name, mime), expect=201)
    return dict(body["attachment"])


async def request(
    visitor: Visitor,
    method: str,
    path: str,
    payload: Any = None,
    headers: dict[str, str] | None = None,
    pdf: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """Any call with this visitor's token (or the headers given): status, headers, raw body.
    A payload "file" is a multipart upload of a small PNG, "pdf" one of the pdf given."""
    data = None
    if payload == "file":
        data = form(png(), "probe.png", "image/png")
    elif payload == "pdf":
        data = form(pdf, "brief.pdf", "application/pdf")
    as_json = None if payload in ("file", "pdf") else payload
    async with visitor.http.request(
        method,
        f"{visitor.api}{path}",
        json=as_json,
        data=data,
        headers=visitor.auth if headers is None else headers,
    ) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def assert_error_shape(status: int, raw: bytes, context: object) -> dict[str, Any]:
    assert 400 <= status < 500, (status, raw[:300], context)
    body = json.loads(raw)
    assert set(body) == {"error"}, (body, context)
    assert isinstance(body["error"]["code"], str) and body["error"]["message"], (body, context)
    return dict(body)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_lauras_own_html(html: str, context: object) -> None:
    """A formatted_body Laura wrote: only her own few tags (bold, line breaks and user pills to
    matrix.to), whatever text of a visitor is inside it."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in ("b", "br", "a"), (tag, attrs, html, context)
        if tag == "a":
            assert len(attrs) == 1 and attrs[0][0] == "href", (attrs, html, context)
            assert (attrs[0][1] or "").startswith("https://matrix.to/#/@"), (attrs, context)
        else:
            assert attrs == [], (tag, attrs, html, context)


def assert_plain_or_own_html(event: dict[str, Any], context: object) -> None:
    content = event.get("content", {})
    if "formatted_body" in content:
        assert content.get("format") == "org.matrix.custom.html", (content, context)
        assert_lauras_own_html(str(content["formatted_body"]), (event.get("event_id"), context))


# -- QUALITY 8: another visitor's chat ---------------------------------------------------------

# Every session call of widget API v1 (the long poll twice: answered at once and waiting).
SESSION_CALLS: list[tuple[str, str, Any]] = [
    ("GET", "", None),
    ("DELETE", "", None),
    ("GET", "/events?after=0&timeout=0", None),
    ("GET", "/events?after=0&timeout=5", None),
    ("POST", "/messages", {"body": "IDOR-probe bericht", "client_txn_id": "idor-1"}),
    ("POST", "/topic", {"topic_id": "thuiszorg"}),
    ("POST", "/contact-request", {"phone": "0612345678", "message": "IDOR-probe contact"}),
    ("POST", "/wait", None),
    ("POST", "/end", None),
    ("POST", "/restart", None),
    ("POST", "/rating", {"stars": 1, "comment": "IDOR-probe beoordeling"}),
    ("POST", "/typing", {"typing": True, "draft": "IDOR-probe typen"}),
    ("GET", "/video", None),
    ("GET", "/transcript.pdf", None),
    ("POST", "/attachments", "file"),
    ("GET", "/attachments/{att}", None),
    ("GET", "/attachments/{att}?thumbnail=1", None),
    ("GET", "/attachments/{att}?download=1", None),
]


@SQLITE
async def test_another_chat_is_one_uniform_404(team: Team) -> None:
    """Visitor A's token on B's chat (its id, its conversation id, a neighbouring id, A's own id
    in upper case, an id that never existed) and on B's files: every call answers the same 404
    with the same body, at once (also the long poll), and nothing happens to B."""
    anna = team["anna"]
    laura = team.laura
    for text in ("IDOR-probe bericht", "IDOR-probe contact", "IDOR-probe beoordeling"):
        secret(text)
    a, _ = await team.connected("Aafke")
    b, b_room = await team.connected("Bart")
    own = await upload(a, png(), "eigen.png", "image/png")
    b_own = await upload(b, png(24), "van-bart.png", "image/png")
    # A file staff sent to B, as the widget receives it.
    mxc = await anna.upload(PDF, "application/pdf", "voor-bart.pdf")
    info = {"mimetype": "application/pdf"}
    await anna.send_raw(
        b_room,
        "m.room.message",
        {"msgtype": "m.file", "body": "voor-bart.pdf", "url": mxc, "info": info},
    )
    from_staff = await b.wait_for(
        lambda e: e.get("sender") == "staff" and bool(e.get("attachment")), what="staff file"
    )
    b_files = [b_own["id"], from_staff["attachment"]["id"]]
    b_state = await b.state()
    before_events = len(b.events)
    b_conv = b_state["conversation_id"]
    neighbour = format(int(b.session_id, 16) + 1, f"0{len(b.session_id)}x")
    targets = [b.session_id, b_conv, neighbour, a.session_id.upper(), "0" * len(b.session_id)]

    answers: dict[tuple[int, bytes], list[str]] = {}
    for target in targets:
        for method, sub, payload in SESSION_CALLS:
            for att in b_files if "{att}" in sub else [""]:
                path = f"/sessions/{target}{sub.replace('{att}', att)}"
                start = time.monotonic()
                status, headers, raw = await request(a, method, path, payload)
                assert time.monotonic() - start < 3, (path, "a 404 must not wait")
                assert headers["Content-Type"].startswith("application/json"), (path, headers)
                answers.setdefault((status, raw), []).append(f"{method} {path}")
    assert len(answers) == 1, {k: v[:3] for k, v in answers.items()}
    ((status, raw),) = answers
    assert status == 404
    assert json.loads(raw)["error"]["code"] == "session_not_found"

    # A's own chat with B's file ids (and ids that never existed): one 404 for all of them.
    status, _, data = await request(a, "GET", f"/sessions/{a.session_id}/attachments/{own['id']}")
    assert status == 200 and data.startswith(b"\x89PNG")
    file_answers: dict[tuple[int, bytes], list[str]] = {}
    for att in [*b_files, "0" * 24, own["id"].upper(), own["id"] + "0"]:
        for query in ("", "?thumbnail=1", "?download=1"):
            path = f"/sessions/{a.session_id}/attachments/{att}{query}"
            status, _, raw = await request(a, "GET", path)
            file_answers.setdefault((status, raw), []).append(path)
    assert len(file_answers) == 1, {k: v[:3] for k, v in file_answers.items()}
    ((status, raw),) = file_answers
    assert status == 404 and json.loads(raw)["error"]["code"] == "attachment_not_found"

    # Nothing reached B's chat, B's staff, or the database.
    await b.say("Bart is er nog")
    await anna.wait_for(is_msg(b_room, body_has="Bart is er nog"), what="B's sentinel")
    assert not [e for e in anna.events if "IDOR-probe" in json.dumps(e)]
    await b.poll(timeout=0)
    assert not [e for e in b.events[before_events:] if "IDOR-probe" in json.dumps(e)]
    after = await b.state()
    assert (after["status"], after["topic"], after["rating"]) == ("connected", "huisarts", None)
    assert after["conversation_id"] == b_conv
    assert await laura.db.fetchval("SELECT COUNT(*) FROM contact_request") == 0
    count = "SELECT COUNT(*) FROM attachment WHERE session_id=$1"
    assert await laura.db.fetchval(count, b.session_id) == 2
    assert (await a.state())["status"] == "connected"


# -- QUALITY 9: tokens -------------------------------------------------------------------------


async def all_text_in_database(handle: LauraHandle) -> str:
    """Every value of every row of every table of Laura's database, as one text."""
    laura = handle.laura
    assert laura
    if handle.db_url.startswith("sqlite"):
        query = "SELECT name FROM sqlite_master WHERE type='table'"
    else:
        query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    tables = [row[0] for row in await laura.db.fetch(query)]
    assert "session" in tables, tables
    parts: list[str] = []
    for table in tables:
        for row in await laura.db.fetch(f'SELECT * FROM "{table}"'):
            parts.extend(repr(row[i]) for i in range(len(row)))
    return "\n".join(parts)


async def test_tokens_random_hashed_and_compared_in_constant_time(
    laura_handle: LauraHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    laura = laura_handle.laura
    assert laura
    visitors = [Visitor(laura_handle.api) for _ in range(6)]
    try:
        for v in visitors:
            await v.start(topic=None)
        secrets_ = []
        for v in visitors:
            session_id, _, key = v.token.partition(".")
            assert session_id == v.session_id and key
            assert set(key) <= set(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            )
            raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
            assert len(raw) * 8 >= 128, len(raw)
            secrets_.append(key)
        assert len(set(secrets_)) == len(visitors)
        # Stored only as a hash: no table holds the token, or even a piece of its secret part.
        stored = await all_text_in_database(laura_handle)
        for v, key in zip(visitors, secrets_, strict=True):
            assert v.token not in stored and key[:12] not in stored
            row = await laura.db.fetchrow(
                "SELECT token_hash FROM session WHERE id=$1", v.session_id
            )
            assert row and row["token_hash"] != v.token and len(row["token_hash"]) >= 64
        # The token travels only in the Authorization header: never taken from the URL, never
        # sent back in a header, and not part of what a session call answers.
        v = visitors[0]
        path = f"/sessions/{v.session_id}"
        for query in (f"access_token={v.token}", f"token={v.token}", f"auth=Bearer%20{v.token}"):
            status, headers, raw = await request(v, "GET", f"{path}?{query}", headers={})
            assert status == 401, (query, raw)
        status, headers, raw = await request(v, "GET", path)
        assert status == 200 and v.token not in raw.decode() and secrets_[0] not in raw.decode()
        assert not any(secrets_[0] in value for value in headers.values())
        async with v.http.post(f"{v.api}/sessions", json={}) as resp:
            assert resp.status == 201
            assert "Set-Cookie" not in resp.headers and "Location" not in resp.headers

        # Constant time: the right token, a wrong one and one of an unknown session are each
        # decided by hmac.compare_digest on two hashes of equal length (no early exit).
        calls: list[tuple[Any, Any]] = []

        def spy(x: Any, y: Any) -> bool:
            calls.append((x, y))
            return hmac.compare_digest(x, y)

        fake = SimpleNamespace(compare_digest=spy, new=hmac.new)
        monkeypatch.setattr(auth_module, "hmac", fake)
        wrong = f"{v.session_id}.{'A' * len(secrets_[0])}"
        unknown = f"{'0' * len(v.session_id)}.{secrets_[0]}"
        for token, expected in ((v.token, 200), (wrong, 401), (unknown, 401)):
            calls.clear()
            status, _, _ = await request(
                v, "GET", path, headers={"Authorization": f"Bearer {token}"}
            )
            assert status == expected, token
            digest = hashlib.sha256(token.encode()).hexdigest()
            hashed = [c for c in calls if digest in c and len(c[0]) == len(c[1])]
            assert hashed, (token, calls)
            assert not [c for c in calls if token in c], "a token compared as it is, not hashed"
    finally:
        for v in visitors:
            await v.close()


# Wrong types for every field of the later endpoints (the first ones are in test_fuzz.py).
CONFUSION: list[Any] = [
    None,
    True,
    0,
    -1,
    6,
    5.5,
    2**53 - 1,
    "5",
    "",
    [5],
    [],
    {},
    {"$regex": ".*"},
    {"$gt": 0},
    {"$ne": None},
    "x" * 30_000,
]


@SQLITE
async def test_type_confusion_and_malformed_bodies_on_later_endpoints(
    laura_handle: LauraHandle,
) -> None:
    v = Visitor(laura_handle.api)
    try:
        await v.start(topic=None)
        base = f"/sessions/{v.session_id}"
        # Uploads that are not a proper multipart form (first: the chat is still open).
        upload_url = f"{v.api}{base}/attachments"
        odd: list[tuple[bytes, str]] = [
            (b"--x\r\n\r\n--x--\r\n", "multipart/form-data"),  # no boundary parameter
            (b"garbage", "multipart/form-data; boundary=zzz"),
            (
                b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n'
                b"x\r\n--b--\r\n",
                "multipart/form-data; boundary=b",
            ),
            (
                b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
                b"\r\n--b--\r\n",
                "multipart/form-data; boundary=b",
            ),
            (b'{"file": {"$regex": ".*"}}', "application/json"),
        ]
        for raw_body, ctype in odd:
            h = {**v.auth, "Content-Type": ctype}
            async with v.http.post(upload_url, data=raw_body, headers=h) as r:
                assert_error_shape(r.status, await r.read(), raw_body[:30])
        long_name = form(png(), "<" + "n" * 5000 + ">\u202e.png", "image/png")
        async with v.http.post(upload_url, data=long_name, headers=v.auth) as r:
            status, raw = r.status, await r.read()
        assert status < 500, raw[:200]
        if status == 201:
            name = json.loads(raw)["attachment"]["name"]
            assert len(name) <= 255 and "\u202e" not in name, name
        # Whole bodies of the wrong kind, oversized, or no JSON at all.
        headers = {**v.auth, "Content-Type": "application/json"}
        for sub in ("/rating", "/typing", "/topic", "/contact-request", "/messages"):
            for raw_body in (
                b"null",
                b"[]",
                b'["$regex"]',
                b'{"$where": "1"',
                b"\xff\xfe{}",
                b"[" * 6000 + b"]" * 6000,
                b'{"stars": 5, "x": "' + b"y" * 70_000 + b'"}',
            ):
                async with v.http.post(f"{v.api}{base}{sub}", data=raw_body, headers=headers) as r:
                    assert_error_shape(r.status, await r.read(), (sub, raw_body[:20]))
                    if len(raw_body) > 65536:
                        assert r.status == 413, (sub, r.status)
        # Every field of the later endpoints with a value of the wrong type.
        cases: list[tuple[str, dict[str, Any]]] = []
        for value in CONFUSION:
            cases += [
                ("/rating", {"stars": value}),
                ("/rating", {"stars": 1, "comment": value}),
                ("/rating", {"stars": 5, "conversation_id": value}),
                ("/typing", {"typing": value}),
                ("/typing", {"typing": True, "draft": value}),
                ("/end", {"reason": value}),
                ("/restart", {"x": value}),
            ]
        for sub, payload in cases:
            status, _, raw = await request(v, "POST", base + sub, payload)
            context = (sub, str(payload)[:60], raw[:200])
            if "draft" in payload:
                valid = payload["draft"] is None or isinstance(payload["draft"], str)
            else:
                valid = isinstance(payload.get("typing"), bool)
            if sub == "/typing" and valid:
                assert status == 200, context  # a draft is any text (cut short by Laura)
            elif sub in ("/end", "/restart"):
                assert status < 300 or assert_error_shape(status, raw, context), context
            else:
                # The chat is not ratable: even a well-typed rating is a 4xx here.
                assert_error_shape(status, raw, context)
            assert status not in (401, 404), context
        assert (await v.state())["session_id"] == v.session_id
    finally:
        await v.close()


# -- QUALITY 10: markup in every renderer --------------------------------------------------------

NAME = "Eva <img src=x onerror=window.pwned=1> {{7*7}}"
NICK = "<img src=x onerror=window.pwned=2>"
CANARY = "http://127.0.0.1:{port}/canary"


def hostile_message(canary: str) -> str:
    return (
        f'<img src=x onerror="window.pwned=3"> <img src="{canary}"> '
        "[klik](javascript:window.pwned=4) {{7*7}} {{constructor.constructor('return 1')()}} "
        "\u202egnp.exe \u200bstil @room @anna:localhost"
    )


async def start_canary() -> tuple[web.AppRunner, list[str], int]:
    """A web server that notes every request: nothing that renders a chat may fetch from it."""
    hits: list[str] = []

    async def note(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=png(), content_type="image/png")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", note)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, hits, port


def from_laura(team: Team, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if team.laura.config.is_own_user(str(e.get("sender")))]


@SQLITE
async def test_markup_is_text_in_matrix_the_widget_and_the_pdf(browser: Any, team: Team) -> None:
    anna, admin = team["anna"], team["admin"]
    huisarts = team.rooms["huisarts"]
    runner, hits, port = await start_canary()
    canary = CANARY.format(port=port)
    message = hostile_message(canary)
    staff_body = f"[klik](javascript:window.pwned=5) <img src={canary}>"
    staff_html = (
        '<a href="javascript:window.pwned=6">klik</a><img src=x onerror="window.pwned=7">'
        f'<img src="{canary}"><script>window.pwned=8</script>'
    )
    file_name = "<img src=x onerror=window.pwned=9>\u202egnp.pdf"
    context = await browser.new_context(viewport={"width": 1000, "height": 760})
    try:
        # Anna's nickname (what the visitor sees) is markup too.
        await reply_to(anna, huisarts, await anna.send(huisarts, f"!nick {NICK}"), "!nick")
        page = await context.new_page()
        errors: list[str] = []
        urls: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: urls.append(r.url))
        await page.goto(f"http://127.0.0.1:{team.handle.web_port}/{INLINE}")
        await page.click("button.launcher")
        await page.fill("input[name=name]", NAME)
        await page.click("form.start button[type=submit]")
        await page.click("button[data-topic=huisarts]")
        dispatch = await anna.wait_for(dispatch_for(team, NAME), what="the dispatch message")
        await anna.react(huisarts, dispatch["event_id"], "Ik!")
        room = await anna.wait_invite()
        await anna.join(room)
        await page.wait_for_function(
            f"() => {ROOT}.querySelector('.sub').textContent.includes('pwned=2')"
        )

        secret(message)
        await page.fill("textarea[aria-label]", message)
        await page.keyboard.press("Enter")
        said = await anna.wait_for(is_msg(room, body_has="[klik](javascript:"), what="the message")
        await page.locator("form.compose input[type=file]").set_input_files(
            files=[
                {
                    "name": file_name.replace(".pdf", ".png"),
                    "mimeType": "image/png",
                    "buffer": png(),
                }
            ]
        )
        photo = await anna.wait_for(is_msg(room, msgtype="m.image"), what="the photo")
        await anna.send_raw(
            room,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": staff_body,
                "format": "org.matrix.custom.html",
                "formatted_body": staff_html,
            },
        )
        mxc = await anna.upload(PDF, "application/pdf", "folder.pdf")
        pdf_info = {"mimetype": "application/pdf"}
        await anna.send_raw(
            room,
            "m.room.message",
            {"msgtype": "m.file", "body": file_name, "url": mxc, "info": pdf_info},
        )

        # Matrix: the visitor's text is the plain body of the ghost's event, as typed but for
        # the bidi override, shown rather than obeyed (issue #22), with no mentions; file names
        # are plain too.
        content = said["content"]
        assert content["body"] == message.replace("\u202e", "⟪U+202E⟫")
        assert content["msgtype"] == "m.text"
        assert "formatted_body" not in content and "format" not in content
        assert content.get("m.mentions") == {}
        # File names are plain text as well, and cannot flip what follows them ("gnp.exe").
        assert "formatted_body" not in photo["content"]
        assert "\u202e" not in photo["content"]["body"]

        # The widget: every payload is text on the screen, and nothing ran or was fetched.
        await page.locator(".msg.staff", has_text="javascript:window.pwned=5").first.wait_for()
        file_button = page.locator(".msg.staff button.file")
        await file_button.wait_for()
        assert "\u202e" not in await file_button.inner_text()
        await page.wait_for_selector(".msg.visitor.attachment img[src^='blob:']")
        shown = await page.evaluate(
            f"() => [...{ROOT}.querySelectorAll('.msg')].map(m => m.textContent).join('\\n')"
        )
        assert message in shown and staff_body in shown, shown
        assert NICK in await page.evaluate(f"() => {ROOT}.querySelector('.sub').textContent")
        bad = await page.evaluate(
            f"""() => {{
              const bad = [];
              for (const r of [document, {ROOT}]) for (const el of r.querySelectorAll('*')) {{
                for (const a of el.attributes) {{
                  if (a.name.startsWith('on')) bad.push(el.tagName + ' ' + a.name);
                  if (/^\\s*javascript:/i.test(a.value)) bad.push(el.tagName + ' ' + a.value);
                }}
                if (r !== document && el.tagName === 'SCRIPT') bad.push('script');
                const src = el.getAttribute('src');
                if (el.tagName === 'IMG' && src && !/^(blob|data):/.test(src)) bad.push(src);
              }}
              return bad;
            }}"""
        )
        assert bad == []
        assert await page.evaluate("() => window.pwned === undefined")
        assert errors == []

        # The token never is in a URL the widget requests.
        stored = await page.evaluate(
            "() => JSON.parse(Object.entries(localStorage)"
            ".find(([k]) => k.startsWith('laura.chat.'))[1])"
        )
        token, session_id = stored["token"], stored["session_id"]
        key = token.split(".", 1)[1]
        assert urls and not [u for u in urls if key in u or token in u]
        # ... nor in anything Matrix holds: events, state, the ghost's user id.
        session = await team.laura.store.sessions.get_by_id(session_id)
        assert session
        ghost = team.laura.config.ghost_mxid(session.ghost_id)
        assert session_id not in ghost and key not in ghost
        matrix = json.dumps(anna.events + admin.events + await anna.history(room))
        assert key not in matrix and session_id not in matrix

        # The PDF transcript: the literal text; no link, script or action; no local file read.
        visitor = Visitor(team.handle.api)
        team._visitors.append(visitor)
        visitor.session_id, visitor.token = session_id, token
        status, headers, pdf = await request(
            visitor, "GET", f"/sessions/{session_id}/transcript.pdf"
        )
        assert status == 200 and headers["Content-Type"] == "application/pdf"
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        flat = text.replace("\n", " ")
        for literal in (
            "<img src=x onerror=window.pwned=1>",
            "{{7*7}}",
            "[klik](javascript:window.pwned=4)",
            "[klik](javascript:window.pwned=5)",
            "pwned=2",
        ):
            assert literal in flat, (literal, text[:2000])
        assert "\u202e" not in text and "root:x:0:0" not in text
        for key_ in PDF_ACTIONS:
            assert key_ not in pdf, key_
        reader = PdfReader(io.BytesIO(pdf))
        for page_ in reader.pages:
            assert "/Annots" not in page_ and "/AA" not in page_
        # fpdf2 opens at a zoom: a plain destination is fine, an action (a dictionary) is not.
        catalog: Any = reader.trailer["/Root"].get_object()
        assert "/AA" not in catalog and "/Names" not in catalog
        opening = catalog.get("/OpenAction")
        assert opening is None or isinstance(opening.get_object(), list), opening

        # The rating comment goes to the consult room as plain text.
        await anna.send(room, "!close")
        await visitor.wait_status("ended")
        comment = f"slecht <img src=x onerror=alert(1)> [x](javascript:alert(2)) {canary}"
        secret(comment)
        await visitor.call(
            "POST", f"/sessions/{session_id}/rating", {"stars": 1, "comment": comment}, expect=201
        )
        rating = await anna.wait_for(is_msg(room, body_has="<img src=x onerror=alert(1)>"))
        assert "formatted_body" not in rating["content"]

        # Contact-request fields reach the contact room escaped inside Laura's own HTML.
        other = await team.visitor(name="Joop <b onmouseover=alert(1)>x</b>")
        contact_message = f"Bel <a href='javascript:alert(3)'>mij</a> {{{{7*7}}}} {canary}"
        await other.call(
            "POST",
            f"/sessions/{other.session_id}/contact-request",
            {
                "name": "<script>alert(4)</script>",
                "phone": "0612345678",
                "message": contact_message,
            },
            expect=201,
        )
        posted = await admin.wait_for(
            is_msg(team.rooms["contact"], body_has="<script>alert(4)</script>"),
            what="the contact request",
        )
        assert contact_message in posted["content"]["body"]
        assert "&lt;script&gt;alert(4)&lt;/script&gt;" in posted["content"]["formatted_body"]
        assert_lauras_own_html(posted["content"]["formatted_body"], "contact request")

        # Every event Laura or a ghost sent that staff saw: plain text, or Laura's own HTML.
        seen = from_laura(team, anna.events + admin.events)
        assert len(seen) > 10
        for event in seen:
            assert_plain_or_own_html(event, "sent by Laura")
        assert_lauras_own_html(dispatch["content"]["formatted_body"], "dispatch")
        assert "&lt;img src=x onerror=window.pwned=1&gt;" in dispatch["content"]["formatted_body"]
        # {{ }} in a name is text, never a template.
        assert f"van {NAME} (" in dispatch["content"]["body"]
        await asyncio.sleep(0.5)
        assert hits == [], hits
    finally:
        await context.close()
        await runner.cleanup()


# -- QUALITY 11: CORS -----------------------------------------------------------------------------

CARE = "https://www.care.example"
EVIL = "https://evil.example"


@SQLITE
@pytest.mark.laura_config({"web.allowed_origins": [CARE, "https://portal.care.example/"]})
async def test_cors_is_an_allow_list_without_wildcard_or_credentials(
    laura_handle: LauraHandle,
) -> None:
    v = Visitor(laura_handle.api)
    try:
        await v.start(topic=None)
        calls: list[tuple[str, str, Any, dict[str, str]]] = [
            ("OPTIONS", "/sessions", None, {}),
            ("OPTIONS", f"/sessions/{v.session_id}/messages", None, {}),
            ("GET", "/widget", None, {}),
            ("POST", "/sessions", {}, {}),
            ("GET", f"/sessions/{v.session_id}", None, v.auth),
            # A stream sends its headers before its handler returns.
            ("GET", f"/sessions/{v.session_id}/stream?timeout=0", None, v.auth),
            ("GET", f"/sessions/{v.session_id}", None, {}),  # 401
            ("GET", "/sessions/000000000000000000000000", None, v.auth),  # 404
        ]
        for origin in (CARE, "https://portal.care.example", EVIL, "null", CARE + ".evil.example"):
            for method, path, payload, auth in calls:
                headers = {**auth, "Origin": origin}
                if method == "OPTIONS":
                    headers["Access-Control-Request-Method"] = "POST"
                    headers["Access-Control-Request-Headers"] = "authorization, content-type"
                async with v.http.request(
                    method, f"{v.api}{path}", json=payload, headers=headers
                ) as resp:
                    h = resp.headers
                    context = (origin, method, path, resp.status, dict(h))
                    assert h.get("Access-Control-Allow-Origin") != "*", context
                    assert "Access-Control-Allow-Credentials" not in h, context
                    if origin in (CARE, "https://portal.care.example"):
                        assert h.get("Access-Control-Allow-Origin") == origin, context
                        assert "Origin" in h.get("Vary", ""), context
                    else:
                        assert "Access-Control-Allow-Origin" not in h, context
                        assert "Access-Control-Allow-Methods" not in h, context
                    assert h.get("X-Content-Type-Options") == "nosniff", context
    finally:
        await v.close()


# -- QUALITY 14: appservice listener --------------------------------------------------------------


@SQLITE
async def test_appservice_paths_and_tokens_easy_to_forget(laura_handle: LauraHandle) -> None:
    """test_robustness.py covers the four v1 paths; here the legacy ones, the as_token in the
    place of the hs_token, the token in another header, and dot segments that would reach a
    guarded path through the open probe prefix."""
    env = laura_handle.env
    base = f"http://127.0.0.1:{env.as_port}"
    requests: list[tuple[str, str, Any]] = [
        ("GET", "/users/@x:localhost", None),
        ("GET", "/rooms/%23x:localhost", None),
        ("PUT", "/transactions/s1", {"events": []}),
        ("PUT", "/_matrix/app/v1/transactions/s1", {"events": []}),
        ("POST", "/_matrix/app/v1/ping", {}),
    ]
    async with aiohttp.ClientSession() as http:
        for method, path, body in requests:
            for headers, expected in (
                ({}, 401),
                ({"X-Access-Token": env.hs_token}, 401),
                ({"Authorization": f"Bearer {env.as_token}"}, 403),
                ({"Authorization": f"Bearer {env.hs_token}x"}, 403),
                ({"Authorization": f"Bearer {env.hs_token[:-1]}"}, 403),
                ({"Authorization": f"Token {env.hs_token}"}, 403),
            ):
                async with http.request(method, base + path, json=body, headers=headers) as resp:
                    data = await resp.json(content_type=None)
                    assert resp.status == expected, (path, headers.keys(), resp.status, data)
                    assert data["errcode"] == (
                        "M_UNAUTHORIZED" if expected == 401 else "M_FORBIDDEN"
                    )
    # Dot segments, raw and percent-encoded, must not turn a guarded path into an open one.
    for target in (
        b"/_matrix/mau/../app/v1/ping",
        b"/_matrix/mau/%2e%2e/app/v1/ping",
        b"/_matrix/mau/..%2Fapp/v1/ping",
        b"/_matrix/mau/live/../../app/v1/transactions/s2",
    ):
        verb = b"PUT" if b"transactions" in target else b"POST"
        reader, writer = await asyncio.open_connection("127.0.0.1", env.as_port)
        writer.write(
            verb + b" " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 14\r\nConnection: close\r\n\r\n" + b'{"events": []}'
        )
        answer = await reader.read()
        writer.close()
        status = int(answer.split(b" ", 2)[1])
        assert status in (401, 403, 404, 405), (target, answer[:200])


# -- QUALITY 14: power levels ---------------------------------------------------------------------


async def power_levels(staff: Staff, room: str) -> dict[str, Any]:
    resp = await staff.client.room_get_state_event(room, "m.room.power_levels")
    assert isinstance(resp, nio.RoomGetStateEventResponse), resp
    return dict(resp.content)


def check_levels(
    team: Team, levels: dict[str, Any], people: list[str], room: str, staff_may: tuple = ()
) -> int:
    """Nobody but Laura may change state (but for the events in staff_may), invite, kick, ban
    or @room; the highest level of anyone else in the room is returned."""
    users = levels.get("users", {})
    for user, level in users.items():
        if not team.laura.config.is_own_user(user):
            assert level <= 50, (room, user, level)
    highest = max(users.get(p, levels.get("users_default", 0)) for p in people)
    events = levels.get("events", {})
    guarded = {
        "invite": levels.get("invite", 0),
        "kick": levels.get("kick", 50),
        "ban": levels.get("ban", 50),
        "state_default": levels.get("state_default", 50),
        "notifications.room": levels.get("notifications", {}).get("room", 50),
    } | {
        e: events.get(e, levels.get("state_default", 50))
        for e in LOCKED_STATE
        if e not in staff_may
    }
    for what, level in guarded.items():
        assert level >= 50 and level > highest, (room, what, level, highest)
    return int(highest)


def forbidden(resp: Any) -> bool:
    return getattr(resp, "status_code", None) == "M_FORBIDDEN"


async def as_ghost(
    team: Team, ghost: str, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    """A client-server call as the ghost (the appservice may act as its users)."""
    env = team.handle.env
    url = f"{env.synapse.url}/_matrix/client/v3{path}?user_id={quote(ghost)}"
    headers = {"Authorization": f"Bearer {env.as_token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


@SQLITE
async def test_power_levels_keep_ghosts_and_staff_in_their_place(team: Team) -> None:
    anna, bram, admin = team["anna"], team["bram"], team["admin"]
    outsider = team["outsider"]
    visitor, consult = await team.connected("Greet")
    session = await team.laura.store.sessions.get_by_id(visitor.session_id)
    assert session
    ghost = team.laura.config.ghost_mxid(session.ghost_id)
    await visitor.say("Een bericht van Greet")
    ghost_msg = await anna.wait_for(is_msg(consult, body_has="van Greet"), what="ghost message")
    anna_msg = await anna.send(consult, "Een bericht van anna")

    # The rooms' power levels, as staff see them.
    levels = await power_levels(anna, consult)
    assert levels["users"].get(ghost) == 0, levels
    # Staff may add a widget (Element's video call), the visitor's ghost may not.
    widgets = ("im.vector.modular.widgets", "io.element.widgets.layout")
    assert check_levels(team, levels, [anna.user_id, ghost], "consult", widgets) == 50
    assert all(levels["events"][w] > 0 for w in widgets)
    assert levels.get("redact", 50) > 50  # nobody but Laura removes what another wrote
    assert levels.get("notifications", {}).get("room", 50) > 0
    for key, staff, people in (
        ("huisarts", anna, [anna.user_id, bram.user_id]),
        ("control", admin, [admin.user_id]),
        ("contact", anna, [anna.user_id, bram.user_id, admin.user_id]),
    ):
        assert check_levels(team, await power_levels(staff, team.rooms[key]), people, key) == 0

    # A staff member (through the client API, as Element would) may not change the consult
    # room's state, invite, kick, ban, or redact the visitor's words.
    raised = {**levels, "users": {**levels["users"], anna.user_id: 100}}
    attempts: list[tuple[str, Any]] = [
        ("name", await anna.client.room_put_state(consult, "m.room.name", {"name": "x"})),
        ("topic", await anna.client.room_put_state(consult, "m.room.topic", {"topic": "x"})),
        ("levels", await anna.client.room_put_state(consult, "m.room.power_levels", raised)),
        (
            "join_rules",
            await anna.client.room_put_state(
                consult, "m.room.join_rules", {"join_rule": "public"}
            ),
        ),
        (
            "history",
            await anna.client.room_put_state(
                consult, "m.room.history_visibility", {"history_visibility": "world_readable"}
            ),
        ),
        (
            "encryption",
            await anna.client.room_put_state(
                consult, "m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}
            ),
        ),
        ("custom", await anna.client.room_put_state(consult, "org.example.state", {"a": 1})),
        ("invite", await anna.client.room_invite(consult, outsider.user_id)),
        ("kick", await anna.client.room_kick(consult, ghost)),
        ("ban", await anna.client.room_ban(consult, ghost)),
        ("redact", await anna.client.room_redact(consult, ghost_msg["event_id"])),
    ]
    # ... nor anywhere else: the dispatch, control and contact rooms.
    for key, staff in (("huisarts", anna), ("control", admin), ("contact", bram)):
        room = team.rooms[key]
        own = await power_levels(staff, room)
        attempts += [
            (f"{key} name", await staff.client.room_put_state(room, "m.room.name", {"name": "x"})),
            (
                f"{key} levels",
                await staff.client.room_put_state(
                    room, "m.room.power_levels", {**own, "users": {staff.user_id: 100}}
                ),
            ),
            (f"{key} invite", await staff.client.room_invite(room, outsider.user_id)),
        ]
    attempts.append(
        ("kick colleague", await anna.client.room_kick(team.rooms["huisarts"], bram.user_id))
    )
    refused = [what for what, resp in attempts if not forbidden(resp)]
    assert refused == [], [(w, r) for w, r in attempts if w in refused]

    # The ghost (acting through the appservice, as a compromised or buggy Laura could) is at
    # level 0: no state, no invites, no kicks, no redactions, no widgets, no other rooms.
    room = quote(consult)
    ghost_calls: list[tuple[str, str, str, Any]] = [
        ("name", "PUT", f"/rooms/{room}/state/m.room.name", {"name": "x"}),
        (
            "levels",
            "PUT",
            f"/rooms/{room}/state/m.room.power_levels",
            {**levels, "users": {**levels["users"], ghost: 100}},
        ),
        (
            "widget",
            "PUT",
            f"/rooms/{room}/state/im.vector.modular.widgets/w1",
            {"type": "jitsi", "url": "https://evil.example/"},
        ),
        ("invite", "POST", f"/rooms/{room}/invite", {"user_id": outsider.user_id}),
        ("kick", "POST", f"/rooms/{room}/kick", {"user_id": anna.user_id}),
        ("redact", "PUT", f"/rooms/{room}/redact/{quote(anna_msg)}/{uuid.uuid4().hex}", {}),
        ("join dispatch", "POST", f"/join/{quote(team.rooms['huisarts'])}", {}),
        ("join control", "POST", f"/join/{quote(team.rooms['control'])}", {}),
    ]
    for what, method, path, body in ghost_calls:
        status, data = await as_ghost(team, ghost, method, path, body)
        assert status == 403 and data.get("errcode") == "M_FORBIDDEN", (what, status, data)

    # Through the widget API: "@room" and a staff member's id are text, not mentions.
    await visitor.say("@room kom allemaal kijken @anna:localhost")
    ping = await anna.wait_for(is_msg(consult, body_has="@room kom allemaal"), what="@room")
    assert ping["sender"] == ghost and ping["content"].get("m.mentions") == {}
    # Nothing changed.
    assert await power_levels(anna, consult) == levels
    assert outsider.invites == set()
    members = await anna.client.joined_members(consult)
    assert isinstance(members, nio.JoinedMembersResponse)
    assert ghost in {m.user_id for m in members.members}


# -- QUALITY 14: commands -------------------------------------------------------------------------

# A way to call each command that would change something if it ran.
SAMPLES = {
    "waiting": "!waiting",
    "notify": "!notify all Hallo allemaal",
    "take": "!take 1",
    "close": "!close",
    "video": "!video",
    "pdf": "!pdf",
    "invite": "!invite @outsider:localhost",
    "leave": "!leave",
    "#": "!# groet",
    "monitor": "!monitor 1",
    "audit": "!audit 1",
    "canned": "!canned add groet Hallo",
    "case": "!case",
    "cases": "!cases",
    "open": "!open",
    "departments": "!departments",
    "department": "!department remove thuiszorg",
    "staff": "!staff add @outsider:localhost huisarts",
    "settings": "!settings",
    "set": "!set dispatch_timeout 10s",
    "stats": "!stats",
    "routing": "!routing huisarts one-at-a-time",
    "hours": "!hours huisarts ma 00:00-00:30",
    "deadletters": "!deadletters",
    "afspraak": "!afspraak",
    "agenda": "!agenda",
    "afspraaktype": "!afspraaktype add spoed 20m | Spoedgesprek",
    "locatie": "!locatie @outsider:localhost Dorpsstraat 1",
    "mails": "!mails",
    "rapport": "!rapport week",
    "webhooks": "!webhooks retry",
    "dashboard": "!dashboard off",
}
# Admin commands whose refusal to a non-admin other tests show already.
REFUSED_ELSEWHERE = {
    "set": "test_commands.py::test_non_admin_is_refused",
    "department": "test_commands.py::test_non_admin_is_refused",
    "stats": "test_commands.py::test_non_admin_is_refused",
    "settings": "test_commands.py::test_non_admin_is_refused",
    "audit": "test_monitor.py::test_supervisor_restart_stop_and_refusal",
}


async def replies(staff: Staff, room: str, texts: list[str]) -> dict[str, str]:
    """Send the commands one after another, then collect Laura's reply to each."""
    sent = [(text, await staff.send(room, text)) for text in texts]
    bodies = await asyncio.gather(*(reply_to(staff, room, eid, text) for text, eid in sent))
    return dict(zip(texts, bodies, strict=True))


async def snapshot(team: Team) -> tuple[Any, ...]:
    store = team.laura.store
    return (
        await team.laura.settings.all(),
        await store.departments.all_active(),
        await store.db.fetchval("SELECT COUNT(*) FROM canned_response"),
    )


@SQLITE
async def test_commands_in_the_wrong_room_or_from_the_wrong_person(team: Team) -> None:
    anna, admin, outsider = team["anna"], team["admin"], team["outsider"]
    control, dispatch, contact = (
        team.rooms["control"],
        team.rooms["huisarts"],
        team.rooms["contact"],
    )
    missing = (
        set(registry.commands)
        - set(SAMPLES)
        - {"help", "status", "availability", "capacity", "nick", "email"}
    )
    assert not missing, f"add a sample for {missing}"
    visitor, consult = await team.connected("Cor")
    before = await snapshot(team)

    # Commands of other rooms are unknown in a dispatch room (anna) and in the control room
    # (admin); admin commands are unknown in the contact room, even for an admin.
    wrong_in_dispatch = [
        SAMPLES[n]
        for n, c in registry.commands.items()
        if n in SAMPLES and DISPATCH not in c.rooms
    ]
    wrong_in_control = [
        SAMPLES[n] for n, c in registry.commands.items() if n in SAMPLES and CONTROL not in c.rooms
    ]
    admin_only = [n for n, c in registry.commands.items() if c.admin]
    assert set(admin_only) >= set(REFUSED_ELSEWHERE)
    results = {
        "dispatch": await replies(anna, dispatch, wrong_in_dispatch),
        "control": await replies(admin, control, wrong_in_control),
        "contact": await replies(admin, contact, [SAMPLES[n] for n in admin_only]),
    }
    for where, got in results.items():
        for text, body in got.items():
            assert body.startswith("Onbekend commando"), (where, text, body)

    # A non-admin in the control room: every admin command is refused (those not shown in
    # other tests yet).
    await team.laura.bridge.rooms.invite(control, anna.user_id)
    await anna.wait_invite(control)
    await anna.join(control)
    texts = [SAMPLES[n] for n in admin_only if n not in REFUSED_ELSEWHERE]
    for text, body in (await replies(anna, control, texts)).items():
        assert body.startswith("Alleen beheerders"), (text, body)

    # In a consult room only consult commands are commands, also from an admin (invited as a
    # colleague): control and dispatch commands there run nowhere.
    await reply_to(anna, consult, await anna.send(consult, "!invite @admin:localhost"), "!invite")
    await admin.wait_invite(consult)
    await admin.join(consult)
    not_here = [
        SAMPLES[n] for n, c in registry.commands.items() if n in SAMPLES and CONSULT not in c.rooms
    ]
    # Issue #22, finding 3: nor do they reach the visitor (with their user ids and settings);
    # the sender is told where the command works. (Before: no answer, and the visitor got it.)
    for text, body in (await replies(admin, consult, not_here)).items():
        command = text.split()[0]
        assert body.startswith(f"{command} werkt niet in een gesprek met een bezoeker"), body
        assert "niet naar de bezoeker gestuurd" in body, body
    await admin.send(consult, "einde van de beheerder")

    # The visitor cannot give commands: what the ghost says is never run.
    from_visitor = [
        "!close",
        "!leave",
        "!pdf",
        "!video",
        "!invite @outsider:localhost",
        "!set dispatch_timeout 10s",
        "!department remove thuiszorg",
        "!staff add @outsider:localhost huisarts",
        "#",
        "!canned add groet Hallo",
    ]
    for text in from_visitor:
        await visitor.say(text)
    await visitor.say("einde van de bezoeker")
    await anna.wait_for(is_msg(consult, body_has="einde van de bezoeker"), what="the sentinel")
    await anna.wait_for(is_msg(consult, body_has="einde van de beheerder"), what="the sentinel")
    await asyncio.sleep(1)
    bot = team.laura.config.bot_mxid
    prefix = f"@{team.laura.config['appservice.ghost_prefix']}_"
    in_room = [e for e in anna.events if e.get("room_id") == consult]
    said = {e["event_id"] for e in in_room if e["sender"].startswith(prefix)}
    assert len(said) >= len(from_visitor)
    answered = [
        e["content"].get("body")
        for e in in_room
        if e["sender"] == bot
        and e.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
        in said
    ]
    assert answered == []
    assert not [e for e in anna.events if is_msg(consult, msgtype="m.file")(e)]
    await visitor.wait_for(lambda e: e.get("body") == "einde van de beheerder")
    reached = {e.get("body") for e in visitor.events if e.get("sender") == "staff"}
    assert not reached & set(not_here), reached & set(not_here)
    assert (await visitor.state())["status"] == "connected"
    assert await snapshot(team) == before
    assert outsider.invites == set()


# -- QUALITY 13: upload abuse ---------------------------------------------------------------------

HTML_PAYLOAD = b"<html><script>alert(1)</script></html>"


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("index.html", HTML_PAYLOAD)
    return out.getvalue()


@SQLITE
@pytest.mark.laura_config({"web.rate_limits.uploads.per_session": "3/minute"})
async def test_polyglots_are_defused_and_uploads_are_rate_limited(
    laura_handle: LauraHandle,
) -> None:
    """test_media.py covers SVG, HTML as .png, bombs, the size cap and the headers one by one;
    here polyglots through the API, and the per-chat upload limit."""
    v = Visitor(laura_handle.api)
    try:
        await v.start(topic=None)
        base = f"/sessions/{v.session_id}/attachments"
        # A real PNG with an HTML page and a zip archive after it: re-encoded, both gone.
        photo = await upload(v, png() + HTML_PAYLOAD + zip_bytes(), "foto.png", "image/png")
        status, headers, data = await request(v, "GET", f"{base}/{photo['id']}")
        assert status == 200 and data.startswith(b"\x89PNG")
        assert b"<script>" not in data and b"PK\x03\x04" not in data
        assert headers["Content-Type"] == "image/png"
        assert headers["X-Content-Type-Options"] == "nosniff"
        # A PDF with HTML after it is taken as it is, but only ever served as a download that
        # no browser renders or sniffs.
        doc = await upload(v, PDF + HTML_PAYLOAD, "brief.html", "text/html")
        assert doc["mime"] == "application/pdf" and doc["name"].endswith(".pdf")
        status, headers, data = await request(v, "GET", f"{base}/{doc['id']}")
        assert status == 200 and headers["Content-Type"] == "application/pdf"
        assert headers["Content-Disposition"].startswith("attachment")
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in headers.get("Content-Security-Policy", "")
        # The third upload in a minute is fine, the fourth is refused with a Retry-After.
        await upload(v, png(8), "drie.png", "image/png")
        async with v.http.post(
            f"{v.api}{base}", data=form(png(8), "vier.png", "image/png"), headers=v.auth
        ) as resp:
            assert resp.status == 429, await resp.text()
            assert int(resp.headers["Retry-After"]) >= 1
        assert laura_handle.laura
        count = "SELECT COUNT(*) FROM attachment WHERE session_id=$1"
        assert await laura_handle.laura.db.fetchval(count, v.session_id) == 3
    finally:
        await v.close()


# -- Findings: these show defects (see the report of issue #9 item 6) -----------------------------

_EMBEDDINGS = "\u202a\u202b\u202d\u202e"  # LRE RLE LRO RLO, closed by PDF (U+202C)
_ISOLATES = "\u2066\u2067\u2068"  # LRI RLI FSI, closed by PDI (U+2069)


def reorders_the_rest(text: str) -> bool:
    """Whether, on some line, a bidi embedding, override or isolate is never closed and text
    follows it: that text (Laura's own words, after a name) is then shown reordered. In a
    formatted_body a <br> ends the line and tags are no text."""
    text = re.sub(r"<[^>]*>", "", text.replace("<br>", "\n"))
    controls = _EMBEDDINGS + _ISOLATES + "\u202c\u2069"
    for line in text.split("\n"):
        stack: list[tuple[str, int]] = []
        for i, ch in enumerate(line):
            if ch in _EMBEDDINGS or ch in _ISOLATES:
                stack.append((ch, i))
            elif ch == "\u202c" and stack and stack[-1][0] in _EMBEDDINGS:
                stack.pop()
            elif ch == "\u2069" and any(c in _ISOLATES for c, _ in stack):
                while stack.pop()[0] not in _ISOLATES:
                    pass
        if stack and line[stack[0][1] + 1 :].strip(controls + " \t"):
            return True
    return False


FAKE_PORTAL_NAME = "J ✔️ Aangemeld via het portaal: Jansen (portaal-id k1234)"
FAKE_PORTAL_LINE = "✔️ Aangemeld via het portaal: Jansen (portaal-id k1234)."


@SQLITE
async def test_a_visitors_name_cannot_turn_lauras_sentences_around(team: Team) -> None:
    """QUALITY 10 (RTL spoofing): a name that opens a right-to-left override (or isolate) and
    never closes it must not reorder the rest of Laura's own sentences in Element: the
    dispatch request, the consult room's introduction and the contact request. Issue #22:
    nor can a visitor's name or text pass for Laura's word that a visitor signed in on the
    portal, and bidi controls in a message are shown to staff rather than obeyed."""
    anna, admin = team["anna"], team["admin"]
    assert reorders_the_rest("van Eva\u202e (wacht sinds 10:00)")
    assert not reorders_the_rest("van \u2068Eva\u202e\u2069 (wacht sinds 10:00)")
    assert not reorders_the_rest("<b>van Jan\u202e</b><br>Telefoon: 06")
    # Issue #22, finding 1: a name that reads as Laura's portal statement (the probe's own, one
    # with a line separator, one in look-alike letters) is refused, for a chat and for a
    # contact request alike. (Before the fix: 201, and staff saw it as signed in.)
    probe = Visitor(team.handle.api)
    for name in (FAKE_PORTAL_NAME, "Jansen\u2028✔️ portaal", "Jansen Ρortааl"):
        _, body = await probe.call("POST", "/sessions", {"name": name}, headers={}, expect=400)
        assert body["error"]["code"] == "bad_name", body
    await probe.close()
    # The name ends in the override: all that follows it on a line is Laura's.
    visitor = await team.visitor(name="Eva\u2067\u202e ✔️")
    dispatch = await anna.wait_for(dispatch_for(team, "Eva"), what="the dispatch message")
    # In the waiting room, a line of the visitor's that imitates the statement stays hers: in
    # Laura's copy in the request's thread it is quoted. (Before: a line of its own.)
    await visitor.say(f"Hallo\n{FAKE_PORTAL_LINE}")
    thread = await anna.wait_for(
        lambda e: (
            is_msg(team.rooms["huisarts"], body_has="Eva: Hallo")(e)
            and "m.relates_to" in e["content"]
        ),
        what="the visitor's message in the thread",
    )
    assert thread["content"]["body"] == f"Eva: Hallo\n> {FAKE_PORTAL_LINE}"
    await anna.react(team.rooms["huisarts"], dispatch["event_id"], "Ik!")
    consult = await anna.wait_invite()
    await anna.join(consult)
    intro = await anna.wait_for(is_msg(consult, body_has="Nieuwe bezoeker"), what="the intro")
    # The sender's name on every message: the cleaned name, without any marker.
    session = await team.laura.store.sessions.get_by_id(visitor.session_id)
    assert session
    ghost = team.laura.config.ghost_mxid(session.ghost_id)
    member = await anna.client.room_get_state_event(consult, "m.room.member", ghost)
    assert isinstance(member, nio.RoomGetStateEventResponse), member
    assert member.content["displayname"] == "Eva"
    # Finding 6: bidi controls in a message are shown, not obeyed; every character arrives.
    # (Before: the override went to staff as it was, and "LIN 0001" read "1000 NIL".)
    await visitor.say("Betaal \u202eLIN 0001\u202c aan ons")
    paid = await anna.wait_for(is_msg(consult, body_has="Betaal"), what="the bidi message")
    assert paid["sender"] == ghost
    assert paid["content"]["body"] == "Betaal ⟪U+202E⟫LIN 0001⟪U+202C⟫ aan ons"
    other = await team.visitor(name="Ruud")
    await other.call(
        "POST",
        f"/sessions/{other.session_id}/contact-request",
        {"name": FAKE_PORTAL_NAME, "phone": "0612345678"},
        expect=400,
    )
    await other.call(
        "POST",
        f"/sessions/{other.session_id}/contact-request",
        {
            "name": "Jan\u202e",
            "phone": "0612345678",
            "message": f"Graag terugbellen\n{FAKE_PORTAL_LINE}",
        },
        expect=201,
    )
    contact = await admin.wait_for(
        is_msg(team.rooms["contact"], body_has="Jan"), what="the contact request"
    )
    assert f"\n> {FAKE_PORTAL_LINE}" in contact["content"]["body"]
    for event in (dispatch, intro, contact):
        assert "✔" not in event["content"]["body"].replace(FAKE_PORTAL_LINE, "")
    leaking = [
        (what, field, event["content"][field])
        for what, event in (("dispatch", dispatch), ("intro", intro), ("contact", contact))
        for field in ("body", "formatted_body")
        if field in event["content"] and reorders_the_rest(event["content"][field])
    ]
    assert leaking == []
    del visitor


@SQLITE
@pytest.mark.laura_config({"web.allowed_origins": [CARE]})
async def test_a_foreign_origin_cannot_change_anything(laura_handle: LauraHandle) -> None:
    """QUALITY 11: a state-changing call that a browser sends from a foreign page (its Origin
    is neither Laura's own public URL nor on web.allowed_origins) is refused, before it does
    anything. Without CORS the foreign page cannot read the answer, but the request itself
    still reaches Laura: a page visited by many people could open chats from all of their
    addresses (past the per-address caps). Non-browser clients send no Origin: still served."""
    laura = laura_handle.laura
    assert laura
    own = str(laura.config["web.public_url"]).rstrip("/")
    v = Visitor(laura_handle.api)
    try:
        await v.start(topic=None)
        count = "SELECT COUNT(*) FROM session"
        before = await laura.db.fetchval(count)
        refused: list[tuple[str, str, int]] = []
        for origin in (EVIL, "null", CARE + ".evil.example", own + ".evil.example"):
            for path, payload, auth in (
                ("/sessions", {"name": "Van een vreemde site"}, {}),
                (
                    f"/sessions/{v.session_id}/messages",
                    {"body": "x", "client_txn_id": "o"},
                    v.auth,
                ),
                (f"/sessions/{v.session_id}/topic", {"topic_id": "huisarts"}, v.auth),
                (f"/sessions/{v.session_id}/end", {}, v.auth),
            ):
                status, _, raw = await request(
                    v, "POST", path, payload, headers={**auth, "Origin": origin}
                )
                if status != 403:
                    refused.append((origin, path, status))
                else:
                    assert_error_shape(status, raw, (origin, path))
        assert refused == [], "not refused: " + repr(refused)
        assert await laura.db.fetchval(count) == before
        state = await v.state()
        assert state["status"] == "choosing"
        # The widget's own origin, an allowed one, and no Origin at all (not a browser).
        for headers in ({"Origin": own}, {"Origin": CARE}, {}):
            status, _, raw = await request(v, "POST", "/sessions", {}, headers=headers)
            assert status == 201, (headers, raw)
    finally:
        await v.close()


# Active content a PDF reader runs or opens when staff open the file (issue #22: also a remote
# file on a network path, which leaks a Windows login hash, and a web address).
ACTIVE_PDFS = {
    "javascript on open": minimal_pdf(
        catalog=b"/OpenAction 4 0 R", objects=[b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"]
    ),
    "name written with #xx escapes": minimal_pdf(
        catalog=b"/OpenAction 4 0 R", objects=[b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"]
    ),
    "launch a program": minimal_pdf(
        catalog=b"/OpenAction 4 0 R", objects=[b"<< /S /Launch /F (cmd.exe) >>"]
    ),
    "embedded file": minimal_pdf(
        catalog=b"/Names << /EmbeddedFiles 4 0 R >>",
        objects=[b"<< /Names [(a.exe) 5 0 R] >>", b"<< /Type /Filespec /F (a.exe) /EF << >> >>"],
    ),
    "remote file on open": minimal_pdf(
        catalog=b"/OpenAction << /S /GoToR /F (\\\\\\\\host\\\\share\\\\x.pdf) /D [0 /Fit] >>"
    ),
    "web address on open": minimal_pdf(
        catalog=b"/OpenAction << /S /URI /URI (http://attacker.invalid/) >>"
    ),
}


@SQLITE
async def test_a_visitors_pdf_cannot_carry_scripts_to_staff(laura_handle: LauraHandle) -> None:
    """QUALITY 13 (LHC CVE-2026-0483): a visitor's PDF goes to staff unchanged, who open it in
    a PDF reader. One that runs JavaScript, launches a program or carries an embedded file on
    opening is refused (or reaches nobody with that part in it)."""
    v = Visitor(laura_handle.api)
    try:
        await v.start(topic=None)
        passed_on = []
        for what, data in ACTIVE_PDFS.items():
            status, _, raw = await request(
                v, "POST", f"/sessions/{v.session_id}/attachments", "pdf", pdf=data
            )
            if status == 201:
                att = json.loads(raw)["attachment"]
                _, _, stored = await request(
                    v, "GET", f"/sessions/{v.session_id}/attachments/{att['id']}"
                )
                if stored == data:
                    passed_on.append(what)
            else:
                assert_error_shape(status, raw, what)
                # Read by the parser and refused for what it holds (not as unreadable).
                assert json.loads(raw)["error"]["code"] == "file_active_content", (what, raw)
        assert passed_on == [], f"passed on unchanged: {passed_on}"
    finally:
        await v.close()


@SQLITE
async def test_rooms_in_a_room_version_before_12(laura_handle: LauraHandle) -> None:
    """On a homeserver whose default room version is older than 12 the creator has no power of
    its own: Laura lists herself at 100, or the homeserver refuses the room ("users" must
    contain the creator) and every dispatch and consult room fails. Synapse here defaults to
    12, so the room version Laura asked for is set to 10 as another homeserver's would be."""
    laura = laura_handle.laura
    assert laura
    rooms = laura.bridge.rooms
    rooms._room_version = "10"
    room_id = await rooms.create_private_room("Versie 10", "Kamer", [])
    bot = laura.bridge.bot
    levels = await bot.get_state_event(RoomID(room_id), EventType.ROOM_POWER_LEVELS)
    assert levels.users[bot.mxid] == 100 and levels.invite == 100
    create = await bot.get_state_event(RoomID(room_id), EventType.ROOM_CREATE)
    assert str(create.room_version) == "10"
    # What the state store noted lets her send there at once.
    await laura.bridge.notice(room_id, "Hallo in versie 10")
