"""The chat on a page of Laura's own origin (/chat): in the iframe the launcher (laura.js) puts
on a site, on its own, and as the window the chat pops out into. In real headless Chromium,
from a host site on another origin than Laura's, with staff in Matrix through matrix-nio: the
site cannot read the chat; the launcher and the chat talk by postMessage, checking origins;
one of two windows is live at a time; the conversation never goes in a URL, and only to and
from the sites Laura is configured for."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from playwright._impl._errors import TargetClosedError

from laura_bot.dev.synapse import free_port
from tests.conftest import Team
from tests.helpers import is_msg, secret, start_in_widget
from tests.test_widget import (
    ATTENTION_SPY,
    OUTPUT,
    PORTAL_SECRET,
    accessibility,
    portal_token,
)
from tests.test_widget_language import BLOCK_STORAGE

# The care organisation's site: a web server of its own, another origin than Laura's. (Chromium
# lets a page reach a loopback address such as Laura's only if it came from one itself.)
SITE_PORT = free_port()
SITE = f"http://127.0.0.1:{SITE_PORT}"
# The same site under another name: another site than Laura's to the browser (which keeps a
# frame's storage apart per site), as a care organisation's own domain is.
NAMED_SITE = f"http://localhost:{SITE_PORT}"
# A site Laura is not configured for.
OTHER_PORT = free_port()
OTHER = f"http://127.0.0.1:{OTHER_PORT}"

pytestmark = [
    pytest.mark.synapse,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
    pytest.mark.laura_config({"web.allowed_origins": [SITE, NAMED_SITE]}),
]


def host_page(laura: str, script: str, identity: str = "") -> str:
    signed = f' data-identity="{identity}"' if identity else ""
    return (
        '<!doctype html><html lang="nl"><head><title>Zorgsite</title></head><body>'
        "<h1>Zorgsite</h1>"
        f'<script src="{laura}/widget/{script}"{signed} defer></script></body></html>'
    )


async def site(
    browser: Any, team: Team, origin: str = SITE, page_name: str = "zorg"
) -> tuple[Any, list[str]]:
    """A page of `origin` with the chat of this Laura on it: /zorg the chat on the page
    (laura-widget.js), /launcher the launcher and the chat in an iframe (laura.js). Served by
    the site's own web server (SITE, OTHER), or handed to Chromium for any other origin."""
    laura = f"http://127.0.0.1:{team.handle.web_port}"
    context = await browser.new_context(viewport={"width": 1000, "height": 760}, locale="nl-NL")
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    page = await context.new_page()
    if origin not in (SITE, OTHER, NAMED_SITE):
        await page.route(
            f"{origin}/zorg",
            lambda route: route.fulfill(
                status=200, content_type="text/html", body=host_page(laura, "laura-widget.js")
            ),
        )
    await page.goto(f"{origin}/{page_name}")
    return page, errors


@pytest_asyncio.fixture
async def site_server(team: Team) -> AsyncIterator[None]:
    """The organisation's site (SITE) and another one (OTHER), each a web server of its own."""
    laura = f"http://127.0.0.1:{team.handle.web_port}"

    def serve(script: str) -> Any:
        async def page(_: web.Request) -> web.Response:
            return web.Response(text=host_page(laura, script), content_type="text/html")

        return page

    app = web.Application()
    app.router.add_get("/zorg", serve("laura-widget.js"))
    app.router.add_get("/launcher", serve("laura.js"))

    async def portal(request: web.Request) -> web.Response:  # the portal's signed-in page
        page = host_page(laura, "laura.js", request.match_info["token"])
        return web.Response(text=page, content_type="text/html")

    app.router.add_get("/portal/{token}", portal)

    def isolated(script: str) -> Any:  # a site that keeps its windows apart (COOP)
        async def page(_: web.Request) -> web.Response:
            headers = {"Cross-Origin-Opener-Policy": "same-origin"}
            body = host_page(laura, script)
            return web.Response(text=body, content_type="text/html", headers=headers)

        return page

    app.router.add_get("/isolated", isolated("laura-widget.js"))
    app.router.add_get("/isolated-launcher", isolated("laura.js"))
    # Not Laura: its access log stays out of the whole-run log scan (the portal page's address
    # holds a token, as a portal's own page might).
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for port in (SITE_PORT, OTHER_PORT):
        await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def out_and_back(page: Any, chat: Any, seen: str) -> None:
    """Pop the chat out (chat: the page, or the chat's frame in it), see the staff's `seen`
    in that window, and close it the way a visitor would: the chat is back, live again."""
    async with page.expect_popup() as opened:
        await chat.click("button.popout")
    popup = await opened.value
    await popup.wait_for_selector(f".msg.staff >> text={seen}")
    await chat.wait_for_selector(".popped >> text=De chat staat nu in een eigen venster.")
    await popup.close()
    await chat.wait_for_selector(".popped", state="hidden")


async def say(page: Any, text: str) -> None:
    secret(text)
    await page.fill("textarea[aria-label]", text)
    await page.keyboard.press("Enter")
    await page.wait_for_selector(f".msg.visitor >> text={text}")


async def test_pop_out_and_back(browser: Any, team: Team, site_server: None) -> None:
    anna = team["anna"]
    laura = f"http://127.0.0.1:{team.handle.web_port}"
    page, errors = await site(browser, team)
    try:
        await page.click("button.launcher")
        await page.wait_for_selector("form.start")
        assert await page.is_hidden("button.popout")  # no chat to move yet
        await page.fill("input[name=name]", "Pim")
        await page.click("form.start button[type=submit]")
        await page.click("button[data-topic=huisarts]")
        await say(page, "Eerste vraag via de website")
        consult = await team.take("Pim")
        await page.wait_for_selector(".msg.bot >> text=anna neemt deel aan het gesprek.")

        # Out: the chat moves to a window of Laura's own, history and all.
        async with page.expect_popup() as opened:
            await page.click("button.popout")
        popup = await opened.value
        await popup.wait_for_selector(".msg.visitor >> text=Eerste vraag via de website")
        assert popup.url.startswith(f"{laura}/chat")
        token = await page.evaluate(
            "() => Object.entries(localStorage).find(([k]) => k.startsWith('laura.chat.'))[1]"
        )
        assert "token" in token and token not in popup.url
        assert re.fullmatch(rf"{re.escape(laura)}/chat\?lang=nl#popout", popup.url), popup.url
        # The page says where the chat went, and is not live meanwhile.
        await page.wait_for_selector(".popped >> text=De chat staat nu in een eigen venster.")
        assert await page.is_hidden("form.compose")
        await say(popup, "Tweede vraag, uit het eigen venster")
        await anna.wait_for(is_msg(consult, body_has="Tweede vraag, uit het eigen venster"))
        await anna.send(consult, "Antwoord terwijl het venster open is")
        await popup.wait_for_selector(".msg.staff >> text=Antwoord terwijl het venster open is")
        await page.wait_for_timeout(500)
        assert await page.locator(".msg.staff").count() == 0
        assert await popup.title() == "Zorgorganisatie – Chat"
        assert await popup.is_hidden("button.popout")  # out already
        assert await accessibility(popup, "popout-window") == []
        assert await accessibility(page, "popout-page-meanwhile") == []

        # Back with the window's own button: the page takes over, with all that was said.
        async with popup.expect_event("close"):
            # The click closes the window: Playwright may see it gone before its click ends.
            with contextlib.suppress(TargetClosedError):
                await popup.click("button.close[aria-label='Terug naar de pagina']")
        await page.wait_for_selector(".msg.staff >> text=Antwoord terwijl het venster open is")
        await page.wait_for_selector("form.compose:not([hidden])")
        assert await page.locator(".msg.visitor").all_inner_texts() == [
            "Jij\nEerste vraag via de website",
            "Jij\nTweede vraag, uit het eigen venster",
        ]

        # Out again, and the visitor closes that window themselves: back all the same.
        await out_and_back(page, page, "Antwoord terwijl het venster open is")
        await say(page, "Derde vraag, weer op de website")
        await anna.wait_for(is_msg(consult, body_has="Derde vraag, weer op de website"))
        assert errors == []
    finally:
        await page.context.close()


@pytest.mark.parametrize("page_name", ["isolated", "isolated-launcher"])
async def test_pop_out_on_a_site_that_keeps_its_windows_apart(
    browser: Any, team: Team, site_server: None, page_name: str
) -> None:
    """A site sending Cross-Origin-Opener-Policy: same-origin cuts the new window off from the
    chat (no postMessage either way). The chat stays live on the site and says why; the
    window says it could not take the chat over instead of offering a second chat (before,
    it showed the start form, and the page went back without a word)."""
    origin = NAMED_SITE if page_name == "isolated-launcher" else SITE
    page, errors = await site(browser, team, origin=origin, page_name=page_name)
    try:
        if page_name == "isolated-launcher":
            await page.locator("#laura-launcher button").click()
            chat: Any = chat_frame(page, team)
        else:
            await page.click("button.launcher")
            chat = page
        await chat.locator("input[name=name]").fill("Pim")
        await chat.locator("form.start button[type=submit]").click()
        await chat.locator("button[data-topic=huisarts]").click()
        await chat.locator("textarea[aria-label]").fill("Vraag op een afgeschermde site")
        await page.keyboard.press("Enter")
        await chat.locator(".msg.visitor >> text=Vraag op een afgeschermde site").wait_for()
        async with page.expect_popup() as opened:
            await chat.locator("button.popout").click()
        popup = await opened.value
        await popup.wait_for_selector("form.orphan >> text=kon je chat niet overnemen")
        assert await accessibility(popup, f"popout-orphan-{page_name}") == []
        assert await popup.locator("form.start").count() == 0
        if page_name == "isolated":  # the window opened, then the site cut it off
            await chat.locator(".isolated >> text=Deze website laat de chat niet").wait_for()
            assert await chat.locator("button.popout").is_hidden()  # it would never work here
        else:  # from the frame, the browser gives no handle on the window at all
            await chat.locator(".isolated >> text=Er ging geen eigen venster").wait_for()
        await chat.locator("form.compose:not([hidden])").wait_for()
        assert await chat.locator(".popped").is_hidden()
        async with popup.expect_event("close"):
            await popup.locator("form.orphan button.primary").dispatch_event("click")
        await chat.locator("textarea[aria-label]").fill("Verder op de site")
        await page.keyboard.press("Enter")
        await team["anna"].wait_for(
            is_msg(team.rooms["huisarts"], body_has="Verder op de site"), what="the thread"
        )
        assert errors == []
    finally:
        await page.context.close()


async def test_the_chat_page_itself(browser: Any, team: Team) -> None:
    """/chat: a strict Content-Security-Policy without inline script, framed only by Laura and
    the configured sites; opened directly, the whole page is the chat."""
    port = team.handle.web_port
    laura = f"http://127.0.0.1:{port}"
    context = await browser.new_context(locale="en-GB")
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        page = await context.new_page()
        resp = await page.goto(f"{laura}/chat")
        assert resp and resp.status == 200
        policy = resp.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy, policy
        assert f"frame-ancestors 'self' {SITE}" in policy, policy
        assert "default-src 'none'" in policy
        html = await resp.text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script on /chat"
        await page.wait_for_selector("form.start")
        assert await accessibility(page, "chat-page-start") == []
        assert await page.is_hidden("button.launcher")
        assert await page.is_hidden("button.close")  # nowhere to go back to
        assert await page.is_hidden("button.popout")
        assert await page.evaluate("() => document.documentElement.lang") == "en"
        await page.fill("input[name=name]", "Direct")
        await page.click("form.start button[type=submit]")
        await page.wait_for_selector("button[data-topic=huisarts]")
        assert errors == []
    finally:
        await context.close()


async def test_a_foreign_site_cannot_hand_its_chat_to_the_chat_window(
    browser: Any, team: Team
) -> None:
    """A site Laura is not configured for opens /chat as a pop-out and offers it a chat (its
    own, to read along): the window does not take it and starts afresh."""
    bait = await team.visitor(name="Lokker")
    secret(bait.token)
    page, _ = await site(browser, team, "http://elders.example")
    try:
        script = """([url, sid, token]) => {
          window.addEventListener('message', e => {
            if (e.data && e.data.laura === 'ready')
              e.source.postMessage({laura: 'chat', session: {session_id: sid, token}}, '*');
          });
          window.open(url, 'laura-chat', 'popup');
        }"""
        chat = f"http://127.0.0.1:{team.handle.web_port}/chat#popout"
        async with page.expect_popup() as opened:
            await page.evaluate(script, [chat, bait.session_id, bait.token])
        popup = await opened.value
        await popup.wait_for_selector("form.start", timeout=15000)
        assert await popup.locator(".msg").count() == 0
    finally:
        await page.context.close()


def chat_frame(page: Any, team: Team) -> Any:
    laura = f"http://127.0.0.1:{team.handle.web_port}/chat"
    return next(f for f in page.frames if f.url.startswith(laura))


SHADOW = "document.querySelector('#laura-launcher').shadowRoot"
CHAT = "document.querySelector('#laura-chat').shadowRoot"


async def test_the_launcher_and_the_chat_in_its_frame(
    browser: Any, team: Team, site_server: None
) -> None:
    anna = team["anna"]
    page, errors = await site(browser, team, page_name="launcher")
    try:
        launcher = page.locator("#laura-launcher button")
        await launcher.wait_for()  # once the chat in the frame said what it is called
        assert await launcher.inner_text() == "Chat met ons"
        # The site cannot look into the chat: another origin.
        assert await page.evaluate(
            f"() => {SHADOW}.querySelector('iframe').contentDocument === null"
        )
        chat = chat_frame(page, team)
        await launcher.click()
        await chat.wait_for_selector("form.start")
        # The keyboard went into the chat, to its first control.
        assert await chat.evaluate(f"() => {CHAT}.activeElement?.name") == "name"
        text = "Een vraag vanuit het afgeschermde venster"
        await start_in_widget(chat, "Fenna", text, keys=page)
        consult = await team.take("Fenna")
        await anna.wait_for(is_msg(consult, body_has=text))
        await anna.send(consult, "Dag Fenna, ik help je graag.")
        await chat.wait_for_selector(".msg.staff >> text=Dag Fenna, ik help je graag.")
        assert await accessibility(page, "frame-connected", chat) == []

        # Escape closes it, and the keyboard is back on the launcher.
        await page.keyboard.press("Escape")
        await launcher.wait_for()
        assert await page.evaluate(f"() => {SHADOW}.activeElement?.tagName") == "BUTTON"
        assert await page.is_hidden("#laura-launcher iframe")
        # Answers while it is closed: on the launcher and in the site's title.
        await anna.send(consult, "Ben je er nog?")
        await page.wait_for_function("() => document.title === '(1) Zorgsite'")
        assert "1 nieuw" in (await launcher.get_attribute("aria-label") or "")
        await launcher.click()
        await chat.wait_for_selector(".msg.staff >> text=Ben je er nog?")
        await page.wait_for_function("() => document.title === 'Zorgsite'")
        # Nothing of the chat is in the site's own storage: the token stays with Laura.
        assert await page.evaluate("() => Object.keys(localStorage)") == []

        # A reload keeps the chat (in the frame's storage) and opens it again.
        await page.reload()
        await page.wait_for_selector("#laura-launcher iframe:not([hidden])", state="attached")
        chat = chat_frame(page, team)
        await chat.wait_for_selector(".msg.staff >> text=Ben je er nog?")
        assert await chat.locator(".msg.visitor").count() == 1

        # Popped out of the frame into a window of its own, and back.
        await out_and_back(page, chat, "Ben je er nog?")
        await chat.wait_for_selector("form.compose:not([hidden])")
        assert errors == []
    finally:
        await page.context.close()


async def test_the_frame_fits_a_phone(browser: Any, team: Team, site_server: None) -> None:
    """On a 360 px phone the chat's frame fills the screen but for a margin, without sideways
    scrolling, and its form and buttons are on screen."""
    context = await browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, locale="nl-NL"
    )
    try:
        page = await context.new_page()
        await page.goto(f"{SITE}/launcher")
        await page.locator("#laura-launcher button").click()
        chat = chat_frame(page, team)
        await chat.wait_for_selector("form.start")
        frame = await page.locator("#laura-launcher iframe").bounding_box()
        assert frame and frame["x"] >= 0 and frame["x"] + frame["width"] <= 360, frame
        assert frame["y"] >= 0 and frame["y"] + frame["height"] <= 740, frame
        assert frame["width"] >= 320, frame
        assert await page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
        inside = await chat.evaluate(
            f"""() => ['form.start button[type=submit]', '.head .close', 'select.lang']
              .map(s => {CHAT}.querySelector(s).getBoundingClientRect())
              .every(r => r.width > 0 && r.left >= 0 && r.right <= innerWidth
                && r.top >= 0 && r.bottom <= innerHeight)"""
        )
        assert inside
        await page.screenshot(path=str(OUTPUT / "screenshots" / "frame-phone-start.png"))
    finally:
        await context.close()


async def test_no_launcher_on_a_site_laura_is_not_configured_for(
    browser: Any, team: Team, site_server: None
) -> None:
    """Laura's Content-Security-Policy lets only the configured sites frame the chat: on any
    other the chat never says hello, and no launcher appears."""
    page, _ = await site(browser, team, OTHER, page_name="launcher")
    try:
        # (Longer than the chat waits for a site's hello: framed at all, it would be there.)
        await page.wait_for_timeout(6000)
        assert await page.is_hidden("#laura-launcher button")
        laura = f"http://127.0.0.1:{team.handle.web_port}/chat"
        # The frame is there but empty: Chromium refused to show Laura's page in it.
        for frame in page.frames:
            if frame.url.startswith(laura):
                assert not await frame.evaluate("() => !!document.querySelector('#laura-chat')")
    finally:
        await page.context.close()


@pytest.mark.laura_config(
    {
        "web.allowed_origins": [SITE],
        "web.portal_secret": PORTAL_SECRET,
        "web.portal_required": True,
    }
)
async def test_portal_identity_through_the_launcher(
    browser: Any, team: Team, site_server: None
) -> None:
    """The portal's signed identity on laura.js reaches the chat in its frame (by postMessage,
    not in the frame's address): the chat starts under the portal's name, verified."""
    anna = team["anna"]
    token = portal_token("klant-77", "Meneer Kader")
    secret(token)
    page, errors = await site(browser, team, page_name=f"portal/{token}")
    try:
        launcher = page.locator("#laura-launcher button")
        await launcher.click()
        chat = chat_frame(page, team)
        assert token not in chat.url
        await chat.wait_for_selector("form.start >> text=aangemeld via het portaal")
        assert await chat.locator("input[name=name]").count() == 0
        await chat.click("form.start button[type=submit]")
        await chat.click("button[data-topic=huisarts]")
        dispatch = await anna.wait_for(
            is_msg(team.rooms["huisarts"], body_has="Aangemeld via het portaal: Meneer Kader")
        )
        assert "klant-77" in dispatch["content"]["body"]
        assert errors == []
    finally:
        await page.context.close()


@pytest.mark.laura_config({"web.allowed_origins": [SITE], "web.notifications": True})
async def test_in_the_frame_storage_blocked_and_notifications_through_the_site(
    browser: Any, team: Team, site_server: None
) -> None:
    """A browser that blocks storage in the frame: the chat says so and lives on for the
    page. A browser lets only the site, not a chat framed from another origin, ask to notify:
    the chat asks the launcher to ask, and to show the notification (who answered, not what)."""
    context = await browser.new_context(viewport={"width": 1000, "height": 760}, locale="nl-NL")
    await context.add_init_script(BLOCK_STORAGE)  # every frame: the chat's too
    await context.add_init_script(ATTENTION_SPY)
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        page = await context.new_page()
        await page.goto(f"{SITE}/launcher")
        await page.locator("#laura-launcher button").click()
        chat = chat_frame(page, team)
        await chat.wait_for_selector(".storage >> text=alleen zolang deze pagina open is")
        await chat.fill("input[name=name]", "Hanna")
        await chat.click("form.start button[type=submit]")
        await chat.click("button[data-topic=huisarts]")
        await page.wait_for_function("() => window.__asked === 1")  # asked by the site
        assert await chat.evaluate("() => window.__asked") == 0
        consult = await team.take("Hanna")
        await chat.wait_for_selector(".msg.bot >> text=anna neemt deel aan het gesprek.")
        await page.keyboard.press("Escape")
        await team["anna"].send(consult, "Uitslag binnen, alles in orde.")
        await page.wait_for_function("() => window.__notes.length === 1")
        notes = await page.evaluate("() => window.__notes")
        # Not who: every script on the site can read what the chat tells the launcher.
        assert notes == [["Zorgorganisatie", "Je hebt een antwoord in de chat."]], notes
        assert errors == []
    finally:
        await context.close()
