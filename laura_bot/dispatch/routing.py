"""Who is asked for a waiting chat, and when: availability, capacity and the routing mode.

One call decides for a whole department (`consider`): it reads the queue, the people of the
department (members of its dispatch room) with their availability and running chats, and the
asks of the current rounds; the pure rules (logic.plan) say whom to ask next; the asks are
written to the database, and the Matrix side posts them (mentions, the offer shown by an edit
of the dispatch message). Everything that changes who can be asked kicks it again: a new chat,
an answer, an offer that timed out, a chat that ends, a status, schedule, capacity or presence
change, and a tick every minute (schedules and business hours).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from .. import weekly
from ..config import Config
from ..db import Store
from ..db.base import transaction
from ..db.conversations import Conversation
from ..db.offers import MENTION, OFFER, DispatchOffer
from ..db.staff_members import StaffMember
from ..scheduler import Clock
from ..settings import Settings
from ..status import Status
from ..tasks import KeyedRunner
from ..util import new_txn_id, now_ms
from .logic import ONE_AT_A_TIME, Person, Round, is_available, plan

log = logging.getLogger(__name__)

Members = Callable[[str], Awaitable[set[str]]]
TICK_SECONDS = 60


class _AnsweredMeanwhile(Exception):
    """Rolls back an offer to someone who answered the chat while the pass was deciding."""


class Routing:
    def __init__(
        self,
        config: Config,
        store: Store,
        settings: Settings,
        clock: Clock,
        members: Members,
        kick_matrix: Callable[[str], None],
        ask_contact: Callable[[Conversation, str], Awaitable[bool]],
    ) -> None:
        """ask_contact(chat, reason): ask the visitor for contact details (the chat's part,
        Conversations.ask_contact), when everyone available said no."""
        self.config = config
        self.store = store
        self.settings = settings
        self.clock = clock
        self.members = members  # the department's people: joined members of its dispatch room
        self.kick_matrix = kick_matrix
        self.ask_contact = ask_contact
        self.runner = KeyedRunner("routing", self.consider)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._open_cache: tuple[float, dict[str, bool]] | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config["laura.timezone"])

    def local_now(self) -> datetime:
        return datetime.now(self.zone)

    # Kicks ------------------------------------------------------------------------------------

    def kick(self, department_id: str) -> None:
        self._open_cache = None
        self.runner.kick(department_id)

    async def kick_all(self) -> None:
        self._open_cache = None
        for dept in await self.store.departments.all_active():
            self.runner.kick(dept.id)

    async def tick(self) -> None:
        """Schedules and business hours change with the clock: look again every minute."""
        try:
            await self.kick_all()
        finally:
            self.clock.at("routing:tick", now_ms() + TICK_SECONDS * 1000, self.tick)

    async def close(self) -> None:
        self.clock.cancel("routing:tick")
        await self.runner.idle(timeout=5)
        await self.runner.close()

    # People -----------------------------------------------------------------------------------

    def in_schedule(self, member: StaffMember, when: datetime | None = None) -> bool:
        week = weekly.from_json(member.schedule) if member.schedule else None
        return week is not None and weekly.is_open(week, when or self.local_now())

    def available(self, member: StaffMember, when: datetime | None = None) -> bool:
        return is_available(member.status, self.in_schedule(member, when), member.presence)

    async def capacity(self, member: StaffMember) -> int:
        return member.capacity or await self.settings.count("max_chats")

    async def people(self, room_id: str) -> tuple[list[Person], dict[str, int]]:
        """The department's people as routing sees them, and everyone's running chats."""
        users = await self.members(room_id)
        members = await self.store.staff_members.many(users)
        running = await self.store.staff_members.active_chats()
        default = await self.settings.count("max_chats")
        when = self.local_now()
        people = [
            Person(
                m.user_id,
                self.available(m, when),
                (m.capacity or default) - running.get(m.user_id, 0),
                m.last_assigned_at or 0,
            )
            for m in members.values()
        ]
        return people, running

    # Business hours ---------------------------------------------------------------------------

    async def is_open(self, department_id: str, hours: str | None) -> bool:
        now = self.local_now()
        if await self.store.closed_days.is_closed(now.date().isoformat(), department_id):
            return False
        week = weekly.from_json(hours) if hours else None
        return week is None or weekly.is_open(week, now)

    async def topic_availability(self) -> dict[str, bool]:
        """Per department: open, and someone available there with room for a chat. Cached for
        a few seconds (the widget asks on every page view); any change clears it."""
        loop = asyncio.get_running_loop()
        if self._open_cache and loop.time() - self._open_cache[0] < 3:
            return self._open_cache[1]
        result: dict[str, bool] = {}
        for dept in await self.store.departments.all_active():
            if not dept.room_id:
                continue
            if not await self.is_open(dept.id, dept.hours):
                result[dept.id] = False
                continue
            people, _ = await self.people(dept.room_id)
            result[dept.id] = any(p.available and p.free > 0 for p in people)
        self._open_cache = (loop.time(), result)
        return result

    # Deciding ---------------------------------------------------------------------------------

    async def consider(self, department_id: str) -> None:
        """Ask whoever should be asked now for the department's waiting chats."""
        async with self._locks[department_id]:
            await self._consider(department_id)

    async def _consider(self, department_id: str) -> None:
        dept = await self.store.departments.get_by_id(department_id)
        if dept is None or not dept.room_id:
            return
        offers = await self.store.offers.in_department(department_id)
        open_asks = await self.store.offers.open_per_user()
        people, running = await self.people(dept.room_id)
        # Only the head of the queue can be asked now (as many chats as there are free
        # slots), plus the chats somebody was asked for already: a long queue costs nothing.
        # Chats someone already said no to (or let pass) do not use up that head: those who
        # have room may have answered every one of them, and the chat behind is theirs.
        room = sum(max(p.free - open_asks.get(p.user_id, 0), 0) for p in people if p.available)
        answered = {o.conversation_id for o in offers if o.outcome is not None}
        waiting = await self.store.conversations.waiting_in(
            department_id, limit=room + 1 + len(answered)
        )
        seen = {c.id for c in waiting}
        for conv_id in {o.conversation_id for o in offers} - seen:
            conv = await self.store.conversations.get_by_id(conv_id)
            if conv is not None and conv.status == Status.WAITING:
                waiting.append(conv)
        if not waiting:
            return
        waiting.sort(key=lambda c: (c.queued_at or 0, c.id))
        gone = {p.user_id for p in people if not p.available}
        members = {p.user_id for p in people}
        full = {p.user_id for p in people if p.free <= 0}

        # An open ask of someone who is no longer there (away, offline, left the department)
        # is forgotten: the chat is not held for them, and they are asked again on return. So
        # is an offer to someone who has since filled their last slot (another chat taken):
        # it passes on rather than waiting out its time. And after a switch to one at a
        # time, the mentions broadcast made: the chat is offered to one person instead.
        def why(o: DispatchOffer) -> str | None:
            if o.outcome is not None:
                return None
            if o.user_id in gone or o.user_id not in members:
                return "away"
            if o.kind == OFFER and o.user_id in full:
                return "at their limit"
            if o.kind == MENTION and dept.routing == ONE_AT_A_TIME:
                return "mentioned before the switch to one at a time"
            return None

        reasons = {(o.conversation_id, o.user_id): why(o) for o in offers}
        stale = [o for o in offers if reasons[(o.conversation_id, o.user_id)]]
        if stale:
            await self._forget(stale, reasons)
            offers = await self.store.offers.in_department(department_id)
            dropped = {(o.conversation_id, o.user_id) for o in stale}
            for c in waiting:  # so this pass offers those chats to someone else at once
                if (c.id, c.offered_to) in dropped:
                    c.offered_to = None
        asked: defaultdict[str, dict[str, str | None]] = defaultdict(dict)
        for o in offers:
            asked[o.conversation_id][o.user_id] = o.outcome
        queue = [Round(c.id, asked[c.id], c.offered_to, c.preferred_staff) for c in waiting]
        if stale:
            open_asks = await self.store.offers.open_per_user()
        mode = dept.routing
        result = plan(mode, queue, people, running, open_asks)
        by_id = {c.id: c for c in waiting}
        timeout = await self.settings.seconds("offer_timeout")
        touched: set[str] = set()
        for conv_id, user_id in result.asks:
            conv = by_id[conv_id]
            assert conv.dispatch_txn_id
            deadline = now_ms() + int(timeout * 1000)
            is_offer = mode == ONE_AT_A_TIME or (conv_id, user_id) in result.offers
            try:
                async with transaction(self.store.db) as conn:
                    if is_offer and not await self.store.conversations.offer(
                        conn, conv_id, conv.dispatch_txn_id, user_id, deadline
                    ):
                        continue
                    kind = OFFER if is_offer else MENTION
                    if not await self.store.offers.add(
                        conn, conv_id, conv.dispatch_txn_id, user_id, kind, new_txn_id()
                    ):
                        # They answered meanwhile ("Ik kan nu niet" while this pass ran):
                        # no offer to them, and the next pass asks someone else.
                        raise _AnsweredMeanwhile
            except _AnsweredMeanwhile:
                self.kick(department_id)
                continue
            if is_offer:
                self.clock.at(f"offer:{conv_id}", deadline, self.offer_expired, conv_id)
            log.info("Conversation %s: asking %s (%s)", conv_id, user_id, kind)
            touched.add(conv_id)
        for conv_id in touched:
            self.kick_matrix(conv_id)
        for conv_id in result.nobody_left:
            log.info("Conversation %s: everyone available said no", conv_id)
            await self.ask_contact(by_id[conv_id], "all declined")

    async def _forget(
        self, stale: list[DispatchOffer], reasons: dict[tuple[str, str], str | None]
    ) -> None:
        async with transaction(self.store.db) as conn:
            for o in stale:
                await self.store.offers.forget(conn, o.conversation_id, o.round, o.user_id)
                if await self.store.conversations.clear_offer(conn, o.conversation_id, o.user_id):
                    self.clock.cancel(f"offer:{o.conversation_id}")
        for o in stale:
            log.info(
                "Conversation %s: not waiting for %s (%s)",
                o.conversation_id,
                o.user_id,
                reasons.get((o.conversation_id, o.user_id)),
            )
            self.kick_matrix(o.conversation_id)

    # Answers ----------------------------------------------------------------------------------

    async def declined(self, conv_id: str, round: str, user_id: str) -> None:
        """'Ik kan nu niet': that person is not asked again this round; an offer to them
        passes on."""
        async with transaction(self.store.db) as conn:
            if not await self.store.offers.close(conn, conv_id, round, user_id, "declined"):
                await self.store.offers.add(conn, conv_id, round, user_id, MENTION, new_txn_id())
                await self.store.offers.close(conn, conv_id, round, user_id, "declined")
            if await self.store.conversations.clear_offer(conn, conv_id, user_id):
                self.clock.cancel(f"offer:{conv_id}")
        self.kick_matrix(conv_id)

    async def withdrawn(self, conv_id: str, user_id: str) -> None:
        """A decline taken back: they may be asked again."""
        conv = await self.store.conversations.get_by_id(conv_id)
        if conv is None or conv.status != Status.WAITING or not conv.dispatch_txn_id:
            return
        async with transaction(self.store.db) as conn:
            await self.store.offers.forget(conn, conv_id, conv.dispatch_txn_id, user_id)
        if conv.department_id:
            self.kick(conv.department_id)

    async def offer_expired(self, conv_id: str) -> None:
        conv = await self.store.conversations.get_by_id(conv_id)
        if conv is None or conv.status != Status.WAITING or not conv.offered_to:
            return
        if conv.offer_deadline and conv.offer_deadline > now_ms() + 50:
            self.clock.at(f"offer:{conv_id}", conv.offer_deadline, self.offer_expired, conv_id)
            return
        assert conv.dispatch_txn_id
        async with transaction(self.store.db) as conn:
            if not await self.store.conversations.clear_offer(conn, conv_id, conv.offered_to):
                return
            await self.store.offers.close(
                conn, conv_id, conv.dispatch_txn_id, conv.offered_to, "timeout"
            )
        log.info("Conversation %s: offer to %s timed out", conv_id, conv.offered_to)
        self.kick_matrix(conv_id)
        if conv.department_id:
            self.kick(conv.department_id)

    async def restore(self) -> None:
        """At start-up: re-arm the offers' deadlines, and look at every queue."""
        for conv in await self.store.conversations.all_by_status(Status.WAITING):
            if conv.offered_to and conv.offer_deadline:
                self.clock.at(f"offer:{conv.id}", conv.offer_deadline, self.offer_expired, conv.id)
        await self.tick()
