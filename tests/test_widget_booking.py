"""Booking a conversation in the widget (#24, point 4), in real headless Chromium: the form is
offered, lists free times, books one, and the chat shows the appointment with its calendar
file; on a 360 px phone and in English, with axe's scan of each state."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Team
from tests.helpers import is_msg, reply_to
from tests.test_widget import accessibility, open_widget

pytestmark = [pytest.mark.synapse, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.mark.laura_config(
    # An hour's lead: the slot the form offers first cannot begin while the test fills it in.
    {"appointments.booking.offer": "always", "appointments.booking.lead_time": "1h"}
)
async def test_book_a_conversation_in_the_widget(browser: Any, team: Team) -> None:
    anna = team["anna"]
    room = team.rooms["huisarts"]
    sent = await anna.send(room, "!availability ma-zo 08:00-20:00")
    await reply_to(anna, room, sent, "!availability")

    # A phone, in Dutch.
    page = await open_widget(browser, team)
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.click("button.launcher")
    await page.click("form.start button[type=submit]")
    await page.click(".topics button.book")
    await page.wait_for_selector("form.booking")
    await page.select_option("form.booking select[name=topic_id]", "huisarts")
    await page.wait_for_selector("form.booking select[name=start] option", state="attached")
    assert await accessibility(page, "nl-phone-booking") == []
    await page.check("form.booking input[value=phone]")
    await page.fill("form.booking input[name=email]", "karin@example.org")
    await page.click("form.booking button[type=submit]")
    # A phone call needs the number: the browser asks before anything is sent.
    assert await page.eval_on_selector("form.booking input[name=phone]", "e => !e.validity.valid")
    await page.fill("form.booking input[name=phone]", "06 1234 5678")
    await page.click("form.booking button[type=submit]")
    await page.wait_for_selector("p.booked")
    card = await page.wait_for_selector(".info.appointment")
    text = await card.inner_text()
    assert "Afspraak gemaakt" in text and "Telefoon (wij bellen jou)" in text
    assert await page.query_selector(".info.appointment button.file")
    assert await accessibility(page, "nl-phone-booked") == []
    await anna.wait_for(is_msg(room, body_has="06 1234 5678"), what="the booking for staff")
    assert page.errors == []

    # In English, on a desktop, from the contact form's offer is the same form.
    page = await open_widget(browser, team, "?lang=en")
    await page.click("button.launcher >> text=Chat with us")
    await page.click("form.start button[type=submit]")
    await page.click(".topics button.book")
    await page.wait_for_selector("form.booking legend >> text=How would you like to talk?")
    await page.select_option("form.booking select[name=topic_id]", "huisarts")
    await page.wait_for_selector("form.booking select[name=start] option", state="attached")
    assert await accessibility(page, "en-desktop-booking") == []
    assert page.errors == []
