"""The staff toolkit (#8) against a real Synapse, staff in matrix-nio: colleagues and transfer,
nicknames, and the visitor's side of ending a chat (new chat, rating)."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import ON_POSTGRES, ON_SQLITE, Team
from .helpers import Visitor, is_msg

pytestmark = pytest.mark.synapse


async def place(visitor: Visitor) -> int | None:
    """The queue position, once the queue has taken the chat in (just after its status)."""
    for _ in range(50):
        state = await visitor.state()
        if state["queue_position"] is not None:
            return int(state["queue_position"])
        await asyncio.sleep(0.1)
    return None


async def staff_seen(visitor: Visitor, expected: list[dict]) -> list[dict]:
    """The staff the visitor's session shows, once Laura handled the joins."""
    for _ in range(100):
        staff = (await visitor.state())["staff"]
        if staff == expected:
            break
        await asyncio.sleep(0.1)
    return staff


async def joined(team: Team, user: str, room: str) -> set[str]:
    resp = await team[user].client.joined_members(room)
    return {m.user_id for m in resp.members}


async def test_invite_transfer_and_leaving(team: Team) -> None:
    anna, bram = team["anna"], team["bram"]
    visitor, room = await team.connected("Mila")
    await visitor.say("Mijn vraag gaat over de griepprik voor mijn moeder")
    await anna.wait_for(is_msg(room, body_has="griepprik"))

    # The last staff member cannot leave the visitor alone.
    await anna.send(room, "!leave")
    await anna.wait_for(is_msg(room, body_has="laatste medewerker", msgtype="m.notice"))
    # Element's own invite is not theirs to use; !invite brings a colleague, who reads it all.
    await anna.send(room, "!invite @outsider:localhost")
    await anna.wait_for(is_msg(room, body_has="geen medewerker", msgtype="m.notice"))
    await anna.send(room, "!invite @bram:localhost")
    await anna.wait_for(is_msg(room, body_has="is uitgenodigd", msgtype="m.notice"))
    await bram.wait_invite(room)
    await bram.join(room)
    await visitor.wait_for(lambda e: e.get("body", "").startswith("bram neemt deel"))
    history = await bram.history(room)
    assert any("griepprik" in e.get("content", {}).get("body", "") for e in history)

    # Transfer: anna leaves, bram carries on; the visitor hears it by name.
    await anna.send(room, "!leave")
    await visitor.wait_for(
        lambda e: e.get("body", "").startswith("anna heeft het gesprek verlaten")
    )
    assert "@anna:localhost" not in await joined(team, "bram", room)
    await bram.send(room, "Ik neem het over van mijn collega")
    await visitor.wait_for(
        lambda e: e.get("name") == "bram" and "neem het over" in e.get("body", "")
    )
    assert await staff_seen(visitor, [{"name": "bram"}]) == [{"name": "bram"}]

    # bram, now alone, hands the visitor back: first in line again, a new dispatch round.
    other = await team.visitor(name="Noor")
    await anna.wait_for(is_msg(team.rooms["huisarts"], body_has="van Noor", msgtype="m.text"))
    await bram.send(room, "!leave queue")
    await bram.wait_for(is_msg(room, body_has="vooraan in de wachtrij", msgtype="m.notice"))
    await visitor.wait_status("waiting")
    assert await place(visitor) == 1
    assert await place(other) == 2

    # anna takes it again from the new request and lands in the same room, with the history.
    def requests() -> list[dict]:
        return [
            e
            for e in anna.events
            if is_msg(team.rooms["huisarts"], body_has="van Mila", msgtype="m.text")(e)
            and "m.relates_to" not in e["content"]
        ]

    await anna.wait_for(lambda e: len(requests()) == 2, what="a new dispatch round")
    await anna.react(team.rooms["huisarts"], requests()[-1]["event_id"], "Ik!")
    await visitor.wait_for(
        lambda e: (
            sum(x["type"] == "status" and x["status"] == "connected" for x in visitor.events) == 2
        )
    )
    await anna.wait_invite(room)
    await anna.join(room)
    assert "@anna:localhost" in await joined(team, "anna", room)


async def test_leaving_through_element_hands_the_visitor_back(team: Team) -> None:
    anna = team["anna"]
    visitor, room = await team.connected("Olaf")
    await anna.client.room_leave(room)
    await visitor.wait_for(lambda e: e.get("body", "").startswith("Je medewerker moest"))
    assert (await visitor.state())["status"] == "waiting"
    assert await place(visitor) == 1


@ON_SQLITE
async def test_nickname(team: Team) -> None:
    anna = team["anna"]
    await anna.send(team.rooms["huisarts"], "!nick Zuster Anna")
    await anna.wait_for(is_msg(team.rooms["huisarts"], body_has="voortaan als Zuster Anna"))
    try:
        visitor, room = await team.connected("Pien")
        assert await staff_seen(visitor, [{"name": "Zuster Anna"}]) == [{"name": "Zuster Anna"}]
        await anna.send(room, "Goedemiddag, waarmee kan ik helpen?")
        msg = await visitor.wait_for(
            lambda e: e.get("body") == "Goedemiddag, waarmee kan ik helpen?"
        )
        assert msg["name"] == "Zuster Anna"
        await anna.send(room, "!nick Anna de Vries")
        await anna.wait_for(is_msg(room, body_has="voortaan als Anna de Vries"))
        assert await staff_seen(visitor, [{"name": "Anna de Vries"}]) == [
            {"name": "Anna de Vries"}
        ]
        await anna.send(room, "!nick -")
        await anna.wait_for(is_msg(room, body_has="weer je Matrix-naam"))
        assert await staff_seen(visitor, [{"name": "anna"}]) == [{"name": "anna"}]
    finally:
        await team.laura.store.staff_members.set_nickname("@anna:localhost", None)


async def rate(visitor: Visitor, body: dict) -> tuple[int, dict]:
    return await visitor.call("POST", f"/sessions/{visitor.session_id}/rating", body)


async def test_ending_rating_and_new_chat(team: Team) -> None:
    anna = team["anna"]
    visitor = Visitor(team.handle.api)
    team._visitors.append(visitor)
    await visitor.start(name="Quinten", topic="huisarts", email="quinten@example.org")
    request = await anna.wait_for(
        lambda e: (
            is_msg(team.rooms["huisarts"], body_has="van Quinten", msgtype="m.text")(e)
            and "m.relates_to" not in e["content"]
        )
    )
    # Not ended yet: no rating, no new chat.
    status, body = await rate(visitor, {"stars": 5})
    assert status == 409 and body["error"]["code"] == "not_ratable"
    await anna.react(team.rooms["huisarts"], request["event_id"], "Ik!")
    room = await anna.wait_invite()
    await anna.join(room)
    await visitor.wait_status("connected")
    status, body = await visitor.call("POST", f"/sessions/{visitor.session_id}/restart")
    assert status == 409 and body["error"]["code"] == "chat_not_ended"
    await visitor.say("Dank u wel, dat was alles wat ik wilde weten")
    await visitor.call("POST", f"/sessions/{visitor.session_id}/end", {}, expect=200)
    state = await visitor.state()
    assert state["status"] == "ended" and state["can_rate"] is True
    first_chat = state["conversation_id"]

    # 1-2 stars need a comment; the rating is given once and reaches the consult room.
    for bad in ({"stars": 0}, {"stars": 6}, {"stars": "5"}, {"stars": True}, {"stars": 2}):
        status, body = await rate(visitor, bad)
        assert status == 400, (bad, body)
    assert body["error"]["code"] == "comment_required"
    status, body = await rate(visitor, {"stars": 2, "comment": "Het duurde lang voor iemand kwam"})
    assert status == 201 and body["rating"] == 2 and body["can_rate"] is False
    status, body = await rate(visitor, {"stars": 5})
    assert status == 409 and body["error"]["code"] == "already_rated"
    await anna.wait_for(is_msg(room, body_has="★★☆☆☆ — Het duurde lang", msgtype="m.notice"))
    admin = team["admin"]
    await admin.send(team.rooms["control"], "!stats")
    await admin.wait_for(is_msg(team.rooms["control"], body_has="gemiddeld 2.0 sterren (1x)"))

    # A new chat in the same session: details kept, the old chat still readable.
    _, state = await visitor.call("POST", f"/sessions/{visitor.session_id}/restart", expect=200)
    assert state["status"] == "choosing" and state["conversation_id"] != first_chat
    await visitor.poll(timeout=0)
    assert any(
        e.get("body") == "Dank u wel, dat was alles wat ik wilde weten" for e in visitor.events
    )
    await visitor.topic("huisarts")
    again = await anna.wait_for(
        lambda e: (
            is_msg(team.rooms["huisarts"], body_has="van Quinten", msgtype="m.text")(e)
            and "m.relates_to" not in e["content"]
            and e["event_id"] != request["event_id"]
        )
    )
    assert again
    session = await team.laura.store.sessions.get_by_id(visitor.session_id)
    assert session and session.email == "quinten@example.org" and session.name == "Quinten"


@ON_POSTGRES
async def test_mistyped_and_edited_commands_do_not_reach_the_visitor(team: Team) -> None:
    anna = team["anna"]
    visitor, room = await team.connected("Roos")
    await anna.send_raw(
        room,
        "m.room.message",
        {"msgtype": "m.text", "body": "!caes Valpartij | Medisch | interne notitie over roos"},
    )
    await anna.wait_for(is_msg(room, body_has="Bedoelde je !case", msgtype="m.notice"))
    first = await anna.send(room, "Een ogenblik alstublieft")
    edit = {
        "msgtype": "m.text",
        "body": "* !case Valpartij | Medisch | tweede interne notitie",
        "m.new_content": {
            "msgtype": "m.text",
            "body": "!case Valpartij | Medisch | tweede interne notitie",
        },
        "m.relates_to": {"rel_type": "m.replace", "event_id": first},
    }
    await anna.send_raw(room, "m.room.message", edit)
    await anna.wait_for(is_msg(room, body_has="bewerkt commando", msgtype="m.notice"))
    # A command sent as a reply by a client that still quotes the message replied to.
    quoted = await visitor.say("Mag ik iets vragen over mijn val?")
    assert quoted
    asked = await anna.wait_for(is_msg(room, body_has="over mijn val"))
    fallback = {
        "msgtype": "m.text",
        "body": f"> <{asked['sender']}> Mag ik iets vragen over mijn val?\n\n"
        "!case Val | Medisch | derde interne notitie via een antwoord",
        "m.relates_to": {"m.in_reply_to": {"event_id": asked["event_id"]}},
    }
    await anna.send_raw(room, "m.room.message", fallback)
    await anna.wait_for(is_msg(room, body_has="Casus opgeslagen", msgtype="m.notice"))
    await anna.send(room, "Nu ben ik er weer")
    await visitor.wait_for(lambda e: e.get("body") == "Nu ben ik er weer")
    assert not any("notitie" in str(e.get("body")) for e in visitor.events)
