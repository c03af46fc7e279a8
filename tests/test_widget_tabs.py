"""One chat in two tabs of the same browser, in real headless Chromium, with staff in Matrix
through matrix-nio: both show the same conversation, each message once, whichever tab sent it."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.conftest import Team
from tests.helpers import INLINE, is_msg, secret, start_in_widget

pytestmark = [pytest.mark.synapse, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


async def send(page: Any, text: str) -> None:
    secret(text)
    await page.fill("textarea[aria-label]", text)
    await page.keyboard.press("Enter")


async def texts(page: Any) -> list[str]:
    return [
        t.split("\n", 1)[1]
        for t in await page.locator(".msg.visitor, .msg.staff").all_inner_texts()
    ]


async def test_two_tabs_show_one_chat_without_double_sending(browser: Any, team: Team) -> None:
    anna = team["anna"]
    context = await browser.new_context(viewport={"width": 1000, "height": 760}, locale="nl-NL")
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        url = f"http://127.0.0.1:{team.handle.web_port}/{INLINE}"
        first = await context.new_page()
        await first.goto(url)
        await first.click("button.launcher")
        await first.fill("input[name=name]", "Tabitha")
        await first.click("form.start button[type=submit]")
        await first.click("button[data-topic=huisarts]")
        await send(first, "Eerste bericht uit het eerste tabblad")
        await first.wait_for_selector(".msg.visitor >> text=Eerste bericht uit het eerste")

        # A second tab of the same site opens the same chat, with what was said so far.
        second = await context.new_page()
        await second.goto(url)
        await second.wait_for_selector(".msg.visitor >> text=Eerste bericht uit het eerste")
        await second.wait_for_selector(".queue:not([hidden])")

        consult = await team.take("Tabitha")
        await first.wait_for_selector("form.compose:not([hidden])")

        await send(second, "Tweede bericht uit het tweede tabblad")
        await anna.send(consult, "Ik zie beide berichten, Tabitha.")
        await send(first, "Derde bericht, weer uit het eerste")
        for page in (first, second):
            await page.wait_for_selector(".msg.staff >> text=Ik zie beide berichten")
            await page.wait_for_selector(".msg.visitor >> text=Derde bericht, weer uit het eerste")
            await page.wait_for_selector(".msg.visitor >> text=Tweede bericht uit het tweede")
        await first.wait_for_timeout(500)  # time for a doubled message to show, if one came
        said = await texts(first)
        assert said == await texts(second)
        assert sorted(said) == sorted(
            [
                "Eerste bericht uit het eerste tabblad",
                "Tweede bericht uit het tweede tabblad",
                "Derde bericht, weer uit het eerste",
                "Ik zie beide berichten, Tabitha.",
            ]
        ), said
        # Staff got each message once.
        await anna.wait_for(is_msg(consult, body_has="Derde bericht"))
        bodies = [
            e["content"].get("body", "")
            for e in anna.events
            if e["room_id"] == consult and e.get("type") == "m.room.message"
        ]
        # (The first came before anyone took the chat; the history Laura shows the taker may
        # quote it again, so only the two sent in the consult room are counted.)
        for text in ("Tweede bericht", "Derde bericht"):
            assert sum(text in b for b in bodies) == 1, (text, bodies)

        # Ended in one tab, ended in both.
        await first.click("button.end")
        await first.click("button.end-now")
        await second.wait_for_selector("button.newchat")
        assert errors == []
    finally:
        await context.close()


async def test_a_chat_open_in_too_many_places_says_so_and_recovers(
    browser: Any, team: Team
) -> None:
    """Past 8 open polls and streams on one chat Laura refuses one more (429): the widget
    says why, waits as long as Laura asks, and carries on once a place is free."""
    context = await browser.new_context(viewport={"width": 1000, "height": 760}, locale="nl-NL")
    try:
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{team.handle.web_port}/{INLINE}")
        await page.click("button.launcher")
        await start_in_widget(page, "Volle Bak", "Hoeveel tabbladen mag ik openen?")
        saved = await page.evaluate(
            "() => JSON.parse(Object.entries(localStorage)"
            ".find(([k]) => k.startsWith('laura.chat.'))[1])"
        )
        url = f"{team.handle.api}/sessions/{saved['session_id']}/events?after=100000&timeout=12"
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {saved['token']}"}
        ) as http:
            # A script's eight long polls fill the chat up; then the page reloads.
            held = [asyncio.create_task(http.get(url)) for _ in range(8)]
            await asyncio.sleep(1)
            await page.reload()
            await page.wait_for_selector(".error >> text=op te veel plaatsen tegelijk open")
            for resp in await asyncio.gather(*held):
                resp.release()
        await page.wait_for_selector(".error >> text=op te veel plaatsen", state="detached")
        await page.wait_for_selector(".msg.visitor >> text=Hoeveel tabbladen mag ik openen?")
    finally:
        await context.close()
