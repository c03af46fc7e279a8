"""Escalation: a chat that waits too long is announced again, louder, so nobody is missed
(the whole department again, then the admins); a claim stops it."""

from __future__ import annotations

import pytest

from tests.conftest import ON_POSTGRES, Team
from tests.helpers import is_msg
from tests.test_flow import dispatch_for

pytestmark = pytest.mark.synapse


@pytest.mark.laura_config(
    {"laura.settings.escalation_after": "10s", "laura.settings.dispatch_timeout": "1h"}
)
# 20 s of timers whose rows are the same on both databases: once (the run's time budget).
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_long_wait_is_escalated_then_stops_when_taken(team: Team) -> None:
    anna, bram, admin = team["anna"], team["bram"], team["admin"]
    room = team.rooms["huisarts"]
    visitor = await team.visitor(name="Geduld")
    dispatch = await anna.wait_for(dispatch_for(team, "Geduld"))
    # Level 1: the department again, as a reply to the request, with mentions (it notifies).
    again = await bram.wait_for(
        is_msg(room, body_has="Geduld wacht nog steeds", msgtype="m.text"),
        timeout=40,
        what="the department escalation",
    )
    assert set(again["content"]["m.mentions"]["user_ids"]) == {anna.user_id, bram.user_id}
    in_reply = again["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
    assert in_reply == dispatch["event_id"]
    # Level 2: the admins, in the control room.
    call = await admin.wait_for(
        is_msg(team.rooms["control"], body_has="Geduld wacht al sinds", msgtype="m.text"),
        timeout=40,
        what="the admin escalation",
    )
    assert call["content"]["m.mentions"]["user_ids"] == [admin.user_id]
    # Taking it ends the escalation; nothing more is announced for it.
    await anna.react(room, dispatch["event_id"], "Ik!")
    await visitor.wait_status("connected")
    conv = await team.laura.store.conversations.get_by_dispatch_event(dispatch["event_id"])
    assert conv and conv.escalation_level == conv.escalation_posted == 2
    assert conv.escalate_at is None


@pytest.mark.laura_config(
    {"laura.settings.escalation_after": "10s", "laura.settings.dispatch_timeout": "1h"}
)
@ON_POSTGRES
async def test_escalation_deadline_survives_a_restart(team: Team) -> None:
    bram = team["bram"]
    await team.visitor(name="Herstart")
    await bram.wait_for(dispatch_for(team, "Herstart"))
    await team.handle.stop()
    await team.handle.start()
    await bram.wait_for(
        is_msg(team.rooms["huisarts"], body_has="Herstart wacht nog steeds", msgtype="m.text"),
        timeout=40,
        what="the escalation after a restart",
    )
