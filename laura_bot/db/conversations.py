from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database, Scheme

from ..status import Status
from ..util import now_ms
from .sessions import nickname

OPEN_STATES = (Status.CHOOSING, Status.WAITING, Status.CONNECTED, Status.CONTACT)


@dataclass
class Conversation:
    id: str
    session_id: str
    status: str
    department_id: str | None
    room_id: str | None
    created_at: int
    queued_at: int | None
    dispatch_deadline: int | None
    next_queue_update: int | None
    dispatch_room_id: str | None
    dispatch_txn_id: str | None
    dispatch_event_id: str | None
    dispatch_outcome_sent: str | None
    taker: str | None
    taker_name: str | None
    taken_at: int | None
    ended_at: int | None
    ended_by: str | None
    last_position: int | None
    ghost_left: bool
    escalate_at: int | None
    escalation_level: int
    escalation_posted: int
    offered_to: str | None
    offer_deadline: int | None
    notify_count: int
    last_speaker: str | None
    last_activity_at: int | None
    idle_deadline: int | None
    idle_warned: bool
    video_widget_id: str | None = None
    video_domain: str | None = None
    video_conference: str | None = None
    video_remove: str | None = None
    typing_preview: str | None = None
    rating: int | None = None
    rating_comment: str | None = None
    rating_txn_id: str | None = None
    rating_posted: bool = False
    purged_at: int | None = None  # its content was deleted (retention or the visitor)
    closed_by: str | None = None  # who closed it with !close
    close_event_id: str | None = None  # and that command's event
    preferred_staff: str | None = None  # offered first to (a conversation the visitor booked)


@dataclass
class WaitingChat:
    conversation_id: str
    nickname: str
    queued_at: int


class ConversationStore:
    _COLS = (
        "id, session_id, status, department_id, room_id, created_at, queued_at, "
        "dispatch_deadline, next_queue_update, dispatch_room_id, dispatch_txn_id, "
        "dispatch_event_id, dispatch_outcome_sent, taker, taker_name, taken_at, ended_at, "
        "ended_by, last_position, ghost_left, escalate_at, escalation_level, escalation_posted, "
        "offered_to, offer_deadline, notify_count, last_speaker, last_activity_at, idle_deadline, "
        "idle_warned, video_widget_id, video_domain, video_conference, video_remove, "
        "typing_preview, rating, rating_comment, rating_txn_id, rating_posted, purged_at, "
        "closed_by, close_event_id, preferred_staff"
    )

    def __init__(self, db: Database) -> None:
        self.db = db

    def _one(self, row) -> Conversation | None:  # type: ignore[no-untyped-def]
        return Conversation(**row) if row else None

    async def create(self, conn: Connection, id: str, session_id: str) -> None:
        await conn.execute(
            "INSERT INTO conversation (id, session_id, status, created_at) VALUES ($1,$2,$3,$4)",
            id,
            session_id,
            Status.CHOOSING,
            now_ms(),
        )
        await conn.execute("UPDATE session SET conversation_id=$2 WHERE id=$1", session_id, id)

    async def get_by_id(self, id: str, conn: Connection | None = None) -> Conversation | None:
        q = f"SELECT {self._COLS} FROM conversation WHERE id=$1"
        return self._one(await (conn or self.db).fetchrow(q, id))

    async def get_by_room(self, room_id: str) -> Conversation | None:
        q = f"SELECT {self._COLS} FROM conversation WHERE room_id=$1"
        return self._one(await self.db.fetchrow(q, room_id))

    async def get_by_dispatch_event(self, event_id: str) -> Conversation | None:
        q = f"SELECT {self._COLS} FROM conversation WHERE dispatch_event_id=$1"
        return self._one(await self.db.fetchrow(q, event_id))

    async def get_by_dispatch_txn(self, room_id: str, txn_id: str) -> Conversation | None:
        """The conversation whose current request in this room was sent with this txn id."""
        q = (
            f"SELECT {self._COLS} FROM conversation "
            "WHERE dispatch_txn_id=$1 AND dispatch_room_id=$2"
        )
        return self._one(await self.db.fetchrow(q, txn_id, room_id))

    async def note_dispatch_event(self, id: str, txn_id: str, event_id: str) -> bool:
        """The event id of the current request, if not noted yet."""
        row = await self.db.fetchrow(
            "UPDATE conversation SET dispatch_event_id=$3 WHERE id=$1 AND dispatch_txn_id=$2 "
            "AND dispatch_event_id IS NULL RETURNING id",
            id,
            txn_id,
            event_id,
        )
        return row is not None

    async def all_by_status(self, *statuses: str) -> list[Conversation]:
        marks = ",".join(f"${i + 1}" for i in range(len(statuses)))
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM conversation WHERE status IN ({marks}) "
            "ORDER BY queued_at, created_at, id",
            *statuses,
        )
        return [Conversation(**r) for r in rows]

    async def all_unfinished_matrix_work(self) -> list[str]:
        """Conversations whose Matrix side lags behind the database (crash recovery): taken
        but no room yet, no dispatch message, a dispatch outcome not yet shown, an invite not
        yet sent, a ghost still in the room of an ended chat, a video widget to take out, or
        someone asked (a mention, an offer) whom the dispatch room has not been told of."""
        rows = await self.db.fetch(
            "SELECT id FROM conversation c WHERE "
            "(status='connected' AND room_id IS NULL) "
            "OR (status='waiting' AND dispatch_event_id IS NULL) "
            "OR (status<>'waiting' AND dispatch_event_id IS NOT NULL "
            "    AND dispatch_outcome_sent IS NULL) "
            "OR (status='ended' AND room_id IS NOT NULL AND NOT ghost_left) "
            "OR (status='waiting' AND escalation_level > escalation_posted) "
            "OR video_remove IS NOT NULL "
            "OR (rating_txn_id IS NOT NULL AND NOT rating_posted AND room_id IS NOT NULL) "
            "OR EXISTS (SELECT 1 FROM conversation_staff s WHERE s.conversation_id=c.id "
            "           AND s.membership='to_invite') "
            "OR (status='waiting' AND EXISTS (SELECT 1 FROM dispatch_offer o "
            "    WHERE o.conversation_id=c.id AND o.round=c.dispatch_txn_id "
            "    AND o.event_id IS NULL AND o.outcome IS NULL))"
        )
        return [r["id"] for r in rows]

    async def open_rooms(self) -> list[str]:
        """Consult rooms of conversations that are not over."""
        rows = await self.db.fetch(
            "SELECT room_id FROM conversation WHERE room_id IS NOT NULL AND status<>'ended'"
        )
        return [r["room_id"] for r in rows]

    async def waiting_in(self, department_id: str, limit: int | None = None) -> list[Conversation]:
        """The department's queue in order (its first `limit` chats)."""
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM conversation WHERE status='waiting' AND department_id=$1 "
            "ORDER BY queued_at, id" + (f" LIMIT {int(limit)}" if limit is not None else ""),
            department_id,
        )
        return [Conversation(**r) for r in rows]

    async def waiting_list(self, department_id: str, limit: int) -> list[WaitingChat]:
        """The department's queue in order, with what staff see of each visitor (one query)."""
        rows = await self.db.fetch(
            "SELECT c.id, c.queued_at, s.name, s.ghost_id FROM conversation c "
            "JOIN session s ON s.id = c.session_id "
            "WHERE c.status='waiting' AND c.department_id=$1 "
            f"ORDER BY c.queued_at, c.id LIMIT {int(limit)}",
            department_id,
        )
        return [
            WaitingChat(r["id"], nickname(r["name"], r["ghost_id"]), r["queued_at"] or 0)
            for r in rows
        ]

    async def ids_in(self, department_id: str, statuses: tuple[str, ...]) -> list[str]:
        """The department's conversations in these states, oldest first."""
        marks = ",".join(f"${i + 2}" for i in range(len(statuses)))
        rows = await self.db.fetch(
            f"SELECT id FROM conversation WHERE department_id=$1 AND status IN ({marks}) "
            "ORDER BY queued_at, id",
            department_id,
            *statuses,
        )
        return [r["id"] for r in rows]

    async def still_waiting(self, conn: Connection, ids: list[str]) -> set[str]:
        """Those of ids that wait now."""
        if not ids:
            return set()
        marks = ",".join(f"${i + 1}" for i in range(len(ids)))
        rows = await conn.fetch(
            f"SELECT id FROM conversation WHERE status='waiting' AND id IN ({marks})", *ids
        )
        return {r["id"] for r in rows}

    async def count_waiting(self, department_id: str) -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM conversation WHERE status='waiting' AND department_id=$1",
                department_id,
            )
        )

    async def set_fields(self, id: str, conn: Connection | None = None, **fields: object) -> None:
        cols = list(fields)
        sets = ", ".join(f"{c}=${i + 2}" for i, c in enumerate(cols))
        await (conn or self.db).execute(
            f"UPDATE conversation SET {sets} WHERE id=$1", id, *fields.values()
        )

    async def with_typing_preview(self) -> list[Conversation]:
        q = f"SELECT {self._COLS} FROM conversation WHERE typing_preview IS NOT NULL"
        return [Conversation(**r) for r in await self.db.fetch(q)]

    async def end_video(self, conn: Connection, id: str) -> bool:
        """The chat's video call ends (the chat did): its widget is marked to be taken out of
        the room. False when there was no call."""
        row = await conn.fetchrow(
            "UPDATE conversation SET video_remove=video_widget_id, video_widget_id=NULL, "
            "video_domain=NULL, video_conference=NULL WHERE id=$1 AND video_widget_id IS NOT "
            "NULL RETURNING id",
            id,
        )
        return row is not None

    async def transition(
        self, conn: Connection, id: str, from_states: tuple[str, ...], to: str, **fields: object
    ) -> bool:
        """Atomically move a conversation between states; False when it was not in from_states."""
        cols = list(fields)
        n = len(from_states)
        marks = ",".join(f"${i + 3}" for i in range(n))
        sets = "".join(f", {c}=${i + 3 + n}" for i, c in enumerate(cols))
        row = await conn.fetchrow(
            f"UPDATE conversation SET status=$2{sets} WHERE id=$1 AND status IN ({marks}) "
            "RETURNING id",
            id,
            to,
            *from_states,
            *fields.values(),
        )
        return row is not None

    async def next_place(self, conn: Connection, department_id: str, now: int) -> int:
        """queued_at for a new arrival in a department's queue: now, but always after everyone
        waiting there. On PostgreSQL the queue is locked until the caller's transaction ends;
        SQLite runs one write transaction at a time anyway."""
        if self.db.scheme == Scheme.POSTGRES:
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", f"laura.queue.{department_id}"
            )
        last = await conn.fetchval(
            "SELECT MAX(queued_at) FROM conversation WHERE status='waiting' AND department_id=$1",
            department_id,
        )
        return max(now, int(last or 0) + 1)

    async def create_next(self, conn: Connection, id: str, session_id: str, after: str) -> bool:
        """A new chat in a session, only if `after` is still its current one: of two restarts
        at once (two tabs), one makes the chat. The session row is updated first, which locks
        it on PostgreSQL until the transaction ends."""
        row = await conn.fetchrow(
            "UPDATE session SET conversation_id=$2 WHERE id=$1 AND conversation_id=$3 "
            "RETURNING id",
            session_id,
            id,
            after,
        )
        if row is None:
            return False
        await conn.execute(
            "INSERT INTO conversation (id, session_id, status, created_at) VALUES ($1,$2,$3,$4)",
            id,
            session_id,
            Status.CHOOSING,
            now_ms(),
        )
        return True

    async def starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        """Ids of conversations that start with prefix (staff know a chat by the first
        characters in its consult room's name). prefix holds only [0-9a-f]: no wildcards."""
        rows = await self.db.fetch(
            f"SELECT id FROM conversation WHERE id LIKE $1 ORDER BY id LIMIT {int(limit)}",
            f"{prefix}%",
        )
        return [r["id"] for r in rows]

    async def front_place(self, conn: Connection, department_id: str, now: int) -> int:
        """queued_at for a chat handed back to the queue: before everyone waiting there."""
        first = await conn.fetchval(
            "SELECT MIN(queued_at) FROM conversation WHERE status='waiting' AND department_id=$1",
            department_id,
        )
        return int(first) - 1 if first is not None else now

    async def rate(self, id: str, stars: int, comment: str | None, txn_id: str) -> bool:
        """The visitor's rating of an ended chat, once: False when it was rated before."""
        row = await self.db.fetchrow(
            "UPDATE conversation SET rating=$2, rating_comment=$3, rated_at=$4, rating_txn_id=$5 "
            "WHERE id=$1 AND status='ended' AND rating IS NULL RETURNING id",
            id,
            stars,
            comment,
            now_ms(),
            txn_id,
        )
        return row is not None

    async def ratings_by_department(self) -> dict[str, tuple[float, int]]:
        """Average stars and number of ratings per department."""
        rows = await self.db.fetch(
            "SELECT department_id, AVG(rating) AS avg, COUNT(rating) AS n FROM conversation "
            "WHERE rating IS NOT NULL GROUP BY department_id"
        )
        return {r["department_id"] or "": (float(r["avg"]), int(r["n"])) for r in rows}

    async def claim(self, conn: Connection, id: str, user_id: str, name: str) -> bool:
        """First 'Ik!' wins: decided by the database, never by an in-memory flag."""
        row = await conn.fetchrow(
            "UPDATE conversation SET status='connected', taker=$2, taker_name=$3, taken_at=$4, "
            "dispatch_deadline=NULL, next_queue_update=NULL, offered_to=NULL, "
            "offer_deadline=NULL, last_activity_at=$4 "
            "WHERE id=$1 AND status='waiting' AND taker IS NULL RETURNING id",
            id,
            user_id,
            name,
            now_ms(),
        )
        return row is not None

    async def offer(
        self, conn: Connection, id: str, round: str, user_id: str, deadline: int
    ) -> bool:
        """One at a time: offer a waiting chat to user_id, if nobody holds it."""
        row = await conn.fetchrow(
            "UPDATE conversation SET offered_to=$3, offer_deadline=$4 WHERE id=$1 "
            "AND status='waiting' AND dispatch_txn_id=$2 AND offered_to IS NULL RETURNING id",
            id,
            round,
            user_id,
            deadline,
        )
        return row is not None

    async def clear_offer(self, conn: Connection, id: str, user_id: str) -> bool:
        """The offer to user_id ends (declined, timed out, they went away)."""
        row = await conn.fetchrow(
            "UPDATE conversation SET offered_to=NULL, offer_deadline=NULL WHERE id=$1 "
            "AND offered_to=$2 RETURNING id",
            id,
            user_id,
        )
        return row is not None

    async def spoke(
        self, conn: Connection, id: str, who: str, at: int, notification: bool = False
    ) -> None:
        """Someone wrote: who spoke last (the waiting room shows it) and the chat's last
        activity (inactivity), which also cancels an inactivity warning."""
        await conn.execute(
            "UPDATE conversation SET last_speaker=$2, last_activity_at=$3, idle_warned=FALSE, "
            "idle_deadline=NULL, notify_count=notify_count+$4 WHERE id=$1",
            id,
            who,
            at,
            1 if notification else 0,
        )

    async def warn_idle(self, conn: Connection, id: str, last: int, deadline: int) -> bool:
        """Record the inactivity warning, unless somebody wrote since `last`."""
        row = await conn.fetchrow(
            "UPDATE conversation SET idle_warned=TRUE, idle_deadline=$3 WHERE id=$1 "
            "AND status='connected' AND NOT idle_warned "
            "AND COALESCE(last_activity_at, taken_at, 0) <= $2 RETURNING id",
            id,
            last,
            deadline,
        )
        return row is not None

    # Statistics -----------------------------------------------------------------------------

    async def counts_by_department(self) -> dict[tuple[str, str], int]:
        rows = await self.db.fetch(
            "SELECT department_id, status, COUNT(*) AS n FROM conversation "
            "WHERE status IN ('waiting','connected','contact') GROUP BY department_id, status"
        )
        return {(r["department_id"], r["status"]): r["n"] for r in rows}

    # Unclosed chats (S16) ---------------------------------------------------------------------

    async def all_unclosed(self, quiet_since: int, limit: int = 100) -> list[Conversation]:
        """Chats never properly ended (the visitor vanished, staff forgot): still waiting,
        connected or asking for contact details, and quiet since before quiet_since (ms);
        oldest first."""
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM conversation "
            "WHERE status IN ('waiting','connected','contact') "
            "AND COALESCE(last_activity_at, taken_at, queued_at, created_at) <= $1 "
            f"ORDER BY created_at, id LIMIT {int(limit)}",
            quiet_since,
        )
        return [Conversation(**r) for r in rows]
