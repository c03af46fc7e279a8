"""The widget's media in real headless Chromium: files both ways (with the upload's progress and
the browser's own refusals), typing both ways, joining a video call, and the transcript download.
Staff are in Matrix through matrix-nio."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from PIL import Image

from laura_bot.dev.synapse import free_port
from tests.conftest import ON_POSTGRES, ON_SQLITE, Team
from tests.helpers import INLINE, Staff, is_msg, minimal_pdf, secret

pytestmark = pytest.mark.synapse

# Chosen at import: the laura_config marker, and so Laura's video.jitsi_url, needs it.
JITSI_PORT = free_port()
FAKE_EXTERNAL_API = """
window.JitsiMeetExternalAPI = function (domain, opts) {
  window.__jitsi = {domain: domain, opts: opts};
  var f = document.createElement('iframe');
  f.setAttribute('allow', 'camera; microphone');
  opts.parentNode.appendChild(f);
  this.dispose = function () { f.remove(); window.__jitsi.disposed = true; };
};
window.__jitsiLoads = (window.__jitsiLoads || 0) + 1;
"""

PDF = minimal_pdf()

# The widget lives in an open shadow root; this reaches into it from page.evaluate.
# The widget's shadow root; an empty fragment until the widget has drawn itself (it does once
# Laura has told it its texts), so a wait polls on instead of failing.
ROOT = "(document.querySelector('#laura-chat')?.shadowRoot ?? document.createDocumentFragment())"


def png(width: int = 400, height: int = 300) -> bytes:
    img = Image.new("RGB", (width, height))
    img.putdata([((x * 3) % 256, (y * 2) % 256, 120) for y in range(height) for x in range(width)])
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


async def connected_page(browser: Any, team: Team, name: str, query: str = "") -> tuple[Any, str]:
    """A visitor in the page whose chat anna took: (page, consult room)."""
    anna = team["anna"]
    context = await browser.new_context(
        viewport={"width": 1000, "height": 760}, accept_downloads=True
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    await page.goto(f"http://127.0.0.1:{team.handle.web_port}/{INLINE}{query}")
    await page.click("button.launcher")
    await page.fill("input[name=name]", name)
    await page.click("form.start button[type=submit]")
    await page.click("button[data-topic=huisarts]")
    dispatch = await anna.wait_for(
        lambda e: (
            is_msg(team.rooms["huisarts"], body_has=f"van {name}", msgtype="m.text")(e)
            and "m.relates_to" not in e["content"]
        ),
        what="the dispatch message",
    )
    await anna.react(team.rooms["huisarts"], dispatch["event_id"], "Ik!")
    consult = await anna.wait_invite()
    await anna.join(consult)
    await page.wait_for_function(
        f"() => {ROOT}.querySelector('.sub').textContent.includes('anna')"
    )
    return page, consult


async def ghost_of(team: Team, page: Any) -> str:
    """The Matrix user that stands for the visitor in this page."""
    session_id = await page.evaluate(
        "() => JSON.parse(Object.entries(localStorage)"
        ".find(([k]) => k.startsWith('laura.chat.'))[1]).session_id"
    )
    session = await team.laura.store.sessions.get_by_id(session_id)
    assert session
    return team.laura.config.ghost_mxid(session.ghost_id)


async def watch_typing(
    staff: Staff, room: str, pred: Callable[[list[str]], bool], timeout: float = 30
) -> asyncio.Task[list[str]]:
    """Start watching the room's typing now, before the action that should change it (the
    change may reach the staff's client before the action returns)."""
    task = asyncio.create_task(staff.wait_typing(room, pred, timeout))
    await asyncio.sleep(0)
    return task


async def attachment_count(team: Team) -> int:
    return int(await team.laura.store.db.fetchval("SELECT COUNT(*) FROM attachment"))


@pytest.mark.laura_config(
    {"laura.settings.max_file_mb": 1, "media.visitor_types": ["png", "jpeg", "pdf"]}
)
async def test_widget_files_and_transcript(browser: Any, team: Team) -> None:
    anna = team["anna"]
    page, room = await connected_page(browser, team, "Femke")
    file_input = page.locator("form.compose input[type=file]")
    assert await page.get_attribute("button.attach", "aria-label") == "Bestand toevoegen"
    accept = await file_input.get_attribute("accept")
    assert set((accept or "").split(",")) == {"image/png", "image/jpeg", "application/pdf"}

    # The upload shows a progress bar while it runs (noticed by an observer: it is quick here).
    await page.evaluate(
        f"""() => {{
          const root = {ROOT};
          window.__sawProgress = false;
          new MutationObserver(() => {{
            const bar = root.querySelector('.upload');
            if (bar && !bar.hidden && bar.querySelector('progress')) window.__sawProgress = true;
          }}).observe(root, {{subtree: true, attributes: true, childList: true}});
        }}"""
    )
    await file_input.set_input_files(
        files=[{"name": "uitslag.png", "mimeType": "image/png", "buffer": png()}]
    )
    image = await anna.wait_for(is_msg(room, msgtype="m.image"), what="the photo")
    assert image["content"]["body"] == "uitslag.png"
    thumb = ".msg.visitor.attachment button.thumb img"
    await page.wait_for_function(
        f"() => {{ const i = {ROOT}.querySelector('{thumb}'); return i && i.naturalWidth > 0; }}"
    )
    assert await page.evaluate("() => window.__sawProgress")
    assert await page.is_hidden(".upload")
    # The thumbnail is the small version; clicking it shows the whole photo, closed by Escape...
    assert await page.evaluate(f"() => {ROOT}.querySelector('{thumb}').naturalWidth") <= 320
    assert "uitslag.png" in await page.inner_text(".msg.visitor.attachment")
    await page.click(".msg.visitor.attachment button.thumb")
    await page.wait_for_function(
        f"() => {ROOT}.querySelector('.lightbox .frame img').naturalWidth === 400"
    )
    assert await page.is_visible(".lightbox")
    await page.keyboard.press("Escape")
    await page.wait_for_selector(".lightbox", state="hidden")
    # ... or by its button.
    await page.click(".msg.visitor.attachment button.thumb")
    await page.wait_for_selector(".lightbox .close-image")
    await page.click(".lightbox .close-image")
    await page.wait_for_selector(".lightbox", state="hidden")

    # Staff send a PDF from Element: a download button with its name, the file byte for byte.
    mxc = await anna.upload(PDF, "application/pdf", "folder.pdf")
    await anna.send_raw(
        room,
        "m.room.message",
        {
            "msgtype": "m.file",
            "body": "folder.pdf",
            "url": mxc,
            "info": {"mimetype": "application/pdf"},
        },
    )
    link = page.locator(".msg.staff button.file", has_text="folder.pdf")
    await link.wait_for()
    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    assert download.suggested_filename == "folder.pdf"
    assert open(await download.path(), "rb").read() == PDF

    # Refused in the browser, before anything is sent: too large, or not a type on the list.
    before = await attachment_count(team)
    await file_input.set_input_files(
        files=[
            {
                "name": "scan.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF" + b"0" * 2_000_000,
            }
        ]
    )
    await page.wait_for_selector(".error >> text=te groot")
    assert "1 MB" in await page.locator("div.error", has_text="te groot").inner_text()
    await file_input.set_input_files(
        files=[{"name": "notities.txt", "mimeType": "text/plain", "buffer": b"hallo daar"}]
    )
    await page.wait_for_selector(".error >> text=Dit soort bestand kan niet mee")
    assert "PNG" in await page.locator("div.error", has_text="kan niet mee").inner_text()
    # Refused by the server (the content is not a PNG at all): said in the widget's language.
    async with page.expect_response(lambda r: r.url.endswith("/attachments")) as refused:
        await file_input.set_input_files(
            files=[{"name": "foto.png", "mimeType": "image/png", "buffer": b"<html>nee</html>"}]
        )
    assert (await refused.value).status == 422
    await page.wait_for_selector("div.error >> text=Dit soort bestand kan niet mee")
    assert "PDF" in await page.locator("div.error", has_text="kan niet mee").inner_text()
    assert await attachment_count(team) == before
    assert await page.is_hidden(".upload")

    # A reload replays the history: the photo and the file are back.
    await page.reload()
    await page.wait_for_function(
        f"() => {{ const i = {ROOT}.querySelector('{thumb}'); return i && i.naturalWidth > 0; }}"
    )
    await page.locator(".msg.staff button.file", has_text="folder.pdf").wait_for()
    assert await page.locator(".msg.attachment").count() == 2

    # Only once the chat has ended: the transcript, as a PDF download.
    assert await page.locator("button.transcript").count() == 0
    await anna.send(room, "!close")
    await page.wait_for_selector("button.transcript")
    async with page.expect_download() as info:
        await page.click("button.transcript")
    transcript = await info.value
    assert transcript.suggested_filename.endswith(".pdf")
    assert open(await transcript.path(), "rb").read().startswith(b"%PDF")
    assert page.errors == []


@pytest.mark.laura_config({"laura.settings.typing_preview": True})
@ON_SQLITE
async def test_widget_typing_both_ways(browser: Any, team: Team) -> None:
    anna = team["anna"]
    page, room = await connected_page(browser, team, "Gijs", "?lang=en")
    ghost = await ghost_of(team, page)

    # Staff typing in Element shows in the widget, and goes when they stop.
    await anna.client.room_typing(room, True, timeout=20000)
    await page.wait_for_selector(".typing >> text=anna is typing…")
    await anna.client.room_typing(room, False)
    await page.wait_for_selector(".typing", state="hidden")
    # A staff message ends it too.
    await anna.client.room_typing(room, True, timeout=20000)
    await page.wait_for_selector(".typing >> text=anna is typing…")
    await anna.send(room, "Goedemiddag Gijs, waarmee kan ik helpen?")
    await page.wait_for_selector(".msg.staff >> text=waarmee kan ik helpen")
    assert await page.is_hidden(".typing")
    await anna.client.room_typing(room, False)

    # The visitor typing shows in Element as the ghost typing, with the draft (preview is on).
    draft = "Mijn moeder heeft sinds gisteren koorts"
    secret(draft)
    typing = await watch_typing(anna, room, lambda users: ghost in users)
    await page.click("textarea[aria-label]")
    await page.keyboard.type(draft, delay=15)
    await typing
    await anna.wait_for(is_msg(room, body_has=draft), what="the draft's preview")
    # Emptying the box stops the typing.
    stopped = await watch_typing(anna, room, lambda users: ghost not in users, timeout=10)
    await page.fill("textarea[aria-label]", "")
    await stopped
    # So do five seconds without a key.
    typing = await watch_typing(anna, room, lambda users: ghost in users)
    await page.keyboard.type("Ook hoofdpijn", delay=15)
    await typing
    await anna.wait_typing(room, lambda users: ghost not in users, timeout=12)
    # Sending is a message; the typing stays off.
    await page.keyboard.press("Enter")
    await anna.wait_for(is_msg(room, body_has="Ook hoofdpijn"))
    assert page.errors == []


@pytest_asyncio.fixture
async def fake_jitsi() -> AsyncIterator[str]:
    """A stand-in Jitsi server with only external_api.js, on the port Laura is configured with."""

    async def external_api(request: web.Request) -> web.Response:
        return web.Response(text=FAKE_EXTERNAL_API, content_type="application/javascript")

    app = web.Application()
    app.router.add_get("/external_api.js", external_api)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", JITSI_PORT)
    await site.start()
    try:
        yield f"http://127.0.0.1:{JITSI_PORT}"
    finally:
        await runner.cleanup()


@pytest.mark.laura_config({"video.jitsi_url": f"http://127.0.0.1:{JITSI_PORT}"})
@ON_POSTGRES
async def test_widget_video_call(browser: Any, team: Team, fake_jitsi: str) -> None:
    anna = team["anna"]
    page, room = await connected_page(browser, team, "Hanneke", "?lang=en")
    assert await page.is_hidden(".videobar")  # visitors never start a call

    await anna.send(room, "!video")
    widget = await anna.wait_for(
        lambda e: e.get("room_id") == room and e.get("type") == "im.vector.modular.widgets",
        what="the Jitsi widget",
    )
    conference = widget["content"]["data"]["conferenceId"]
    await page.wait_for_selector(".videobar >> text=anna invites you to a video call.")
    await page.click("button.join >> text=Join the video call")
    await page.wait_for_function("() => window.__jitsi && window.__jitsi.opts")
    jitsi = await page.evaluate(
        "() => ({domain: window.__jitsi.domain, room: window.__jitsi.opts.roomName,"
        " name: window.__jitsi.opts.userInfo.displayName,"
        " noJwt: window.__jitsi.opts.jwt === undefined,"
        " prejoin: window.__jitsi.opts.configOverwrite.prejoinConfig.enabled})"
    )
    assert jitsi == {
        "domain": f"127.0.0.1:{JITSI_PORT}",
        "room": conference,
        "name": "Hanneke",
        "noJwt": True,
        "prejoin": True,
    }
    # The call is inside the widget, and the offer is gone while in it.
    assert await page.get_attribute(".call .call-frame iframe", "allow") == "camera; microphone"
    assert await page.is_hidden(".videobar")

    # Leaving disposes of the call; the offer comes back, and joining again works.
    await page.click("button.leave >> text=Leave call")
    assert await page.evaluate("() => window.__jitsi.disposed === true")
    assert await page.locator(".call iframe").count() == 0
    await page.click("button.join")
    await page.wait_for_function("() => window.__jitsi && !window.__jitsi.disposed")
    await page.wait_for_selector(".call .call-frame iframe")
    assert await page.evaluate("() => window.__jitsiLoads") == 1  # the script is loaded once

    # After a reload the offer is still there (its latest video event is "started").
    await page.reload()
    await page.wait_for_selector("button.join")
    await page.click("button.join")
    await page.wait_for_selector(".call .call-frame iframe")

    # Staff remove the widget: the call in the widget ends, and the history says so.
    await anna.client.room_put_state(
        room, "im.vector.modular.widgets", {}, state_key=widget["state_key"]
    )
    await page.wait_for_function("() => window.__jitsi.disposed === true")
    await page.wait_for_selector(".info >> text=The video call has ended.")
    assert await page.is_hidden(".videobar")
    assert await page.is_hidden(".call")
    await page.reload()
    await page.wait_for_selector(".info >> text=The video call has ended.")
    await page.wait_for_timeout(300)
    assert await page.is_hidden(".videobar")
    assert page.errors == []
