"""Dispatch-room commands: !waiting lists the queue, !take <n> takes a chat early (S13)."""

from __future__ import annotations

import pytest

from tests.conftest import Team
from tests.test_commands import command
from tests.test_flow import dispatch_for

pytestmark = pytest.mark.synapse


async def test_waiting_and_take(team: Team) -> None:
    anna, bram = team["anna"], team["bram"]
    room = team.rooms["huisarts"]
    await command(team, "anna", room, "!waiting", "Er wacht nu niemand")
    first = await team.visitor(name="Eerste")
    second = await team.visitor(name="Tweede")
    listing = await command(team, "anna", room, "!waiting", "1. Eerste")
    assert "2. Tweede" in listing
    help_text = await command(team, "anna", room, "!help", "!take <nr>")
    assert "!waiting" in help_text and "!set" not in help_text
    await command(team, "anna", room, "!take", "Gebruik: !take <nr>")
    await command(team, "anna", room, "!take 5", "Er is geen nummer 5")
    # Anna takes the second one early, exactly as "Ik!" would.
    await command(team, "anna", room, "!take 2", "met Tweede opgepakt")
    await second.wait_status("connected")
    consult = await anna.wait_invite()
    await anna.join(consult)
    assert (await first.state())["status"] == "waiting"
    # The dispatch message says who took it, as for a reaction.
    dispatch = await bram.wait_for(dispatch_for(team, "Tweede"))
    await bram.wait_for(
        lambda e: (
            e["content"].get("m.relates_to", {}).get("event_id") == dispatch["event_id"]
            and "Opgepakt door" in e["content"].get("m.new_content", {}).get("body", "")
        ),
        what="the dispatch message edited",
    )
    listing = await command(team, "bram", room, "!waiting", "1. Eerste")
    assert "Tweede" not in listing
    # A late "Ik!" on the taken one gets the usual polite answer.
    await bram.react(room, dispatch["event_id"], "Ik!")
    await bram.wait_for(
        lambda e: "al opgepakt door" in e.get("content", {}).get("body", ""),
        what="already taken",
    )
