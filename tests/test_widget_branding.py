"""The organisation's own look (config widget.*) in real headless Chromium: colour, corner,
logo and wording, with the accessibility scan on the result."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Team
from tests.helpers import INLINE
from tests.test_widget import accessibility

pytestmark = [pytest.mark.synapse, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

LOOK = {
    "widget.color": "#6b2160",
    "widget.position": "left",
    "widget.logo_url": "/widget/demo-logo.svg",
    "widget.texts": {
        "nl": {"launcher": "Stel je vraag", "intro": "Waarmee kunnen we je vandaag helpen?"}
    },
}


@pytest.mark.laura_config(LOOK)
async def test_colour_corner_logo_and_wording(browser: Any, team: Team) -> None:
    context = await browser.new_context(viewport={"width": 1000, "height": 760}, locale="nl-NL")
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{team.handle.web_port}/{INLINE}")
        launcher = page.locator("button.launcher")
        await page.wait_for_selector("button.launcher >> text=Stel je vraag")
        box = await launcher.bounding_box()
        assert box and box["x"] < 100, box  # bottom left
        colour = "() => getComputedStyle(document.querySelector('#laura-chat').shadowRoot"
        assert await page.evaluate(colour + ".querySelector('.launcher')).backgroundColor") == (
            "rgb(107, 33, 96)"
        )
        await launcher.click()
        await page.wait_for_selector("form.start >> text=Waarmee kunnen we je vandaag helpen?")
        panel = await page.locator(".panel").bounding_box()
        assert panel and panel["x"] < 100, panel
        assert await page.evaluate(colour + ".querySelector('.head')).backgroundColor") == (
            "rgb(107, 33, 96)"
        )
        logo = page.locator(".head img.logo")
        await page.wait_for_function(
            "() => document.querySelector('#laura-chat')?.shadowRoot"
            "?.querySelector('.head img.logo')?.naturalWidth > 0"
        )
        assert await logo.get_attribute("alt") == ""  # the name beside it says who it is
        # Texts the organisation did not word itself stay the widget's own.
        assert await page.inner_text("form.start button[type=submit]") == "Start de chat"
        assert await accessibility(page, "branded-start") == []
        # The chat's own page (/chat) shows the logo too: its policy lets it in.
        chat = await context.new_page()
        await chat.goto(f"http://127.0.0.1:{team.handle.web_port}/chat")
        await chat.wait_for_function(
            "() => document.querySelector('#laura-chat')?.shadowRoot"
            "?.querySelector('.head img.logo')?.naturalWidth > 0"
        )
        assert errors == []
    finally:
        await context.close()
