"""Deleting on the homeserver what retention (or a visitor) deleted in Laura's tables.

The work is queued in the erasure table in the same transaction as the deletion in Laura's own
tables, and done here in order, each item retried with back-off until it succeeds:

- thread: the request in the department room and everything relating to it (the waiting
  visitor's messages in its thread, edits, staff answers, reactions) is redacted;
- redact: one of Laura's own posts elsewhere (an escalation in the control room);
- room: a consult or mirror room is deleted with purge: every event and all its state (so the
  visitor's display name in its member events) is removed from Synapse's database;
- media: one file (Synapse's purges keep media: it is deleted one by one);
- ghost: the visitor's Matrix user is deactivated with erase (display name and profile go);
- history: a department or contact room's history is purged up to the oldest chat still kept
  there, or up to now (the redacted requests go with it; Synapse keeps the last event before
  the bound, and censors redacted ones it keeps after its redaction_retention_period).

The admin API needs Laura's bot to be a server admin; without it the items wait, and the
control room is told once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mautrix.api import Method, Path, SynapseAdminPath
from mautrix.errors import MatrixRequestError
from mautrix.types import EventID, RoomID

from ..db import Store
from ..db.erasure import ErasureItem
from ..faults import describe
from ..util import now_ms

log = logging.getLogger(__name__)

MAX_DELAY_MS = 3600 * 1000
STATUS_POLL = 0.5  # seconds between looks at an admin job's status
STATUS_WAIT = 120.0  # how long one attempt waits for a purge to finish


class NotAdmin(Exception):
    """The homeserver refused an admin request: Laura's bot is not a server admin."""


class Eraser:
    def __init__(
        self,
        store: Store,
        bot: Callable[[], Any],  # the bot's IntentAPI (there once the appservice runs)
        on_not_admin: Callable[[], Awaitable[None]],
        forget_room: Callable[[str], None] = lambda _room: None,  # the state store's memory
    ) -> None:
        self.store = store
        self.bot = bot
        self.on_not_admin = on_not_admin
        self.forget_room = forget_room
        self._told_not_admin = False

    async def run(self, _key: str = "") -> None:
        """Every pending item whose time has come, in order. An item waits for an earlier
        unfinished one in the same room (a room's history is purged after its redactions)."""
        blocked: set[str] = set()
        pending = await self.store.erasure.pending()
        # Of several purges of one room's history, the last asked for does for all.
        last_purge = {i.room_id: i.id for i in pending if i.kind == "history"}
        for item in pending:
            room = item.room_id or ""
            if item.kind == "history" and last_purge.get(item.room_id) != item.id:
                await self.store.erasure.done(item.id)
                continue
            if (item.next_at and item.next_at > now_ms()) or room in blocked:
                if room:
                    blocked.add(room)
                continue
            try:
                await self._do(item)
            except NotAdmin:
                await self._retry(item, "not a server admin")
                if not self._told_not_admin:
                    self._told_not_admin = True
                    log.error(
                        "Laura's bot is not a server admin: chats cannot be deleted from the "
                        "homeserver until it is (see synapse/README.md)"
                    )
                    await self.on_not_admin()
                return  # every admin request would fail the same way
            except Exception as e:
                await self._retry(item, describe(e))
                if room:
                    blocked.add(room)
                continue
            await self.store.erasure.done(item.id)

    async def _retry(self, item: ErasureItem, why: str) -> None:
        attempts = item.attempts + 1
        delay = min(2000 * 2 ** min(attempts - 1, 12), MAX_DELAY_MS)
        log.warning("Erasure %d (%s) failed (%s); retrying later", item.id, item.kind, why)
        await self.store.erasure.retry_later(item.id, attempts, now_ms() + delay, why)

    async def _admin(self, method: Method, path: Any, body: Any = None) -> Any:
        try:
            return await self.bot().api.request(method, path, content=body)
        except MatrixRequestError as e:
            if e.http_status == 403 and e.errcode == "M_FORBIDDEN":
                raise NotAdmin() from e
            raise

    async def _do(self, item: ErasureItem) -> None:
        room, target = item.room_id or "", item.target or ""
        if item.kind == "thread":
            await self._thread(room, target)
        elif item.kind == "redact":
            await self._redact(room, target)
        elif item.kind == "room":
            self.forget_room(room)  # its rows in mx_room_state went with the chat
            await self._delete_room(room)
        elif item.kind == "media":
            await self._delete_media(target)
        elif item.kind == "ghost":
            try:
                await self._admin(
                    Method.POST, SynapseAdminPath.v1.deactivate[target], {"erase": True}
                )
            except MatrixRequestError as e:
                if e.http_status != 404:
                    raise
        elif item.kind == "history":
            # No bound: up to now, after this room's redactions (the last event before the
            # bound is kept by Synapse: let it be a redaction, which holds nothing).
            await self._purge_history(room, int(target) if target else now_ms())
        log.info("Erasure %d done: %s", item.id, item.kind)

    async def _redact(self, room: str, event_id: str) -> None:
        try:
            await self.bot().redact(RoomID(room), EventID(event_id))
        except MatrixRequestError as e:
            if e.http_status not in (400, 404):  # gone already, or the room is
                raise

    async def _thread(self, room: str, event_id: str) -> None:
        """The event and everything relating to it (a redacted relation drops out of the
        list, so a retry picks up where this stopped)."""
        token: str | None = None
        related: list[str] = []
        for _ in range(100):  # at most 10,000 related events
            query = {"limit": "100"} | ({"from": token} if token else {})
            try:
                resp = await self.bot().api.request(
                    Method.GET, Path.v1.rooms[room].relations[event_id], query_params=query
                )
            except MatrixRequestError as e:
                if e.http_status in (403, 404):
                    break  # the room or event is gone
                raise
            for evt in resp.get("chunk") or []:
                if isinstance(evt, dict) and isinstance(evt.get("event_id"), str):
                    if not evt.get("unsigned", {}).get("redacted_because"):
                        related.append(evt["event_id"])
            token = resp.get("next_batch")
            if not token:
                break
        for rel in related:
            await self._redact(room, rel)
        await self._redact(room, event_id)

    async def _delete_room(self, room: str) -> None:
        try:
            resp = await self._admin(
                Method.DELETE,
                SynapseAdminPath.v2.rooms[room],
                {"purge": True, "force_purge": True, "block": False},
            )
        except MatrixRequestError as e:
            if e.http_status in (400, 404) and e.errcode != "M_FORBIDDEN":
                log.info("Room %s was gone already (%s)", room, e.errcode)
                return
            raise
        await self._wait(SynapseAdminPath.v2.rooms.delete_status[resp["delete_id"]])

    async def _delete_media(self, mxc: str) -> None:
        server, _, media_id = mxc.removeprefix("mxc://").partition("/")
        if not server or not media_id:
            return
        try:
            await self._admin(Method.DELETE, SynapseAdminPath.v1.media[server][media_id])
        except MatrixRequestError as e:
            if e.http_status != 404:
                raise

    async def _purge_history(self, room: str, up_to_ms: int) -> None:
        try:
            resp = await self._admin(
                Method.POST,
                SynapseAdminPath.v1.purge_history[room],
                {"delete_local_events": True, "purge_up_to_ts": up_to_ms},
            )
        except MatrixRequestError as e:
            if e.http_status in (400, 404) and e.errcode != "M_FORBIDDEN":
                log.info("Nothing to purge in %s (%s)", room, e.errcode)
                return
            raise
        await self._wait(SynapseAdminPath.v1.purge_history_status[resp["purge_id"]])

    async def _wait(self, status_path: Any) -> None:
        deadline = time.monotonic() + STATUS_WAIT
        while time.monotonic() < deadline:
            resp = await self._admin(Method.GET, status_path)
            status = resp.get("status")
            if status == "complete":
                return
            if status == "failed":
                raise RuntimeError(f"the homeserver's purge failed: {resp.get('error', '')[:100]}")
            await asyncio.sleep(STATUS_POLL)
        raise TimeoutError("the homeserver's purge did not finish in time")
