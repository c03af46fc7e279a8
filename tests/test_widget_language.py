"""The widget's language switch and a browser that blocks storage, in real headless Chromium,
with staff in Matrix through matrix-nio."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Team
from tests.helpers import start_in_widget
from tests.test_widget import accessibility, open_widget

pytestmark = [pytest.mark.synapse, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

ACTIVE = "() => document.querySelector('#laura-chat').shadowRoot.activeElement?.className"

# What a browser that blocks site data does: reading window.localStorage throws.
BLOCK_STORAGE = """
Object.defineProperty(window, "localStorage", {
  configurable: true,
  get() { throw new DOMException("The operation is insecure.", "SecurityError"); }
});
"""


async def test_switching_the_language_in_the_middle_of_a_chat(browser: Any, team: Team) -> None:
    anna = team["anna"]
    page = await open_widget(browser, team, locale="nl-NL")
    try:
        await page.click("button.launcher")
        await start_in_widget(page, "Lotte", "Ik heb een vraag over mijn medicijnen")
        assert "nummer 1" in await page.inner_text(".queue")
        assert await page.inner_text("form.compose button[type=submit]") == "Verstuur"
        choice = page.locator("select.lang")
        assert await choice.get_attribute("aria-label") == "Taal"
        assert await choice.locator("option").all_inner_texts() == ["Nederlands", "English"]

        # By keyboard, as a visitor would: the choice is in the chat's header.
        await choice.focus()
        await page.keyboard.press("ArrowDown")  # Chromium: the closed select picks the next
        await page.wait_for_selector("form.compose button[type=submit] >> text=Send")
        # Everything is said again in English, the history included, nothing doubled ...
        await page.wait_for_selector(".queue >> text=You are number 1 in the queue.")
        assert await page.locator(".msg.visitor").all_inner_texts() == [
            "You\nIk heb een vraag over mijn medicijnen"
        ]
        assert await page.locator("select.lang").get_attribute("aria-label") == "Language"
        # ... the chat stays open with the focus where the visitor was ...
        assert await page.evaluate(ACTIVE) == "lang"
        assert await page.is_visible("form.compose")
        assert await accessibility(page, "en-desktop-4-waiting") == []
        # ... and Laura speaks English to this visitor from now on.
        session_id = await page.evaluate(
            "() => Object.entries(localStorage).find(([k]) => k.startsWith('laura.chat.'))[1]"
        )
        session = await team.laura.store.sessions.get_by_id(json.loads(session_id)["session_id"])
        assert session and session.language == "en"
        consult = await team.take("Lotte")
        answer = "Goedemiddag Lotte, waarmee kan ik helpen?"
        await anna.send(consult, answer)
        await page.wait_for_selector(f".msg.staff >> text={answer}")
        await page.wait_for_selector(".msg.bot >> text=anna joined the conversation.")

        # The choice is kept: a reload of the (Dutch) page stays English.
        await page.reload()
        await page.wait_for_selector(f".msg.staff >> text={answer}")
        assert await page.inner_text("form.compose button[type=submit]") == "Send"
        assert await page.locator(".msg.staff").count() == 1
        # And back, with the mouse this time.
        await page.select_option("select.lang", "nl")
        await page.wait_for_selector("form.compose button[type=submit] >> text=Verstuur")
        await page.wait_for_selector(".msg.visitor .who >> text=Jij")
        assert await page.locator(".msg.staff").count() == 1
        session = await team.laura.store.sessions.get_by_id(json.loads(session_id)["session_id"])
        assert session and session.language == "nl"
        assert page.errors == []
    finally:
        await page.context.close()


async def test_a_browser_that_blocks_storage_keeps_the_chat_for_the_page(
    browser: Any, team: Team
) -> None:
    page = await open_widget(browser, team, locale="nl-NL", init_script=BLOCK_STORAGE)
    try:
        await page.click("button.launcher")
        note = page.locator(".storage")
        await note.wait_for()
        assert "alleen zolang deze pagina open is" in await note.inner_text()
        await page.click("button.close")
        await page.click("button.launcher")
        text = "Werkt de chat zonder opslag?"
        await start_in_widget(page, "Joost", text)
        # A language switch starts the widget afresh: the chat is still there, from memory.
        await page.select_option("select.lang", "en")
        await page.wait_for_selector(".storage >> text=it lasts only while this page is open")
        await page.wait_for_selector(f".msg.visitor >> text={text}")
        assert await page.locator(".msg.visitor").count() == 1
        await page.wait_for_selector(".queue >> text=You are number 1 in the queue.")
        assert page.errors == []
    finally:
        await page.context.close()


@pytest.mark.laura_config({"laura.languages": ["nl", "en", "pl"]})
async def test_a_browser_that_asks_for_polish_gets_the_chat_in_polish(
    browser: Any, team: Team
) -> None:
    """The widget has no texts of its own: Laura sends them in the first language of the
    browser's she offers (the chat's own page has no language to go by)."""
    context = await browser.new_context(viewport={"width": 1000, "height": 760}, locale="pl-PL")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        await page.goto(f"http://127.0.0.1:{team.handle.web_port}/chat")
        start = page.locator("form.start")
        await start.wait_for()
        assert "Prosimy zadać pytanie na czacie." in await start.inner_text()
        assert await page.inner_text("form.start button[type=submit]") == "Rozpocznij czat"
        assert await page.evaluate("document.documentElement.lang") == "pl"
        choice = page.locator("select.lang")
        assert await choice.get_attribute("aria-label") == "Język"
        assert await choice.locator("option").all_inner_texts() == [
            "Nederlands",
            "English",
            "Polski",
        ]
        assert await choice.input_value() == "pl"

        await start_in_widget(page, "Zofia", "Mam pytanie o receptę")
        # Laura's own texts follow the chat's language: the topic passed on, the queue.
        await page.wait_for_selector(".msg.bot >> text=zostało przekazane")
        await page.wait_for_selector(".queue >> text=Miejsce w kolejce: 1.")
        assert await page.inner_text("form.compose button[type=submit]") == "Wyślij"
        session_id = await page.evaluate(
            "() => Object.entries(localStorage).find(([k]) => k.startsWith('laura.chat.'))[1]"
        )
        session = await team.laura.store.sessions.get_by_id(json.loads(session_id)["session_id"])
        assert session and session.language == "pl"

        # The switch in the header: to Dutch and back, the whole chat each time.
        await page.select_option("select.lang", "nl")
        await page.wait_for_selector(".queue >> text=Je bent nummer 1 in de wachtrij.")
        await page.select_option("select.lang", "pl")
        await page.wait_for_selector("form.compose button[type=submit] >> text=Wyślij")
        await page.wait_for_selector(".msg.visitor .who >> text=Ty")
        assert await page.locator(".msg.visitor").count() == 1
        assert errors == []
    finally:
        await context.close()
