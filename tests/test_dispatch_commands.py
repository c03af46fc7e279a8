"""Dispatch-room commands: !waiting lists the queue, !take <n> takes a chat early (S13)."""

from __future__ import annotations

import pytest

from tests.conftest import ON_POSTGRES, Team
from tests.helpers import reply_to
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
    await command(team, "anna", room, "!take 5", "Nummer 5 staat niet in de lijst")
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
    # Numbers are those of the last listing: after it moved on, "2" is still Tweede (taken).
    await command(team, "bram", room, "!take 2", "al opgepakt door")
    listing = await command(team, "bram", room, "!waiting", "1. Eerste")
    assert "Tweede" not in listing and "Wachtend voor Huisartsenpraktijk" in listing
    # A late "Ik!" on the taken one gets the usual polite answer.
    await bram.react(room, dispatch["event_id"], "Ik!")
    await bram.wait_for(
        lambda e: "al opgepakt door" in e.get("content", {}).get("body", ""),
        what="already taken",
    )


@ON_POSTGRES
async def test_dispatch_command_names_are_held_back_in_a_consult_room(team: Team) -> None:
    """Only commands allowed in a consult room run there; one of another room never reaches
    the visitor either (issue #22: "!take 1", "!set …" would have), and its sender is told
    where it works. "!Take care" is held too: it starts with !take. Whatever does not start
    with a command's name is for the visitor."""
    anna = team["anna"]
    visitor, consult = await team.connected("Zorg")
    held = await anna.send(consult, "!Take care, en tot morgen.")
    body = await reply_to(anna, consult, held, "!Take")
    assert body.startswith("!take werkt niet in een gesprek met een bezoeker, maar in de ruimte")
    await anna.send(consult, "!!! Let op: neem je medicijnen mee.")
    await visitor.wait_for(lambda e: e.get("body") == "!!! Let op: neem je medicijnen mee.")
    assert not [e for e in visitor.events if "Take care" in str(e.get("body"))]
