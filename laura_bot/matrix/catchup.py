"""Catching up on events the homeserver never pushed.

Synapse keeps the events it has still to push to an appservice in memory: when Synapse itself
crashes, those are lost on the way to Laura, although they are stored in the room (a staff
message the staff member saw go out). So at start-up, and whenever the homeserver comes back
after it could not be reached, Laura reads the recent history of every room she serves and puts
what she has not seen into the inbox. The inbox is deduplicated on event_id, so reading an event
twice is harmless.

Synapse can also leave a transaction unsent while it recovers from a failed delivery: when its
recoverer finds nothing left to resend in the same moment a new event is queued for the
appservice it still thinks is down, that event's transaction is stored but sent by nobody (the
service is marked up just after). Laura sees this as a gap in Synapse's transaction ids (they
are one sequence) and, with no event after it, sees nothing at all. So for a while after every
recovery (start-up, homeserver back, a transaction retried or refused), a gap holds the router
and catches up before the events after the gap are handled, which keeps their order; and a few
catch-ups follow the recovery to find a lost last event.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from mautrix.api import Method, Path

from ..faults import describe
from ..util import now_ms

log = logging.getLogger(__name__)

WINDOW_MS = 60 * 60 * 1000  # how far back a catch-up looks
PAGE = 100
PROBE_EVERY = 2.0  # seconds between homeserver probes
PROBE_TIMEOUT = 10.0  # a homeserver busy with a burst may take seconds to answer
# After a recovery: catch up again this many seconds later (a lost last event is found then),
# and treat gaps in the transaction ids as lost transactions until the last of these.
FOLLOW_UPS = (3.0, 10.0, 30.0, 60.0)
REMEMBERED_TXNS = 1000


class CatchUp:
    def __init__(
        self,
        az: Any,
        rooms: Callable[[], Awaitable[list[str]]],
        is_own_user: Callable[[str], bool],
        store_events: Callable[[list[dict[str, Any]]], Awaitable[int]],
        hold: Callable[[], None],
        release: Callable[[list[str]], None],
        on_back: Callable[[], Awaitable[None]],
    ) -> None:
        self.az = az
        self.rooms = rooms
        self.is_own_user = is_own_user
        self.store_events = store_events
        self.hold = hold
        self.release = release
        self.on_back = on_back
        self._task: asyncio.Task[None] | None = None
        self._follow_up: asyncio.Task[None] | None = None
        self._gap_runs: set[asyncio.Task[int]] = set()
        self._suspect = False
        self._lock = asyncio.Lock()
        self._runs = 0  # catch-ups asked for and not yet done: the router is held meanwhile
        self._recovering_until = 0.0
        self._last_txn: int | None = None
        self._seen_txns: dict[str, None] = {}  # insertion-ordered, the most recent last

    # Transactions from the homeserver ---------------------------------------------------------

    def transaction(self, txn_id: str, stored: bool) -> None:
        """Called for every transaction, after its events are stored and before the router is
        told about them. stored: False when Laura could not store it (Synapse will retry)."""
        loop = asyncio.get_running_loop()
        if not stored or txn_id in self._seen_txns:
            self.recovering()  # Synapse has a recoverer running for us now
            if not stored:
                return
        self._seen_txns[txn_id] = None
        if len(self._seen_txns) > REMEMBERED_TXNS:
            del self._seen_txns[next(iter(self._seen_txns))]
        try:
            number = int(txn_id)
        except ValueError:
            return  # not Synapse's numbering: the follow-up catch-ups still cover a loss
        last, self._last_txn = self._last_txn, max(number, self._last_txn or number)
        if last is not None and number > last + 1 and loop.time() < self._recovering_until:
            log.warning("Transactions %d to %d never arrived; catching up", last + 1, number - 1)
            self._runs += 1  # held now, before the events after the gap are handled
            self.hold()
            task = asyncio.create_task(self._run_held(), name="catch-up-gap")
            self._gap_runs.add(task)
            task.add_done_callback(self._gap_runs.discard)

    def recovering(self) -> None:
        """The homeserver may have held events back (Laura started, it came back, or it had
        to retry): watch for lost transactions and catch up a few more times."""
        loop = asyncio.get_running_loop()
        self._recovering_until = loop.time() + FOLLOW_UPS[-1] + 5
        if self._follow_up:
            self._follow_up.cancel()
        self._follow_up = asyncio.create_task(self._follow_ups(), name="catch-up-follow-ups")

    async def _follow_ups(self) -> None:
        waited = 0.0
        for at in FOLLOW_UPS:
            await asyncio.sleep(at - waited)
            waited = at
            try:
                await self.run()
            except Exception as e:
                log.warning("Catching up failed (%s)", describe(e))

    def suspect(self) -> None:
        """A request to the homeserver failed: it may be restarting. Catch up once it answers,
        even if no probe happened to see it down."""
        if not self._suspect:
            self._suspect = True
            self.hold()

    async def run(self) -> int:
        """Read every served room's recent history into the inbox, then let the router go on
        (it is held until then); returns how many events were new."""
        self._runs += 1
        self.hold()
        return await self._run_held()

    async def _run_held(self) -> int:
        """One catch-up at a time; the router stays held until the last one asked for is
        done (and the homeserver is not in doubt)."""
        rooms: list[str] = []
        new = 0
        try:
            async with self._lock:
                since = now_ms() - WINDOW_MS
                rooms = await self.rooms()
                for room_id in rooms:
                    try:
                        events = await self._recent(room_id, since)
                    except Exception as e:
                        log.warning("Could not read the history of %s: %s", room_id, describe(e))
                        continue
                    if events:
                        new += await self.store_events(events)
            if new:
                log.warning("Caught up on %d events the homeserver had not pushed", new)
        finally:
            self._runs -= 1
            if self._runs == 0 and not self._suspect:
                self.release(rooms)
        return new

    async def _recent(self, room_id: str, since: int) -> list[dict[str, Any]]:
        resp = await self.az.intent.api.request(
            Method.GET,
            Path.v3.rooms[room_id].messages,
            query_params={"dir": "b", "limit": str(PAGE), "filter": json.dumps({"limit": PAGE})},
        )
        out = []
        for evt in resp.get("chunk") or []:
            if not isinstance(evt, dict) or not isinstance(evt.get("event_id"), str):
                continue
            ts = evt.get("origin_server_ts")
            if not isinstance(ts, int) or ts < since:
                continue
            if self.is_own_user(str(evt.get("sender", ""))):
                continue
            out.append({**evt, "room_id": room_id})
        out.reverse()  # oldest first, as Synapse pushes them
        return out

    # Watching the homeserver ----------------------------------------------------------------

    def start_watching(self, url: str) -> None:
        self._task = asyncio.create_task(self._watch(url), name="homeserver-watch")

    async def _watch(self, url: str) -> None:
        """Runs for Laura's whole life: any failure is logged and the next probe goes on. The
        probe has its own connection: in the shared pool it would wait behind Laura's own
        requests when she is busy, and a busy Laura is not a homeserver that is away."""
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    await self._probe_loop(session, url)
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    log.warning("Homeserver watch failed (%s); restarting it", describe(e))
                    await asyncio.sleep(PROBE_EVERY)

    async def _probe_loop(self, session: aiohttp.ClientSession, url: str) -> None:
        reachable = True
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT)
        while True:
            await asyncio.sleep(PROBE_EVERY)
            try:
                async with session.get(f"{url}/_matrix/client/versions", timeout=timeout) as r:
                    ok = r.status == 200
            except (aiohttp.ClientError, OSError, TimeoutError):
                ok = False
            if not ok and reachable:
                log.warning("The homeserver cannot be reached")
            elif ok and (not reachable or self._suspect):
                self._suspect = False
                log.warning("The homeserver answers again; catching up")
                try:
                    await self.on_back()
                    await self.run()
                    self.recovering()
                except Exception as e:
                    log.warning("Catching up failed (%s); trying again later", describe(e))
                    ok = False
                    self._suspect = True
            reachable = ok

    async def stop(self) -> None:
        tasks = [t for t in (self._task, self._follow_up, *self._gap_runs) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
