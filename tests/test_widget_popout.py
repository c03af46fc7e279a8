"""The chat on a page of its own (/chat) and the widget's pop-out into it, in real headless
Chromium, from a host site on another origin than Laura's, with staff in Matrix through
matrix-nio: one of the two windows is live at a time, the conversation goes over postMessage
(never in a URL) and only to and from the sites Laura is configured for."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from laura_bot.dev.synapse import free_port
from tests.conftest import Team
from tests.helpers import is_msg, secret
from tests.test_widget import accessibility

# The care organisation's site: a web server of its own, another origin than Laura's. (Chromium
# lets a page reach a loopback address such as Laura's only if it came from one itself.)
SITE_PORT = free_port()
SITE = f"http://127.0.0.1:{SITE_PORT}"

pytestmark = [
    pytest.mark.synapse,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
    pytest.mark.laura_config({"web.allowed_origins": [SITE]}),
]


def host_page(laura: str) -> str:
    return (
        '<!doctype html><html lang="nl"><head><title>Zorgsite</title></head><body>'
        "<h1>Zorgsite</h1>"
        f'<script src="{laura}/widget/laura-widget.js" defer></script></body></html>'
    )


async def site(browser: Any, team: Team, origin: str = SITE) -> tuple[Any, list[str]]:
    """A page of `origin` with the widget of this Laura on it: served by the site's own web
    server (SITE), or handed to Chromium for any other origin."""
    laura = f"http://127.0.0.1:{team.handle.web_port}"
    context = await browser.new_context(viewport={"width": 1000, "height": 760}, locale="nl-NL")
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    page = await context.new_page()
    if origin != SITE:
        await page.route(
            f"{origin}/zorg",
            lambda route: route.fulfill(
                status=200, content_type="text/html", body=host_page(laura)
            ),
        )
    await page.goto(f"{origin}/zorg")
    return page, errors


@pytest_asyncio.fixture
async def site_server(team: Team) -> AsyncIterator[None]:
    laura = f"http://127.0.0.1:{team.handle.web_port}"

    async def zorg(_: web.Request) -> web.Response:
        return web.Response(text=host_page(laura), content_type="text/html")

    app = web.Application()
    app.router.add_get("/zorg", zorg)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", SITE_PORT).start()
    try:
        yield
    finally:
        await runner.cleanup()


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
            await popup.click("button.close[aria-label='Terug naar de pagina']")
        await page.wait_for_selector(".msg.staff >> text=Antwoord terwijl het venster open is")
        await page.wait_for_selector("form.compose:not([hidden])")
        assert await page.locator(".msg.visitor").all_inner_texts() == [
            "Jij\nEerste vraag via de website",
            "Jij\nTweede vraag, uit het eigen venster",
        ]

        # Out again, and the visitor closes that window themselves: back all the same.
        async with page.expect_popup() as opened:
            await page.click("button.popout")
        popup = await opened.value
        await popup.wait_for_selector(".msg.staff >> text=Antwoord terwijl het venster open is")
        await page.wait_for_selector(".popped")
        await popup.close()
        await page.wait_for_selector(".popped", state="hidden")
        await say(page, "Derde vraag, weer op de website")
        await anna.wait_for(is_msg(consult, body_has="Derde vraag, weer op de website"))
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
