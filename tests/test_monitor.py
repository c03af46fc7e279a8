"""Monitoring (S15) against a real Synapse, staff in matrix-nio: an admin or supervisor follows a
live chat in a read-only mirror room, unseen by the visitor and the staff, with every start and
end in the audit log; everybody else is refused."""

from __future__ import annotations

import asyncio
import json
import uuid

import nio
import pytest

from .conftest import ON_POSTGRES, ON_SQLITE, Team
from .helpers import Visitor, eventually, is_msg
from .test_commands import command

pytestmark = pytest.mark.synapse


async def joined(team: Team, user: str, room: str) -> set[str]:
    resp = await team[user].client.joined_members(room)
    assert isinstance(resp, nio.JoinedMembersResponse), resp
    return {m.user_id for m in resp.members}


async def conversation_id(team: Team, visitor: Visitor) -> str:
    """The chat's id, once Laura has recorded the taker's join in its audit (the visitor hears
    "connected" at the take, before the join reaches Laura: audits compared in order below)."""
    session = await team.laura.store.sessions.get_by_id(visitor.session_id)
    assert session and session.conversation_id
    conv_id = session.conversation_id

    async def taker_joined() -> bool:
        records = await team.laura.store.audit.of_conversation(conv_id)
        return any(r.action == "joined" for r in records)

    await eventually(taker_joined, "the taker's join in the audit", timeout=15)
    return conv_id


async def into_control(team: Team, user: str) -> None:
    """Only Laura invites to the control room (its power levels): supervisors she invites
    herself; anyone else (a refusal test) the test invites through her."""
    control = team.rooms["control"]
    staff = team[user]
    if control not in staff.stale_invites:  # a supervisor was invited when the room was made
        await team.laura.bridge.rooms.invite(control, staff.user_id)
        await staff.wait_invite(control)
    await staff.join(control)


async def direct_chat(team: Team, user: str) -> str:
    """A direct chat of user with Laura (she joins one of staff and supervisors)."""
    staff = team[user]
    resp = await staff.client.room_create(
        invite=[team.laura.config.bot_mxid], is_direct=True, preset=nio.RoomPreset.private_chat
    )
    assert isinstance(resp, nio.RoomCreateResponse), resp
    await staff.wait_for(is_msg(resp.room_id, sender=team.laura.config.bot_mxid))
    return resp.room_id


async def gone_from(team: Team, user: str, room: str) -> None:
    """Wait until user is no longer in room (Laura removed them)."""
    client = team[user].client

    async def still_in() -> bool:
        resp = await client.joined_rooms()
        assert isinstance(resp, nio.JoinedRoomsResponse), resp
        return room in resp.rooms

    async with asyncio.timeout(30):
        while await still_in():
            await asyncio.sleep(0.2)


def mirrored(events: list[dict], room: str) -> list[str]:
    return [
        e["content"].get("body", "")
        for e in events
        if e.get("type") == "m.room.message" and e.get("room_id", room) == room
    ]


@ON_POSTGRES
async def test_admin_follows_a_chat_unseen(team: Team) -> None:
    admin, anna = team["admin"], team["anna"]
    control = team.rooms["control"]
    visitor, room = await team.connected("Mirjam")
    conv_id = await conversation_id(team, visitor)
    await visitor.say("Eerste vraag over mijn medicatie van vanochtend")
    await anna.wait_for(is_msg(room, body_has="Eerste vraag over mijn medicatie"))
    await anna.send(room, "Dag Mirjam, welke medicatie bedoelt u precies?")
    await visitor.wait_for(lambda e: "welke medicatie bedoelt" in e.get("body", ""))
    members = await joined(team, "anna", room)
    assert admin.user_id not in members

    # The list of live chats names this one; its number starts monitoring.
    listing = await command(team, "admin", control, "!monitor", "Lopende gesprekken")
    line = next(x for x in listing.splitlines() if conv_id[:6] in x)
    assert "Mirjam" in line and "Huisartsenpraktijk" in line and "met anna" in line, line
    number = line.split(".", 1)[0]
    reply = await command(team, "admin", control, f"!monitor {number}", "Je kijkt nu mee")
    assert conv_id[:6] in reply and "Meekijken" in reply
    mirror = await admin.wait_invite()
    assert mirror != room
    await admin.join(mirror)

    # The mirror holds the chat from the start, then live messages of both sides.
    await admin.wait_for(is_msg(mirror, body_has="Mirjam: Eerste vraag over mijn medicatie"))
    await admin.wait_for(is_msg(mirror, body_has="anna: Dag Mirjam, welke medicatie"))
    await admin.wait_for(is_msg(mirror, body_has="verbonden met een medewerker"))
    await visitor.say("Het gaat om de bloeddrukpillen die ik sinds maart slik")
    await admin.wait_for(is_msg(mirror, body_has="Mirjam: Het gaat om de bloeddrukpillen"))
    await anna.send(room, "Dank u, dan kijk ik even in uw dossier")
    await admin.wait_for(is_msg(mirror, body_has="anna: Dank u, dan kijk ik even"))

    # Read-only for the supervisor; invisible in the consult room.
    refused = await admin.client.room_send(
        mirror, "m.room.message", {"msgtype": "m.text", "body": "!help"}, tx_id=uuid.uuid4().hex
    )
    assert not isinstance(refused, nio.RoomSendResponse), refused
    assert await joined(team, "anna", room) == members
    assert not any(e.get("room_id") == room for e in admin.events)
    # Following it again changes nothing; the audit log shows the start.
    await command(team, "admin", control, f"!monitor {conv_id[:6]}", "al mee")
    audit = await command(team, "admin", control, f"!audit {conv_id[:8]}", "Auditlog")
    assert f"{admin.user_id}: begon mee te kijken" in audit, audit
    # No line twice.
    lines = [b for b in mirrored(await admin.history(mirror), mirror) if b]
    assert len(lines) == len(set(lines)), lines

    # The chat ends: monitoring ends with it, and Laura closes the room.
    await anna.send(room, "!close")
    await admin.wait_for(is_msg(mirror, body_has="gesprek beëindigd"))
    await admin.wait_for(is_msg(mirror, body_has="meekijken is gestopt"))
    await gone_from(team, "admin", mirror)
    audit = await command(team, "admin", control, f"!audit {conv_id}", "stopte met meekijken")
    assert "(gesprek beëindigd)" in audit, audit
    mon = await team.laura.store.monitors.all_active(conv_id)
    assert mon == []
    await command(team, "admin", control, f"!monitor {conv_id[:6]}", "al beëindigd")

    # The visitor's side never heard of it; the consult room's members never changed.
    await visitor.poll(timeout=0)
    seen = json.dumps(visitor.events, ensure_ascii=False).lower()
    for word in ("meekijk", "monitor", "admin", "audit"):
        assert word not in seen, word
    assert admin.user_id not in await joined(team, "anna", room)


@pytest.mark.laura_config({"laura.supervisors": ["@carla:localhost"]})
@ON_SQLITE
async def test_supervisor_restart_stop_and_refusal(team: Team) -> None:
    carla = team["carla"]
    control = team.rooms["control"]
    await into_control(team, "bram")
    # A supervisor is not in the control room (admins' case exports are not theirs to read):
    # they monitor from a direct chat with Laura.
    assert control not in carla.stale_invites | carla.invites
    direct = await direct_chat(team, "carla")
    visitor, room = await team.connected("Joris")
    conv_id = await conversation_id(team, visitor)
    short = conv_id[:6]

    # Staff who are neither admin nor supervisor are refused, and nothing starts.
    for text in ("!monitor", f"!monitor {short}"):
        await command(team, "bram", control, text, "Alleen beheerders en supervisors")
    await command(team, "bram", control, f"!audit {short}", "Alleen beheerders")
    assert await team.laura.store.monitors.all_active(conv_id) == []
    records = await team.laura.store.audit.of_conversation(conv_id)
    assert [r.action for r in records] == ["joined"]  # anna's, when she took the chat
    # Names that are no chat say so.
    await command(team, "carla", direct, "!monitor 99", "geen lopend gesprek met nummer 99")
    await command(team, "carla", direct, "!monitor x!y", "is geen gesprek")
    await command(team, "carla", direct, "!monitor 0123456789ab", "geen gesprek met code")
    await command(team, "carla", direct, f"!monitor stop {short}", "keek niet mee")

    # A supervisor follows by the code in the consult room's name.
    await command(team, "carla", direct, f"!monitor {short}", "Je kijkt nu mee")
    mirror = await carla.wait_invite()
    await carla.join(mirror)
    await visitor.say("Bericht van Joris voor de herstart")
    await carla.wait_for(is_msg(mirror, body_has="Joris: Bericht van Joris voor de herstart"))

    # A restart: monitoring resumes, nothing is lost or repeated.
    await team.handle.stop()
    await team.handle.start()
    await visitor.say("Bericht van Joris na de herstart")
    await carla.wait_for(is_msg(mirror, body_has="Joris: Bericht van Joris na de herstart"))
    await team["anna"].send(room, "Antwoord van anna na de herstart")
    await carla.wait_for(is_msg(mirror, body_has="anna: Antwoord van anna na de herstart"))
    lines = [b for b in mirrored(await carla.history(mirror), mirror) if b]
    assert len(lines) == len(set(lines)), lines
    assert sum("voor de herstart" in b for b in lines) == 1, lines

    # Stopping by command: the room is closed, the chat goes on without the mirror.
    await command(team, "carla", direct, f"!monitor stop {short}", "niet meer mee")
    await carla.wait_for(is_msg(mirror, body_has="Meekijken is gestopt"))
    await gone_from(team, "carla", mirror)
    await visitor.say("Bericht van Joris nadat niemand meer meekeek")
    await team["anna"].wait_for(is_msg(room, body_has="nadat niemand meer meekeek"))
    await asyncio.sleep(1)
    assert not any("nadat niemand" in b for b in mirrored(carla.events, mirror))
    records = await team.laura.store.audit.of_conversation(conv_id)
    assert [(r.actor, r.action, r.detail) for r in records] == [
        (team["anna"].user_id, "joined", None),  # the taker
        (carla.user_id, "monitor_start", None),
        (carla.user_id, "monitor_end", "stopped"),
    ]
    assert carla.user_id not in await joined(team, "anna", room)


async def test_restore_ends_monitoring_of_a_chat_that_ended_meanwhile(team: Team) -> None:
    """Laura "crashes" as the chat ends, before monitoring heard of it (the end hook and the
    mirror's pump never ran): at the next start monitoring ends too, with the rest of the chat,
    the final notice and an audit record."""
    admin = team["admin"]
    visitor, room = await team.connected("Sanne")
    conv_id = await conversation_id(team, visitor)
    await command(team, "admin", team.rooms["control"], f"!monitor {conv_id}", "Je kijkt nu mee")
    mirror = await admin.wait_invite()
    await admin.join(mirror)
    await admin.wait_for(is_msg(mirror, body_has="verbonden met een medewerker"))
    team.laura.lifecycle.after_end.remove(team.laura.monitors.chat_ended)
    team.laura.monitors.runner._closed = True
    await team["anna"].send(room, "!close")
    await visitor.wait_status("ended")
    assert len(await team.laura.store.monitors.all_active(conv_id)) == 1
    await team.handle.stop()
    await team.handle.start()
    await admin.wait_for(is_msg(mirror, body_has="gesprek beëindigd"))
    await admin.wait_for(is_msg(mirror, body_has="meekijken is gestopt"))
    await gone_from(team, "admin", mirror)
    actions = [r.action for r in await team.laura.store.audit.of_conversation(conv_id)]
    assert actions == ["joined", "monitor_start", "monitor_end"]  # joined: the taker
