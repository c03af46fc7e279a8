"""Retention and erasure queries that span tables: what is due, and deleting it.

Deleting a chat's content keeps a skeleton of its conversation row (status, department, times,
the rating's number) for statistics and the audit trail, and removes everything a visitor or
staff member said or sent: messages, files, names, contact details, rating comments, typing
previews, and Laura's own bookkeeping about its rooms. What the homeserver must delete is
queued in the same transaction (db/erasure.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from mautrix.util.async_db import Connection, Database

from ..util import now_ms


@dataclass
class Due:
    id: str
    session_id: str
    department_id: str | None
    status: str
    ended_at: int | None
    created_at: int
    queued_at: int | None = None
    last_activity_at: int | None = None

    @property
    def quiet_since(self) -> int:
        """An open chat: since when nobody wrote in it (nor did it enter the queue)."""
        return max(self.last_activity_at or 0, self.queued_at or 0, self.created_at)


@dataclass
class Erased:
    """What the homeserver still holds of one deleted chat."""

    rooms: list[str] = field(default_factory=list)  # consult and mirror rooms
    threads: list[tuple[str, str]] = field(default_factory=list)  # (room, dispatch event)
    events: list[tuple[str, str]] = field(default_factory=list)  # (room, event) to redact
    media: list[str] = field(default_factory=list)
    dispatch_rooms: set[str] = field(default_factory=set)


class PrivacyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def chats_not_purged(self, before_ms: int) -> list[Due]:
        """Chats whose content is still here that ended before before_ms, chats never begun
        (a topic never chosen) started before it, and chats still waiting or asked for contact
        details started before it (a visitor who walked away and never came back; a connected
        chat ends by itself when nobody writes): the caller decides from their department's
        retention and their last activity which are due."""
        rows = await self.db.fetch(
            "SELECT id, session_id, department_id, status, ended_at, created_at, queued_at, "
            "last_activity_at FROM conversation WHERE purged_at IS NULL AND ("
            "(status='ended' AND ended_at < $1) OR "
            "(status IN ('choosing','waiting','contact') AND created_at < $1))",
            before_ms,
        )
        return [Due(**r) for r in rows]

    async def open_chats_of(self, session_id: str) -> list[str]:
        rows = await self.db.fetch(
            "SELECT id FROM conversation WHERE session_id=$1 AND status<>'ended' "
            "AND purged_at IS NULL",
            session_id,
        )
        return [r["id"] for r in rows]

    async def chats_of(self, session_id: str) -> list[str]:
        rows = await self.db.fetch(
            "SELECT id FROM conversation WHERE session_id=$1 AND purged_at IS NULL", session_id
        )
        return [r["id"] for r in rows]

    async def erase_chat(self, conn: Connection, conversation_id: str) -> Erased | None:
        """Delete one chat's content inside the caller's transaction; None if it was gone
        already (two sweeps, or the visitor and the sweep at once)."""
        row = await conn.fetchrow(
            "UPDATE conversation SET purged_at=$2, rating_comment=NULL, typing_preview=NULL, "
            "video_widget_id=NULL, video_domain=NULL, video_conference=NULL, video_remove=NULL "
            "WHERE id=$1 AND purged_at IS NULL "
            "RETURNING room_id, dispatch_room_id, dispatch_event_id, dispatch_txn_id",
            conversation_id,
            now_ms(),
        )
        if row is None:
            return None
        out = Erased()
        if row["room_id"]:
            out.rooms.append(row["room_id"])
        for r in await conn.fetch(
            "SELECT room_id FROM monitor WHERE conversation_id=$1 AND room_id IS NOT NULL",
            conversation_id,
        ):
            out.rooms.append(r["room_id"])
        if row["dispatch_room_id"]:
            out.dispatch_rooms.add(row["dispatch_room_id"])
            if row["dispatch_event_id"]:
                out.threads.append((row["dispatch_room_id"], row["dispatch_event_id"]))
        txn = row["dispatch_txn_id"]
        if txn:
            # Laura's other posts about it (asks, escalations, edits), wherever they went.
            for r in await conn.fetch(
                "SELECT room_id, event_id FROM mx_send WHERE event_id IS NOT NULL AND "
                "(txn_id=$1 OR txn_id LIKE $2)",
                txn,
                txn + ".%",  # Laura's txn ids are "laura." and hex digits: no wildcards
            ):
                if r["event_id"] != row["dispatch_event_id"]:
                    out.events.append((r["room_id"], r["event_id"]))
        for r in await conn.fetch(
            "SELECT mxc, thumbnail_mxc FROM attachment WHERE conversation_id=$1", conversation_id
        ):
            out.media += [m for m in (r["mxc"], r["thumbnail_mxc"]) if m]
        for r in await conn.fetch(
            "SELECT mxc FROM uploaded_media WHERE conversation_id=$1", conversation_id
        ):
            out.media.append(r["mxc"])
        for table in (
            "event",
            "attachment",
            "conversation_staff",
            "dispatch_answer",
            "dispatch_offer",
            "monitor",
            "uploaded_media",
            "webhook_outbox",  # undelivered events may carry contact details (content: true)
        ):
            await conn.execute(f"DELETE FROM {table} WHERE conversation_id=$1", conversation_id)
        for room_id in out.rooms:
            # Dead letters keep an event's content; handled ones are skeletons already. The
            # Matrix state cache (mautrix's tables) holds the members' display names.
            for table in ("inbox", "command_run", "mx_send", "mx_user_profile", "mx_room_state"):
                await conn.execute(f"DELETE FROM {table} WHERE room_id=$1", room_id)
        return out

    async def sessions_done(self) -> list[tuple[str, str]]:
        """Visitors none of whose chats are left (all deleted): (session id, ghost id)."""
        rows = await self.db.fetch(
            "SELECT s.id, s.ghost_id FROM session s WHERE s.erased_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM conversation c WHERE c.session_id=s.id AND c.purged_at IS NULL)"
        )
        return [(r["id"], r["ghost_id"]) for r in rows]

    async def erase_session(self, conn: Connection, session_id: str) -> bool:
        """The visitor's name, e-mail, token and whatever is left of their stream; False if
        done before."""
        done = await conn.fetchval(
            "UPDATE session SET name=NULL, email=NULL, client_key=NULL, verified_id=NULL, "
            "token_hash=$2, "
            "erased_at=$3 WHERE id=$1 AND erased_at IS NULL RETURNING id",
            session_id,
            "erased." + secrets.token_hex(16),  # no token hashes to this
            now_ms(),
        )
        if done is None:
            return False
        await conn.execute("DELETE FROM event WHERE session_id=$1", session_id)
        await conn.execute("DELETE FROM attachment WHERE session_id=$1", session_id)
        return True

    async def forget_user(self, conn: Connection, user_id: str) -> None:
        """What the Matrix state cache knows of a visitor's ghost (its display name)."""
        await conn.execute("DELETE FROM mx_user_profile WHERE user_id=$1", user_id)

    async def oldest_kept_in(self, conn: Connection, dispatch_room_id: str) -> int | None:
        """When the oldest chat still kept (or still open) in a department room began."""
        value = await conn.fetchval(
            "SELECT MIN(created_at) FROM conversation WHERE dispatch_room_id=$1 "
            "AND purged_at IS NULL",
            dispatch_room_id,
        )
        return int(value) if value is not None else None

    async def contact_requests_before(
        self, conn: Connection, cutoff_ms: int
    ) -> list[tuple[str, str | None]]:
        """Delete contact requests made before the cutoff; (id, event id in the contact
        room, if it was posted) of each."""
        return await self._delete_requests(conn, "r.created_at < $1", cutoff_ms)

    async def contact_requests_of(
        self, conn: Connection, session_id: str
    ) -> list[tuple[str, str | None]]:
        """Delete a visitor's contact requests (their own "delete my data")."""
        return await self._delete_requests(
            conn,
            "r.conversation_id IN (SELECT id FROM conversation WHERE session_id=$1)",
            session_id,
        )

    async def _delete_requests(
        self, conn: Connection, where: str, value: object
    ) -> list[tuple[str, str | None]]:
        rows = await conn.fetch(
            "SELECT r.id, r.mx_txn_id, COALESCE(r.mx_event_id, s.event_id) AS event_id "
            "FROM contact_request r LEFT JOIN mx_send s ON s.txn_id=r.mx_txn_id "
            f"WHERE {where}",
            value,
        )
        for r in rows:
            await conn.execute("DELETE FROM contact_request WHERE id=$1", r["id"])
            await conn.execute("DELETE FROM mx_send WHERE txn_id=$1", r["mx_txn_id"])
        return [(r["id"], r["event_id"]) for r in rows]

    async def oldest_contact_request(self, conn: Connection) -> int | None:
        value = await conn.fetchval("SELECT MIN(created_at) FROM contact_request")
        return int(value) if value is not None else None

    async def cases_before(self, conn: Connection, cutoff_ms: int) -> int:
        rows = await conn.fetch(
            "DELETE FROM case_record WHERE created_at < $1 RETURNING id", cutoff_ms
        )
        return len(rows)

    async def exports_before(self, conn: Connection, cutoff_ms: int) -> list[str]:
        """Case exports Laura uploaded before the cutoff (the files hold the cases)."""
        rows = await conn.fetch(
            "DELETE FROM uploaded_media WHERE purpose='cases' AND created_at < $1 RETURNING mxc",
            cutoff_ms,
        )
        return [r["mxc"] for r in rows]

    async def audit_before(self, conn: Connection, cutoff_ms: int) -> int:
        """The audit trail's own retention: records older than its years go."""
        rows = await conn.fetch("DELETE FROM audit_log WHERE ts < $1 RETURNING id", cutoff_ms)
        return len(rows)

    async def record_upload(
        self, mxc: str, room_id: str, conversation_id: str | None, purpose: str
    ) -> None:
        await self.db.execute(
            "INSERT INTO uploaded_media (mxc, room_id, conversation_id, purpose, created_at) "
            "VALUES ($1,$2,$3,$4,$5) ON CONFLICT (mxc) DO NOTHING",
            mxc,
            room_id,
            conversation_id,
            purpose,
            now_ms(),
        )
