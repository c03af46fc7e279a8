"""A Laura restart in the middle of conversations: nothing lost, nothing doubled, timers fire."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import Team
from tests.helpers import is_msg

pytestmark = pytest.mark.synapse


@pytest.mark.laura_config({"laura.settings.dispatch_timeout": "10s"})
async def test_restart_mid_conversation(team: Team) -> None:
    anna = team["anna"]
    visitor, consult = await team.connected("Bart")
    waiting = await team.visitor(name="Wachter")  # its dispatch deadline passes while we work

    # 1. A visitor message is committed, then Laura "crashes" before delivering it.
    team.laura.matrix_runner._closed = True
    await visitor.say("bericht van voor de crash", txn="crash-1")
    # 2. A staff message reaches the inbox, then Laura "crashes" before handling it.
    team.laura.router.runner._closed = True
    staff_event = await anna.send(consult, "bericht tijdens de crash")
    async with asyncio.timeout(20):
        while not await team.laura.store.inbox.count(staff_event):
            await asyncio.sleep(0.1)
    await team.handle.stop()

    # 3. While Laura is down, staff keep talking; Synapse queues the events.
    await anna.send(consult, "bericht terwijl Laura uit staat")
    await asyncio.sleep(1)

    await team.handle.start()
    for text in ("bericht tijdens de crash", "bericht terwijl Laura uit staat"):
        await visitor.wait_for(lambda e, t=text: e.get("body") == t, what=text)
    await anna.wait_for(is_msg(consult, body_has="bericht van voor de crash"))
    # The visitor can go on after the restart, and the retried txn is not doubled.
    assert await visitor.say("bericht van voor de crash", txn="crash-1") > 0
    await visitor.say("na de herstart")
    await anna.wait_for(is_msg(consult, body_has="na de herstart"))

    # 4. The waiting visitor's dispatch timer still fires.
    await waiting.wait_status("contact", timeout=30)

    # Exactly once, everywhere.
    await asyncio.sleep(1)
    await visitor.poll(timeout=0)
    bodies = [e.get("body") for e in visitor.events if e["type"] == "message"]
    for text in (
        "bericht tijdens de crash",
        "bericht terwijl Laura uit staat",
        "bericht van voor de crash",
    ):
        assert bodies.count(text) == 1, (text, bodies)
    history = [
        e["content"].get("body")
        for e in await anna.history(consult)
        if e["type"] == "m.room.message"
    ]
    assert history.count("bericht van voor de crash") == 1, history
    assert history.count("na de herstart") == 1, history
