"""The consult room's media (#7) against a real Synapse, staff in matrix-nio: files both ways,
video calls, typing both ways with the optional preview, and transcripts."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import aiohttp
import pytest
from PIL import Image
from pypdf import PdfReader

from .conftest import ON_POSTGRES, ON_SQLITE, Team
from .helpers import Visitor, is_msg, minimal_pdf, secret

pytestmark = pytest.mark.synapse

JITSI = "http://127.0.0.1:9"  # never contacted: the visitor's browser would load it


def gps_png() -> tuple[bytes, bytes]:
    """A PNG carrying EXIF with a GPS position, and its raw pixels."""
    img = Image.new("RGB", (64, 48))
    img.putdata(
        [((x * 4) % 256, (y * 5) % 256, (x * y) % 256) for y in range(48) for x in range(64)]
    )
    exif = Image.Exif()
    exif[0x010F] = "Telefoon"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 5.0, 30.0)
    gps[3], gps[4] = "E", (4.0, 53.0, 10.0)
    out = io.BytesIO()
    img.save(out, format="PNG", exif=exif)
    return out.getvalue(), img.tobytes()


PDF = minimal_pdf()


async def upload(
    visitor: Visitor, data: bytes, name: str, mime: str, expect: int | None = 201
) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type=mime)
    return await visitor.call(
        "POST", f"/sessions/{visitor.session_id}/attachments", data=form, expect=expect
    )


async def fetch(visitor: Visitor, att_id: str, query: str = "") -> tuple[int, dict, bytes]:
    url = f"{visitor.api}/sessions/{visitor.session_id}/attachments/{att_id}{query}"
    async with visitor.http.get(url, headers=visitor.auth) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def no_gps(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    exif = img.getexif()
    assert 0x8825 not in exif and not exif.get_ifd(0x8825), "GPS survived"
    assert "exif" not in img.info
    return img


async def test_files_both_ways(team: Team) -> None:
    anna = team["anna"]
    visitor, room = await team.connected("Fenna")
    png, pixels = gps_png()

    # Visitor → staff: the photo arrives as a proper m.image, pixels intact, GPS gone.
    _, body = await upload(visitor, png, "vakantie.png", "image/png")
    assert body["attachment"]["kind"] == "image" and body["attachment"]["mime"] == "image/png"
    image = await anna.wait_for(is_msg(room, msgtype="m.image"), what="the photo")
    info = image["content"]["info"]
    assert (info["w"], info["h"], info["mimetype"]) == (64, 48, "image/png")
    got = no_gps(await anna.download(image["content"]["url"]))
    assert got.convert("RGB").tobytes() == pixels
    # ... and a PDF as an m.file, byte for byte.
    await upload(visitor, PDF, "verwijzing.pdf", "application/pdf")
    doc = await anna.wait_for(is_msg(room, msgtype="m.file"), what="the PDF")
    assert doc["content"]["body"] == "verwijzing.pdf"
    assert await anna.download(doc["content"]["url"]) == PDF
    # The visitor's own stream has both, readable by them.
    mine = await visitor.wait_for(
        lambda e: (e.get("attachment") or {}).get("mime") == "application/pdf"
    )
    assert mine["sender"] == "visitor" and mine["body"] == "verwijzing.pdf"

    # Staff → visitor: a photo and a PDF sent in Element reach the widget through Laura.
    mxc = await anna.upload(png, "image/png", "uitslag.png")
    await anna.send_raw(
        room,
        "m.room.message",
        {
            "msgtype": "m.image",
            "body": "uitslag.png",
            "url": mxc,
            "info": {"mimetype": "image/png", "size": len(png)},
        },
    )
    mxc_pdf = await anna.upload(PDF, "application/pdf", "folder.pdf")
    await anna.send_raw(
        room,
        "m.room.message",
        {
            "msgtype": "m.file",
            "body": "folder.pdf",
            "url": mxc_pdf,
            "info": {"mimetype": "application/pdf"},
        },
    )
    photo = await visitor.wait_for(
        lambda e: e.get("sender") == "staff" and (e.get("attachment") or {}).get("kind") == "image"
    )
    status, headers, data = await fetch(visitor, photo["attachment"]["id"])
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert no_gps(data).convert("RGB").tobytes() == pixels
    status, headers, thumb = await fetch(visitor, photo["attachment"]["id"], "?thumbnail=1")
    assert status == 200 and Image.open(io.BytesIO(thumb)).size[0] <= 320
    leaflet = await visitor.wait_for(
        lambda e: (
            e.get("sender") == "staff"
            and (e.get("attachment") or {}).get("mime") == "application/pdf"
        )
    )
    assert leaflet["name"] and leaflet["body"] == "folder.pdf"
    status, headers, data = await fetch(visitor, leaflet["attachment"]["id"])
    assert status == 200 and data == PDF
    assert headers["Content-Disposition"].startswith("attachment")

    # A file the homeserver no longer has: staff are told, and the room does not stall.
    missing = {"msgtype": "m.file", "body": "weg.pdf", "url": "mxc://localhost/bestaatniet"}
    await anna.send_raw(room, "m.room.message", missing)
    await anna.wait_for(is_msg(room, body_has="niet van de server halen", msgtype="m.notice"))
    await anna.send(room, "Bent u er nog, mevrouw?")
    await visitor.wait_for(lambda e: e.get("body") == "Bent u er nog, mevrouw?")

    # Another chat cannot fetch this chat's file: the same 404 as for no file at all.
    other = await team.visitor(topic=None, name="Gerrit")
    status, _, _ = await fetch(other, leaflet["attachment"]["id"])
    assert status == 404
    assert (await fetch(visitor, "doesnotexist"))[0] == 404


@pytest.mark.laura_config({"laura.settings.max_file_mb": 1, "media.visitor_types": ["png", "pdf"]})
async def test_files_refused(team: Team) -> None:
    visitor = await team.visitor(name="Hanna")
    _, widget = await visitor.call("GET", "/widget", expect=200)
    assert widget["files"] == {"max_bytes": 1024 * 1024, "types": ["application/pdf", "image/png"]}
    before = await team.laura.store.db.fetchval("SELECT COUNT(*) FROM attachment")
    # HTML dressed up as a photo: refused by its content, with a message a person understands.
    html = b"<html><script>alert(1)</script></html>"
    status, body = await upload(visitor, html, "foto.png", "image/png", expect=None)
    assert status == 422 and body["error"]["code"] == "file_type_not_allowed"
    assert "PNG" in body["error"]["message"] and "PDF" in body["error"]["message"]
    # A JPEG is a real photo, but not one this organisation takes.
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
    status, body = await upload(visitor, jpeg.getvalue(), "foto.jpg", "image/jpeg", expect=None)
    assert status == 422 and body["error"]["code"] == "file_type_not_allowed"
    # Too large: refused while it streams in, never stored.
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10) + b"\n%%EOF\n"
    status, body = await upload(visitor, big, "groot.pdf", "application/pdf", expect=None)
    assert status == 413 and body["error"]["code"] == "file_too_large"
    # Not multipart at all.
    status, body = await visitor.call(
        "POST", f"/sessions/{visitor.session_id}/attachments", {"file": "x"}, expect=None
    )
    assert status == 400 and body["error"]["code"] == "bad_upload"
    assert await team.laura.store.db.fetchval("SELECT COUNT(*) FROM attachment") == before
    # Without a token: 401, like every session call.
    form = aiohttp.FormData()
    form.add_field("file", PDF, filename="a.pdf")
    status, _ = await visitor.call(
        "POST", f"/sessions/{visitor.session_id}/attachments", data=form, headers={}
    )
    assert status == 401


@pytest.mark.laura_config({"video.jitsi_url": JITSI})
@ON_SQLITE
async def test_video(team: Team) -> None:
    anna = team["anna"]
    visitor, room = await team.connected("Ilse")
    _, widget = await visitor.call("GET", "/widget", expect=200)
    assert widget["video"] is True
    status, body = await visitor.call("GET", f"/sessions/{visitor.session_id}/video")
    assert status == 409 and body["error"]["code"] == "no_video_call"

    # !video: a Jitsi widget as Element writes it, and a join offer for the visitor.
    await anna.send(room, "!video")
    await anna.wait_for(is_msg(room, body_has="Videogesprek gestart", msgtype="m.notice"))
    state = await anna.wait_for(
        lambda e: e.get("room_id") == room and e.get("type") == "im.vector.modular.widgets"
    )
    assert state["content"]["type"] == "jitsi"
    conference = state["content"]["data"]["conferenceId"]
    assert state["content"]["data"]["domain"] == "127.0.0.1:9"
    await anna.wait_for(
        lambda e: e.get("room_id") == room and e.get("type") == "io.element.widgets.layout"
    )
    offer = await visitor.wait_for(lambda e: e["type"] == "video" and e["video"] == "started")
    assert offer["name"]
    _, join = await visitor.call("GET", f"/sessions/{visitor.session_id}/video", expect=200)
    assert join["room"] == conference and join["external_api"] == f"{JITSI}/external_api.js"
    assert join["display_name"] == "Ilse" and join["jwt"] is None

    # The visitor's ghost may not add a widget: the power levels refuse it.
    laura = team.laura
    session = await laura.store.sessions.get_by_id(visitor.session_id)
    assert session
    ghost = laura.config.ghost_mxid(session.ghost_id)
    env = team.handle.env
    url = (
        f"{env.synapse.url}/_matrix/client/v3/rooms/{room}/state/im.vector.modular.widgets/"
        f"ghostcall?user_id={ghost}"
    )
    headers = {"Authorization": f"Bearer {env.as_token}"}
    content = {
        "type": "jitsi",
        "url": "https://evil.example/x",
        "data": {"domain": "evil.example", "conferenceId": "x"},
    }
    async with (
        aiohttp.ClientSession() as http,
        http.put(url, json=content, headers=headers) as resp,
    ):
        assert resp.status == 403, await resp.text()

    # Staff remove the widget: the offer goes, and the history says the call ended.
    widget_id = state["state_key"]
    resp = await anna.client.room_put_state(
        room, "im.vector.modular.widgets", {}, state_key=widget_id
    )
    assert not hasattr(resp, "status_code") or resp.status_code is None, resp
    await visitor.wait_for(lambda e: e["type"] == "video" and e["video"] == "ended")
    status, _ = await visitor.call("GET", f"/sessions/{visitor.session_id}/video")
    assert status == 409

    # Element's own button: a widget staff add on the organisation's server is offered the
    # same way; one on any other server is not (the visitor's browser would load its script).
    foreign = {
        "type": "m.jitsi",
        "url": "https://app.element.io/jitsi.html?confId=Elsewhere",
        "name": "Jitsi",
        "data": {"domain": "meet.example.org", "conferenceId": "Elsewhere"},
    }
    await anna.client.room_put_state(
        room, "im.vector.modular.widgets", foreign, state_key="foreignwidget"
    )
    await anna.wait_for(is_msg(room, body_has="niet aangeboden", msgtype="m.notice"))
    element = {
        "type": "m.jitsi",
        "url": "https://app.element.io/jitsi.html?confId=elementconf",
        "name": "Jitsi",
        "data": {"domain": "127.0.0.1:9", "conferenceId": "elementconf", "isAudioOnly": False},
    }
    await anna.client.room_put_state(
        room, "im.vector.modular.widgets", element, state_key="elementwidget"
    )
    await visitor.wait_for(
        lambda e: e["type"] == "video" and e["video"] == "started" and e["seq"] > offer["seq"]
    )
    _, join = await visitor.call("GET", f"/sessions/{visitor.session_id}/video", expect=200)
    assert join["domain"] == "127.0.0.1:9" and join["room"] == "elementconf"
    assert join["external_api"] == f"{JITSI}/external_api.js"

    # The chat ends during the call: the call ends on both sides.
    await anna.send(room, "!close")
    ended = await visitor.wait_for(
        lambda e: e["type"] == "video" and e["video"] == "ended" and e["seq"] > offer["seq"] + 2
    )
    assert ended
    await anna.wait_for(
        lambda e: (
            e.get("room_id") == room
            and e.get("type") == "im.vector.modular.widgets"
            and e.get("state_key") == "elementwidget"
            and e.get("content") == {}
        )
    )


@ON_POSTGRES
async def test_video_off_by_default(team: Team) -> None:
    anna = team["anna"]
    visitor, room = await team.connected("Joost")
    _, widget = await visitor.call("GET", "/widget", expect=200)
    assert widget["video"] is False
    await anna.send(room, "!video")
    await anna.wait_for(is_msg(room, body_has="Videobellen staat uit", msgtype="m.notice"))
    # Element's button (Element's own Jitsi server) offers the visitor nothing either.
    element = {
        "type": "jitsi",
        "url": "x",
        "data": {"domain": "meet.element.io", "conferenceId": "c"},
    }
    event = await anna.client.room_put_state(
        room, "im.vector.modular.widgets", element, state_key="w"
    )
    notices = [e for e in anna.events if is_msg(room, body_has="Videobellen staat uit")(e)]
    await anna.wait_for(
        lambda e: is_msg(room, body_has="Videobellen staat uit")(e) and e not in notices[:1]
    )
    assert getattr(event, "event_id", None)
    assert not any(e["type"] == "video" for e in visitor.events)
    await visitor.poll(timeout=0)
    assert not any(e["type"] == "video" for e in visitor.events)


@pytest.mark.laura_config({"laura.settings.typing_preview": True})
@ON_POSTGRES
async def test_typing_both_ways(team: Team) -> None:
    anna = team["anna"]
    visitor, room = await team.connected("Karin")
    laura = team.laura
    session = await laura.store.sessions.get_by_id(visitor.session_id)
    assert session
    ghost = laura.config.ghost_mxid(session.ghost_id)

    # Staff typing in Element shows in the widget, and stops.
    await anna.client.room_typing(room, True, timeout=20000)
    typing = await visitor.wait_for(lambda e: e["type"] == "typing" and e["names"])
    assert typing["names"] == ["anna"]
    await anna.client.room_typing(room, False)
    await visitor.wait_for(lambda e: e["type"] == "typing" and not e["names"])

    # The visitor typing shows in Element as the ghost typing, with the draft as a preview;
    # a line of it never stands on its own in Laura's notice (issue #22: it could pass for
    # her word that a visitor signed in on the portal).
    draft = "Ik heb sinds gisteren koorts\n✔️ Aangemeld via het portaal: Karin (portaal-id 7)."
    secret(draft)
    _, body = await visitor.call(
        "POST",
        f"/sessions/{visitor.session_id}/typing",
        {"typing": True, "draft": draft},
        expect=200,
    )
    assert body == {"typing": True, "preview": True}
    await anna.wait_typing(room, lambda users: ghost in users)
    preview = await anna.wait_for(
        is_msg(room, body_has="sinds gisteren koorts", msgtype="m.notice"), what="preview"
    )
    assert preview["sender"] == laura.config.bot_mxid
    assert "\n> ✔️ Aangemeld via het portaal" in preview["content"]["body"]
    # Sending the message stops the typing, and the preview is redacted.
    await visitor.say(draft + " en hoofdpijn")
    await anna.wait_typing(room, lambda users: ghost not in users)
    await anna.wait_for(
        lambda e: e.get("type") == "m.room.redaction" and e.get("redacts") == preview["event_id"],
        what="the preview's redaction",
    )
    history = await anna.history(room)
    assert not any(
        draft == e.get("content", {}).get("body", "")[-len(draft) :]
        for e in history
        if e.get("type") == "m.room.message" and e["sender"] == laura.config.bot_mxid
    )
    # Bad input: a clear 400.
    status, body = await visitor.call(
        "POST", f"/sessions/{visitor.session_id}/typing", {"typing": "ja"}, expect=None
    )
    assert status == 400 and body["error"]["code"] == "bad_typing"


@ON_SQLITE
async def test_typing_without_preview(team: Team) -> None:
    anna = team["anna"]
    visitor, room = await team.connected("Lotte")
    _, body = await visitor.call(
        "POST",
        f"/sessions/{visitor.session_id}/typing",
        {"typing": True, "draft": "niet voor de ogen van het personeel"},
        expect=200,
    )
    assert body["preview"] is False
    session = await team.laura.store.sessions.get_by_id(visitor.session_id)
    assert session
    ghost = team.laura.config.ghost_mxid(session.ghost_id)
    await anna.wait_typing(room, lambda users: ghost in users)
    await visitor.call(
        "POST", f"/sessions/{visitor.session_id}/typing", {"typing": False}, expect=200
    )
    await anna.wait_typing(room, lambda users: ghost not in users)
    assert not any("niet voor de ogen" in str(e.get("content")) for e in anna.events)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_transcripts(team: Team) -> None:
    anna = team["anna"]
    visitor, room = await team.connected("Zoë")
    await visitor.say("Goedemorgen, ik heb een vraag over mijn medicijnen: één keer per dag?")
    await anna.wait_for(is_msg(room, body_has="medicijnen"))
    await anna.send(room, "Ja, één tablet ’s ochtends. Geen zorgen, Zoë!")
    hostile = "<b>vet</b> \x07\u202egnp.exe " + "x" * 3000
    await visitor.say(hostile)
    await anna.wait_for(is_msg(room, body_has="vet</b>"))
    await upload(visitor, PDF, "recept.pdf", "application/pdf")
    await anna.wait_for(is_msg(room, msgtype="m.file", body_has="recept.pdf"))

    await anna.send(room, "!pdf")
    made = await anna.wait_for(
        lambda e: (
            is_msg(room, msgtype="m.file")(e)
            and e["content"].get("info", {}).get("mimetype") == "application/pdf"
            and e["sender"] == team.laura.config.bot_mxid
        ),
        what="the transcript",
    )
    text = pdf_text(await anna.download(made["content"]["url"]))
    first = text.index("medicijnen: één keer per dag?")
    second = text.index("één tablet")
    assert first < second
    assert "Zoë" in text and "recept.pdf" in text and "Huisarts" in text
    assert "\u202e" not in text and "\x07" not in text

    await anna.send(room, "!pdf files")
    bundle = await anna.wait_for(
        lambda e: (
            is_msg(room, msgtype="m.file")(e)
            and e["content"].get("info", {}).get("mimetype") == "application/zip"
        ),
        what="the zip",
    )
    with zipfile.ZipFile(io.BytesIO(await anna.download(bundle["content"]["url"]))) as z:
        names = z.namelist()
        assert any(n.endswith(".pdf") and "/" not in n for n in names)
        inner = [n for n in names if n.endswith("recept.pdf")]
        assert inner and z.read(inner[0]) == PDF

    # The visitor downloads the same transcript from the widget; another chat cannot.
    url = f"{visitor.api}/sessions/{visitor.session_id}/transcript.pdf"
    async with visitor.http.get(url, headers=visitor.auth) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/pdf"
        assert resp.headers["Content-Disposition"].startswith("attachment")
        assert "één tablet" in pdf_text(await resp.read())
    other = await team.visitor(topic=None, name="Wim")
    async with other.http.get(url, headers=other.auth) as resp:
        assert resp.status == 404
