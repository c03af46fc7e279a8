"""Routing and availability (S10–S12, V13): nobody who is away is asked, capacity is respected,
a chat that waits is offered again the moment someone is free, one-at-a-time passes on in a
fair order, and business hours close and open the widget. Staff are matrix-nio clients."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ON_POSTGRES, ON_SQLITE, Team
from tests.helpers import Visitor, eventually, is_msg
from tests.test_commands import command
from tests.test_flow import dispatch_for

pytestmark = pytest.mark.synapse

DAYS = ["ma", "di", "wo", "do", "vr", "za", "zo"]


def mentions(event: dict) -> list[str]:  # type: ignore[type-arg]
    return sorted(event["content"].get("m.mentions", {}).get("user_ids", []))


def asks(team: Team, nickname: str):  # type: ignore[no-untyped-def]
    """A reply to a request that mentions someone (asked again, or offered one at a time)."""
    room = team.rooms["huisarts"]
    again = is_msg(room, body_has=f"{nickname} wacht nog", msgtype="m.text")
    offer = is_msg(room, body_has=f"Wil jij {nickname} helpen", msgtype="m.text")
    return lambda e: (
        (again(e) or offer(e)) and "m.in_reply_to" in e["content"].get("m.relates_to", {})
    )


@ON_POSTGRES
async def test_offline_staff_are_not_asked_and_are_asked_when_back(team: Team) -> None:
    anna, bram = team["anna"], team["bram"]
    room = team.rooms["huisarts"]
    await command(team, "bram", room, "!status offline", "nu niet beschikbaar")
    await team.visitor(name="Olga")
    dispatch = await anna.wait_for(dispatch_for(team, "Olga"), what="the request")
    assert mentions(dispatch) == [anna.user_id]
    await command(team, "bram", room, "!status online", "beschikbaar")
    again = await bram.wait_for(asks(team, "Olga"), what="the request, asked again")
    assert mentions(again) == [bram.user_id]
    assert again["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == dispatch["event_id"]
    # !stats shows each person's state for the admins.
    await command(team, "admin", team.rooms["control"], "!stats", "@bram:localhost: online")


@ON_SQLITE
async def test_presence_offline_is_unavailable_until_back(team: Team) -> None:
    anna, bram = team["anna"], team["bram"]
    store = team.laura.store.staff_members
    # Every client of bram's gone: his presence goes offline (nio syncs as offline from now).
    await bram.client.set_presence("offline")

    async def bram_is(presence: str) -> bool:
        return (await store.get(bram.user_id)).presence == presence

    # Synapse combines the presence of all of bram's devices: the client of the test before
    # this one counts as online until it has not synced for 30 s.
    await eventually(lambda: bram_is("offline"), "bram's presence offline reach Laura", timeout=75)
    await team.visitor(name="Pien")
    dispatch = await anna.wait_for(dispatch_for(team, "Pien"), what="the request")
    assert mentions(dispatch) == [anna.user_id]
    member = await store.get(bram.user_id)
    assert member.status == "online"  # his own choice is kept ...
    await bram.client.set_presence("online")  # ... and counts again when he is back
    again = await bram.wait_for(asks(team, "Pien"), what="the request, asked again")
    assert mentions(again) == [bram.user_id]


@ON_POSTGRES
async def test_presence_missed_while_laura_was_down_is_read_at_start(team: Team) -> None:
    """Synapse drops the presence changes it could not push while Laura was down. bram came
    back meanwhile (his client syncs, so Synapse has him online) but Laura's record says he is
    away: at her start she reads everyone's presence, and he is asked for the next chat."""
    anna, bram = team["anna"], team["bram"]
    # The record as a missed return leaves it (Laura stopped right after), then a start.
    await team.laura.store.staff_members.set_presence(bram.user_id, "offline")
    await team.handle.stop()
    await team.handle.start()
    member = await team.laura.store.staff_members.get(bram.user_id)
    assert member is not None and member.presence != "offline", member
    await team.visitor(name="Rik")
    dispatch = await anna.wait_for(dispatch_for(team, "Rik"), what="the request")
    assert bram.user_id in mentions(dispatch)


async def test_capacity_is_respected_and_freed_capacity_reoffers_at_once(team: Team) -> None:
    anna = team["anna"]
    room = team.rooms["huisarts"]
    await command(team, "bram", room, "!status offline", "offline")
    await command(team, "anna", room, "!capacity 1", "0 van 1 gesprekken")
    _, consult = await team.connected("Eerste", staff="anna")
    await team.visitor(name="Tweede")
    dispatch = await anna.wait_for(dispatch_for(team, "Tweede"), what="the second request")
    assert mentions(dispatch) == []  # anna is full, bram is offline
    assert "niemand beschikbaar" in dispatch["content"]["body"]
    await command(team, "anna", consult, "!close", "gesloten")
    again = await anna.wait_for(asks(team, "Tweede"), what="the waiting chat, offered again")
    assert mentions(again) == [anna.user_id]


@pytest.mark.laura_config({"laura.settings.offer_timeout": "10s"})
@ON_POSTGRES
async def test_one_at_a_time_passes_on_decline_and_timeout(team: Team) -> None:
    anna, bram = team["anna"], team["bram"]
    room = team.rooms["huisarts"]
    await command(
        team, "admin", team.rooms["control"], "!routing huisarts one-at-a-time", "één tegelijk"
    )
    visitor = await team.visitor(name="Rij")
    dispatch = await anna.wait_for(dispatch_for(team, "Rij"), what="the request")
    # Fair order: nobody runs a chat or ever took one, so by id: anna first.
    assert mentions(dispatch) == [anna.user_id]
    assert "Aangeboden aan" in dispatch["content"]["body"]
    await anna.react(room, dispatch["event_id"], "Ik kan nu niet")
    offer = await bram.wait_for(asks(team, "Rij"), what="the offer to bram")
    assert mentions(offer) == [bram.user_id]
    # The request itself shows, by an edit, who has it now.
    edit = await bram.wait_for(
        lambda e: (
            e.get("type") == "m.room.message"
            and e["content"].get("m.relates_to", {}).get("rel_type") == "m.replace"
            and e["content"]["m.relates_to"]["event_id"] == dispatch["event_id"]
            and "bram" in e["content"]["m.new_content"]["body"]
        ),
        what="the edit showing the offer to bram",
    )
    assert "Aangeboden aan" in edit["content"]["m.new_content"]["body"]
    # bram lets it pass: nobody is left, so the visitor is asked for contact details.
    await visitor.wait_status("contact", timeout=40)
    conv = await team.laura.store.conversations.get_by_dispatch_event(dispatch["event_id"])
    assert conv
    offers = await team.laura.store.offers.of_round(conv.id, conv.dispatch_txn_id or "")
    assert {(o.user_id, o.outcome) for o in offers} == {
        (anna.user_id, "declined"),
        (bram.user_id, "timeout"),
    }


async def test_one_at_a_time_offers_the_least_busy_first(team: Team) -> None:
    bram = team["bram"]
    await command(
        team, "admin", team.rooms["control"], "!routing huisarts one-at-a-time", "één tegelijk"
    )
    await team.connected("Bezig", staff="anna")  # anna runs a chat now
    await team.visitor(name="Volgende")
    dispatch = await bram.wait_for(dispatch_for(team, "Volgende"), what="the request")
    assert mentions(dispatch) == [bram.user_id]


@pytest.mark.laura_config({"laura.settings.offer_timeout": "10s"})
@ON_POSTGRES
async def test_an_offer_survives_a_restart(team: Team) -> None:
    anna, bram = team["anna"], team["bram"]
    await command(
        team, "admin", team.rooms["control"], "!routing huisarts one-at-a-time", "één tegelijk"
    )
    await team.visitor(name="Herstart")
    dispatch = await anna.wait_for(dispatch_for(team, "Herstart"), what="the request")
    assert mentions(dispatch) == [anna.user_id]
    await team.handle.stop()
    await team.handle.start()
    offer = await bram.wait_for(asks(team, "Herstart"), timeout=40, what="the offer to bram")
    assert mentions(offer) == [bram.user_id]
    await asyncio.sleep(2)
    to_bram = [e for e in bram.events if asks(team, "Herstart")(e)]
    assert len(to_bram) == 1, "offered twice"


@ON_SQLITE
async def test_business_hours_and_closed_days_close_the_widget(team: Team) -> None:
    control = team.rooms["control"]
    v = Visitor(team.handle.api)
    try:

        async def topics() -> dict[str, bool]:
            _, widget = await v.call("GET", "/widget?lang=en", headers={}, expect=200)
            assert widget["out_of_office"].startswith("Nobody is available")
            return {t["id"]: t["available"] for t in widget["topics"]}

        assert await topics() == {"huisarts": True, "thuiszorg": True}
        now = datetime.now(ZoneInfo("Europe/Amsterdam"))
        other_day = DAYS[(now.weekday() + 3) % 7]
        await command(team, "admin", control, f"!hours huisarts {other_day} 09:00-17:00", "09:00")
        assert (await topics())["huisarts"] is False
        await v.start(name="Laat")
        status, body = await v.call(
            "POST", f"/sessions/{v.session_id}/topic", {"topic_id": "huisarts"}
        )
        assert status == 409 and body["error"]["code"] == "topic_closed", body
        await command(team, "admin", control, "!hours huisarts always", "altijd")
        assert (await topics())["huisarts"] is True
        # Today as it is now (Amsterdam's midnight may have passed since `now`).
        today = datetime.now(ZoneInfo("Europe/Amsterdam")).date().isoformat()
        await command(team, "admin", control, f"!hours closed {today} huisarts Kerst", "gesloten")
        assert (await topics())["huisarts"] is False
        await command(team, "admin", control, "!hours", "Kerst")
        await command(team, "admin", control, f"!hours open {today} huisarts", "weer open")
        assert (await topics())["huisarts"] is True
        tomorrow = (now + timedelta(days=1)).date().isoformat()
        await command(team, "admin", control, "!hours huisarts nooit 9-17", "geen dagen")
        await command(team, "admin", control, f"!hours closed {tomorrow}", "alle afdelingen")
        # Nobody in thuiszorg available: carla is offline.
        await command(team, "carla", team.rooms["thuiszorg"], "!status offline", "offline")
        assert (await topics())["thuiszorg"] is False
        # The offline form: contact details before any topic is chosen, for a department.
        await v.call(
            "POST",
            f"/sessions/{v.session_id}/contact-request",
            {"phone": "+31 6 1234 5678", "topic_id": "thuiszorg"},
            expect=201,
        )
        posted = await team["admin"].wait_for(
            is_msg(team.rooms["contact"], body_has="Contactverzoek over Thuiszorg"),
            what="the contact request",
        )
        assert "+31 6 1234 5678" in posted["content"]["body"]
    finally:
        await v.close()


@ON_SQLITE
async def test_direct_chat_with_laura(team: Team) -> None:
    anna, outsider = team["anna"], team["outsider"]
    laura = team.laura.config["appservice.bot_localpart"]
    resp = await anna.client.room_create(invite=[f"@{laura}:localhost"], is_direct=True)
    dm = resp.room_id  # type: ignore[union-attr]
    await anna.wait_for(is_msg(dm, body_has="!status"), what="Laura's hello in the DM")
    await command(team, "anna", dm, "!status auto", "geen rooster")
    await command(team, "anna", dm, "!availability ma-zo 00:00-24:00", "ma–zo 00:00–24:00")
    await command(team, "anna", dm, "!status", "beschikbaar")
    await command(team, "anna", dm, "!availability ma-vr 25:00-26:00", "geen tijd")
    await command(team, "anna", dm, "!capacity 0", "Gebruik")
    await command(team, "anna", dm, "!help", "!status online|auto|offline")
    # A stranger cannot pull Laura into a room.
    resp = await outsider.client.room_create(invite=[f"@{laura}:localhost"])
    room = resp.room_id  # type: ignore[union-attr]
    await outsider.wait_for(
        lambda e: (
            e.get("room_id") == room
            and e.get("type") == "m.room.member"
            and e.get("state_key") == f"@{laura}:localhost"
            and e["content"].get("membership") == "leave"
        ),
        what="Laura declining the stranger's invite",
    )
