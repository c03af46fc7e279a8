"""The waiting room (S18, V14) and the end of idle chats (S21): staff notify waiting visitors
(one, all, or by status), the two-way thread of a request, the counter on the request, the
welcome text as a setting, and the inactivity warning and ending."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.conftest import ON_POSTGRES, Team
from tests.helpers import eventually, is_msg
from tests.test_commands import command
from tests.test_flow import dispatch_for

pytestmark = pytest.mark.synapse


def staff_says(text: str):  # type: ignore[no-untyped-def]
    return lambda e: e["type"] == "message" and e["sender"] == "staff" and text in e["body"]


def edit_of(event_id: str, *parts: str):  # type: ignore[no-untyped-def]
    def pred(e: dict[str, Any]) -> bool:
        rel = e.get("content", {}).get("m.relates_to", {})
        if e.get("type") != "m.room.message" or rel.get("rel_type") != "m.replace":
            return False
        body = e["content"].get("m.new_content", {}).get("body", "")
        return rel.get("event_id") == event_id and all(p in body for p in parts)

    return pred


@ON_POSTGRES
async def test_notify_and_the_two_way_waiting_room(team: Team) -> None:
    anna = team["anna"]
    room = team.rooms["huisarts"]
    control = team.rooms["control"]
    # The welcome is a template in the restricted language: this one is refused, saying why.
    refused = await command(
        team,
        "admin",
        control,
        "!set welcome_message {{ self.__init__.__globals__ }}",
        "Niet gewijzigd: welcome_message mag alleen tekst",
    )
    assert "__" not in refused, refused
    await command(
        team, "admin", control, "!set welcome_message Welkom bij Zorggroep Oost!", "is nu"
    )
    v1 = await team.visitor(name="Wacht1")
    v2 = await team.visitor(name="Wacht2")
    welcome = await v1.wait_for(lambda e: e["type"] == "message" and e["sender"] == "bot")
    assert welcome["body"] == "Welkom bij Zorggroep Oost!"
    d1 = (await anna.wait_for(dispatch_for(team, "Wacht1"), what="request 1"))["event_id"]
    await anna.wait_for(dispatch_for(team, "Wacht2"), what="request 2")

    # What a waiting visitor writes appears in the thread of their request ...
    await v1.say("Hoe lang moet ik ongeveer nog wachten?")
    await anna.wait_for(
        lambda e: (
            is_msg(room, body_has="Wacht1: Hoe lang moet ik")(e)
            and e["content"]["m.relates_to"].get("rel_type") == "m.thread"
            and e["content"]["m.relates_to"]["event_id"] == d1
        ),
        what="the visitor's message in the request's thread",
    )
    # ... and a reply in that thread reaches the visitor, before anyone took the chat.
    await anna.send_raw(
        room,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": "Nog ongeveer vijf minuten, excuses!",
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": d1,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": d1},
            },
        },
    )
    await v1.wait_for(staff_says("vijf minuten"), what="the thread reply")
    # The request counts the messages and shows who spoke last.
    await anna.wait_for(
        edit_of(d1, "2 berichten", "laatst aan het woord: medewerker"),
        what="the counter on the request",
    )

    # One visitor, by the number in !waiting; then everyone; then a filter nobody matches.
    await command(team, "anna", room, "!waiting", "2. Wacht2")
    await command(team, "anna", room, "!notify 2 De huisarts is wat later vandaag.", "aan 1")
    await v2.wait_for(staff_says("wat later vandaag"), what="the notification to one")
    await command(team, "anna", room, "!notify all We zijn er bijna, nog even geduld.", "aan 2")
    await v1.wait_for(staff_says("nog even geduld"), what="the notification to all (1)")
    await v2.wait_for(staff_says("nog even geduld"), what="the notification to all (2)")
    assert not [e for e in v1.events if staff_says("wat later vandaag")(e)]
    await command(team, "anna", room, "!notify onhold Hallo daar, wacht even", "niemand")
    await command(team, "anna", room, "!notify", "Gebruik")

    # Whoever takes the chat reads the waiting room's messages in the consult room too.
    await anna.react(room, d1, "Ik!")
    consult = await anna.wait_invite()
    await anna.join(consult)
    history = [e["content"].get("body", "") for e in await anna.history(consult)]
    assert any("Hoe lang moet ik ongeveer" in b for b in history), history
    assert any("vóór het gesprek): Nog ongeveer vijf minuten" in b for b in history), history
    # A late reply in the thread of a taken chat is not lost silently.
    await anna.send_raw(
        room,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": "Nog iets",
            "m.relates_to": {"rel_type": "m.thread", "event_id": d1},
        },
    )
    await anna.wait_for(is_msg(room, body_has="al opgepakt; schrijf"), what="the taken notice")


@pytest.mark.laura_config(
    {"laura.settings.inactivity_timeout": "10s", "laura.settings.inactivity_grace": "10s"}
)
# 30 s of timers whose rows are the same on both databases: once (the run's time budget).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_an_idle_chat_is_warned_then_ended(team: Team) -> None:
    anna = team["anna"]
    visitor, consult = await team.connected("Stilte")
    warning = await visitor.wait_for(
        lambda e: e["type"] == "message" and "een tijdje stil" in e.get("body", ""),
        timeout=60,
        what="the inactivity warning",
    )
    assert "1 minuten" in warning["body"]  # the grace of 10s, rounded up to a minute
    await anna.wait_for(is_msg(consult, body_has="een tijdje stil"), what="the warning for staff")
    # Writing after the warning keeps the chat open ...
    said = time.monotonic()
    await visitor.say("Ik ben er nog hoor, even zoeken.")

    # The warning is taken back at once (read before the next one, 10 s after this) ...
    async def unwarned() -> bool:
        conv = await team.laura.store.conversations.get_by_room(consult)
        return bool(conv and not conv.idle_warned)

    await eventually(unwarned, "the warning taken back", timeout=5)
    # ... and the chat is still open when the warning's grace would have ended it.
    await asyncio.sleep(max(0.0, said + 8 - time.monotonic()))
    assert (await visitor.state())["status"] == "connected"
    # ... and silence after the next warning ends it, on both sides.
    await visitor.wait_status("ended", timeout=70)
    await anna.wait_for(
        is_msg(consult, body_has="gesloten omdat het een tijd stil was"), what="the end for staff"
    )
