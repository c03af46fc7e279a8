"""Routing's passes over a department's queue, on a real database (SQLite and PostgreSQL) with
a fixed set of department members and a clock that only records deadlines: the cases a second
reading found, each of which left a visitor waiting longer than needed. The same behaviour
with Synapse and staff in Element is in test_routing.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from laura_bot.config import EXAMPLE, Config
from laura_bot.db import Store, create_database
from laura_bot.db.base import transaction
from laura_bot.dispatch.logic import BROADCAST, ONE_AT_A_TIME, Person, Round, plan
from laura_bot.dispatch.routing import Routing
from laura_bot.settings import Settings
from laura_bot.util import now_ms

ROOM = "!dept:localhost"
A, B = "@anna:localhost", "@bram:localhost"


class Clock:
    def __init__(self) -> None:
        self.jobs: dict[str, int] = {}

    def at(self, job_id: str, when_ms: int, fn: Any, *args: Any) -> None:
        self.jobs[job_id] = when_ms

    def cancel(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)


class Conversations:
    """Where routing sends a chat nobody is left for (the all-declined path)."""

    def __init__(self) -> None:
        self.asked_contact: list[str] = []

    async def ask_contact(self, conv: Any, reason: str) -> bool:
        self.asked_contact.append(conv.id)
        return True


class Laura:
    """Routing with what it needs around it; `start` again is a restart on the same database."""

    def __init__(self, tmp: Path, db_url: str, members: set[str]) -> None:
        self.tmp, self.db_url, self.members = tmp, db_url, members
        self.kicked: list[str] = []
        self.conversations = Conversations()

    async def start(self) -> Routing:
        yaml = YAML()
        path = self.tmp / "config.yaml"
        with path.open("w") as f:
            yaml.dump(yaml.load(EXAMPLE.read_text()), f)
        config = Config(path)
        config.load_and_update()
        self.db = create_database(self.db_url)
        await self.db.start()
        self.store = Store(self.db)
        self.kicked = []

        async def members(_room: str) -> set[str]:
            return set(self.members)

        self.routing = Routing(
            config,
            self.store,
            Settings(config, self.store.settings),
            Clock(),  # type: ignore[arg-type]
            members,
            self.kicked.append,
            self.conversations.ask_contact,
        )
        return self.routing

    async def stop(self) -> None:
        await self.routing.runner.close()
        await self.db.stop()

    async def department(self, mode: str) -> None:
        await self.store.departments.add("dept", "Dept")
        await self.store.departments.set_room("dept", ROOM)
        await self.store.departments.set_routing("dept", mode)

    async def waiting(self, n: int) -> str:
        """A waiting chat whose request is in the dispatch room."""
        sid, cid = f"s{n}", f"c{n}"
        async with transaction(self.db) as conn:
            await self.store.sessions.create(conn, sid, "hash", f"V{n}", None, "nl", f"g{n}")
            await self.store.conversations.create(conn, cid, sid)
        await self.store.conversations.set_fields(
            cid,
            status="waiting",
            department_id="dept",
            queued_at=now_ms() + n,
            dispatch_room_id=ROOM,
            dispatch_txn_id=f"txn{n}",
            dispatch_event_id=f"$ev{n}",
        )
        return cid

    async def running_chat(self, n: int, user: str) -> None:
        cid = await self.waiting(n)
        async with transaction(self.db) as conn:
            assert await self.store.conversations.claim(conn, cid, user, user)
            await self.store.staff.to_be_invited(conn, cid, user, user)

    async def offered_to(self, cid: str) -> str | None:
        conv = await self.store.conversations.get_by_id(cid)
        assert conv is not None
        return conv.offered_to


def test_chats_arriving_together_are_offered_to_different_people() -> None:
    """One at a time, two idle colleagues, two chats: one each, not both to the first."""
    people = [Person(A, True, 3, 0), Person(B, True, 3, 0)]
    queue = [Round("c1", {}, None), Round("c2", {}, None)]
    asks = plan(ONE_AT_A_TIME, queue, people, {}, {}).asks
    assert sorted(u for _, u in asks) == [A, B], asks


async def test_chats_arriving_one_by_one_are_spread(tmp_path: Path, db_url: str) -> None:
    """A pass per arrival, as the widget's topic choice makes: the offer anna holds counts as
    a chat of hers, so the next chat goes to bram (before: all three to anna)."""
    laura = Laura(tmp_path, db_url, {A, B})
    routing = await laura.start()
    try:
        await laura.department(ONE_AT_A_TIME)
        offered = []
        for n in (1, 2, 3):
            cid = await laura.waiting(n)
            await routing.consider("dept")
            offered.append(await laura.offered_to(cid))
        assert offered[:2] in ([A, B], [B, A]), offered
        assert offered[2] in (A, B)
    finally:
        await laura.stop()


async def test_an_offer_to_someone_now_full_passes_on(tmp_path: Path, db_url: str) -> None:
    """anna (room for one chat) holds an offer, then takes another chat: the offer goes to
    bram at the next pass instead of waiting out its time."""
    laura = Laura(tmp_path, db_url, {A, B})
    routing = await laura.start()
    try:
        await laura.department(ONE_AT_A_TIME)
        await laura.store.staff_members.set(A, capacity=1)
        await laura.store.staff_members.set(B, last_assigned_at=now_ms())  # anna first
        c1 = await laura.waiting(1)
        await routing.consider("dept")
        assert await laura.offered_to(c1) == A
        await laura.running_chat(9, A)
        await routing.consider("dept")
        assert await laura.offered_to(c1) == B
        answers = {o.user_id: o.outcome for o in await laura.store.offers.of_round(c1, "txn1")}
        assert answers == {B: None}, answers  # anna is asked again once she has room
    finally:
        await laura.stop()


async def test_no_offer_to_someone_who_declined_while_the_pass_ran(
    tmp_path: Path, db_url: str
) -> None:
    """anna's "Ik kan nu niet" lands after the pass read the answers but before it wrote the
    offer: the offer is not made (it was, with her decline on record, so nobody was pinged and
    bram waited out the offer time), and the next pass offers the chat to bram."""
    laura = Laura(tmp_path, db_url, {A, B})
    routing = await laura.start()
    try:
        await laura.department(ONE_AT_A_TIME)
        await laura.store.staff_members.set(B, last_assigned_at=now_ms())  # anna first
        c1 = await laura.waiting(1)
        async with transaction(laura.db) as conn:  # her decline, already stored ...
            await laura.store.offers.add(conn, c1, "txn1", A, "mention", "t-decline")
            await laura.store.offers.close(conn, c1, "txn1", A, "declined")
        real = laura.store.offers.in_department
        stale_reads = [[]]  # ... but not yet seen by this pass

        async def in_department(dept: str) -> Any:
            return stale_reads.pop() if stale_reads else await real(dept)

        laura.store.offers.in_department = in_department  # type: ignore[method-assign]
        await routing.consider("dept")
        assert await laura.offered_to(c1) is None
        await routing.runner.idle(timeout=5)  # the pass it kicked
        assert await laura.offered_to(c1) == B
    finally:
        await laura.stop()


async def test_an_ask_not_yet_posted_is_posted_after_a_restart(
    tmp_path: Path, db_url: str
) -> None:
    """Laura asked anna and bram (stored) and stopped before the dispatch room heard of it:
    at the next start the chat is among those whose Matrix side is behind, so the mentions go
    out (before, nothing brought them: the chat waited for an escalation)."""
    laura = Laura(tmp_path, db_url, {A, B})
    routing = await laura.start()
    try:
        await laura.department(BROADCAST)
        c1 = await laura.waiting(1)
        assert c1 not in await laura.store.conversations.all_unfinished_matrix_work()
        await routing.consider("dept")
        assert {o.user_id for o in await laura.store.offers.unposted(c1, "txn1")} == {A, B}
    finally:
        await laura.stop()
    await laura.start()
    try:
        assert c1 in await laura.store.conversations.all_unfinished_matrix_work()
    finally:
        await laura.stop()


async def test_a_switch_to_one_at_a_time_offers_the_waiting_chats(
    tmp_path: Path, db_url: str
) -> None:
    """A chat broadcast to anna and bram, unanswered; the admin switches the department to one
    at a time: the chat is offered to one of them, with a deadline (before, it kept its old
    mentions and nobody was offered it until the dispatch timeout)."""
    laura = Laura(tmp_path, db_url, {A, B})
    routing = await laura.start()
    try:
        await laura.department(BROADCAST)
        c1 = await laura.waiting(1)
        await routing.consider("dept")
        asked = {o.user_id: o.outcome for o in await laura.store.offers.of_round(c1, "txn1")}
        assert asked == {A: None, B: None}
        await laura.store.departments.set_routing("dept", ONE_AT_A_TIME)
        await routing.consider("dept")
        offered = await laura.offered_to(c1)
        assert offered in (A, B)
        open_asks = [o.user_id for o in await laura.store.offers.of_round(c1, "txn1")]
        assert open_asks == [offered]
        assert "offer:c1" in routing.clock.jobs  # type: ignore[attr-defined]
    finally:
        await laura.stop()


async def test_a_chat_behind_declined_ones_is_asked(tmp_path: Path, db_url: str) -> None:
    """anna and bram (room for one chat each) said no to the three chats at the head of the
    queue, which wait for carla (available, but full). A fourth arrives: anna and bram are
    asked for it (before, the pass looked only at as many chats as there was room, so the
    fourth waited until the first three timed out)."""
    carla = "@carla:localhost"
    laura = Laura(tmp_path, db_url, {A, B, carla})
    routing = await laura.start()
    try:
        await laura.department(BROADCAST)
        for who in (A, B, carla):
            await laura.store.staff_members.set(who, capacity=1)
        await laura.running_chat(90, carla)
        for n in (1, 2, 3):
            cid = await laura.waiting(n)
            for who in (A, B):
                async with transaction(laura.db) as conn:
                    txn = f"txn{n}"
                    await laura.store.offers.add(conn, cid, txn, who, "mention", f"t{n}{who}")
                    await laura.store.offers.close(conn, cid, f"txn{n}", who, "declined")
        c4 = await laura.waiting(4)
        await routing.consider("dept")
        asked = {o.user_id for o in await laura.store.offers.of_round(c4, "txn4")}
        assert asked == {A, B}, asked
    finally:
        await laura.stop()
