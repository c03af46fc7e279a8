"""Appointments, their types, reminders and the mail outbox. Times are UTC milliseconds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mautrix.util.async_db import Connection, Database

from ..util import now_ms

BOOKED, MOVED, CANCELLED = "booked", "moved", "cancelled"
# What a reminder row is for: the client's mail, the adviser's mention, the video room opened,
# the booked chat opened.
CLIENT, ADVISER, VIDEO_ROOM, CHAT = "client", "adviser", "video", "chat"


@dataclass
class AppointmentType:
    name: str
    title: str
    minutes: int
    video: bool
    outcomes: list[str]
    client_fields: list[str]
    active: bool = True


@dataclass
class Appointment:
    nr: int
    id: str
    uid: str
    sequence: int
    version: int
    type_name: str
    video: bool
    title: str
    location_kind: str  # default | home | video | address; a visitor's booking: chat | phone
    location: str | None
    remarks: str | None  # for the client
    internal: str | None  # never shown to the client
    start_at: int
    end_at: int
    adviser: str
    case_id: str | None
    conversation_id: str | None
    department_id: str | None
    client_name: str | None
    client_email: str | None
    client_phone: str | None  # a phone conversation a visitor booked: the number to call
    lang: str
    status: str
    outcome: str | None
    outcome_note: str | None
    room_id: str | None
    event_id: str | None
    video_room_id: str | None  # the adviser's room with the call (video appointments)
    shown_version: int  # the version Laura's message in Matrix shows
    mailed: bool
    created_by: str
    created_at: int
    updated_at: int

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED


@dataclass
class OutboxMail:
    id: int
    appointment_id: str | None
    kind: str
    recipient: str
    message: str
    attempts: int
    next_at: int
    last_error: str | None = None
    failed_at: int | None = None
    sent_at: int | None = None
    logged: bool = False
    created_at: int = field(default_factory=now_ms)


_FIELDS = tuple(Appointment.__dataclass_fields__)
_COLS = ", ".join(_FIELDS)
_MAIL_FIELDS = tuple(OutboxMail.__dataclass_fields__)
_MAIL_COLS = ", ".join(_MAIL_FIELDS)
_TYPE_COLS = "name, title, minutes, video, outcomes, client_fields, active"


def _appointment(row: Any) -> Appointment:
    values = {f: row[f] for f in _FIELDS}
    values["video"] = bool(values["video"])
    values["mailed"] = bool(values["mailed"])
    return Appointment(**values)


def _type(row: Any) -> AppointmentType:
    return AppointmentType(
        row["name"],
        row["title"],
        int(row["minutes"]),
        bool(row["video"]),
        list(json.loads(row["outcomes"])),
        list(json.loads(row["client_fields"])),
        bool(row["active"]),
    )


class AppointmentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Types ------------------------------------------------------------------------------------

    async def save_type(self, kind: AppointmentType) -> None:
        await self.db.execute(
            "INSERT INTO appointment_type (name, title, minutes, video, outcomes, client_fields, "
            "active, created_at) VALUES ($1,$2,$3,$4,$5,$6,TRUE,$7) ON CONFLICT (name) DO UPDATE "
            "SET title=excluded.title, minutes=excluded.minutes, video=excluded.video, "
            "outcomes=excluded.outcomes, client_fields=excluded.client_fields, active=TRUE",
            kind.name,
            kind.title,
            kind.minutes,
            kind.video,
            json.dumps(kind.outcomes),
            json.dumps(kind.client_fields),
            now_ms(),
        )

    async def remove_type(self, name: str) -> bool:
        """Retire a type: booked appointments keep it; no new ones use it."""
        row = await self.db.fetchrow(
            "UPDATE appointment_type SET active=FALSE WHERE name=$1 AND active RETURNING name",
            name,
        )
        return row is not None

    async def types(self, include_retired: bool = False) -> list[AppointmentType]:
        where = "" if include_retired else "WHERE active"
        rows = await self.db.fetch(
            f"SELECT {_TYPE_COLS} FROM appointment_type {where} ORDER BY name"
        )
        return [_type(r) for r in rows]

    async def get_type(self, name: str) -> AppointmentType | None:
        row = await self.db.fetchrow(
            f"SELECT {_TYPE_COLS} FROM appointment_type WHERE name=$1", name
        )
        return _type(row) if row else None

    # Appointments -----------------------------------------------------------------------------

    async def lock_adviser(self, conn: Connection, adviser: str) -> None:
        """Serialise bookings of one adviser until the transaction ends: a write first (a row
        lock on PostgreSQL, the database's write lock on SQLite), then the overlap check."""
        await conn.execute(
            "INSERT INTO staff_member (user_id, bookings) VALUES ($1, 1) "
            "ON CONFLICT (user_id) DO UPDATE SET bookings=staff_member.bookings+1",
            adviser,
        )

    async def overlapping(
        self, conn: Connection, adviser: str, start_at: int, end_at: int, but: str | None = None
    ) -> list[Appointment]:
        rows = await conn.fetch(
            f"SELECT {_COLS} FROM appointment WHERE adviser=$1 AND status<>$2 "
            "AND start_at < $4 AND end_at > $3 AND id<>$5 ORDER BY start_at",
            adviser,
            CANCELLED,
            start_at,
            end_at,
            but or "",
        )
        return [_appointment(r) for r in rows]

    async def insert(self, conn: Connection, a: Appointment) -> Appointment:
        """Insert (nr is given by the database) and return it with its nr."""
        cols = [f for f in _FIELDS if f != "nr"]
        marks = ", ".join(f"${i + 1}" for i in range(len(cols)))
        nr = await conn.fetchval(
            f"INSERT INTO appointment ({', '.join(cols)}) VALUES ({marks}) RETURNING nr",
            *(getattr(a, f) for f in cols),
        )
        a.nr = int(nr)
        return a

    async def update(self, conn: Connection, a: Appointment, **fields: Any) -> Appointment:
        """Change fields; the version always rises (Laura's message is edited)."""
        fields["version"] = a.version + 1
        fields["updated_at"] = now_ms()
        sets = ", ".join(f"{k}=${i + 2}" for i, k in enumerate(fields))
        await conn.execute(f"UPDATE appointment SET {sets} WHERE id=$1", a.id, *fields.values())
        for k, v in fields.items():
            setattr(a, k, v)
        return a

    async def get(self, appointment_id: str) -> Appointment | None:
        row = await self.db.fetchrow(
            f"SELECT {_COLS} FROM appointment WHERE id=$1", appointment_id
        )
        return _appointment(row) if row else None

    async def by_nr(self, nr: int) -> Appointment | None:
        row = await self.db.fetchrow(f"SELECT {_COLS} FROM appointment WHERE nr=$1", nr)
        return _appointment(row) if row else None

    async def of_session(self, session_id: str, verified_id: str | None) -> list[Appointment]:
        """A visitor's appointments, earliest first: of their session's chats, or in portal
        mode of every chat of the same signed-in client."""
        rows = await self.db.fetch(
            f"SELECT {_COLS} FROM appointment WHERE conversation_id IN ("
            "SELECT c.id FROM conversation c JOIN session s ON s.id=c.session_id "
            "WHERE s.id=$1 OR (s.verified_id IS NOT NULL AND s.verified_id=$2)"
            ") ORDER BY start_at, nr",
            session_id,
            verified_id or "",
        )
        return [_appointment(r) for r in rows]

    async def of_conversation(self, conversation_id: str) -> list[Appointment]:
        rows = await self.db.fetch(
            f"SELECT {_COLS} FROM appointment WHERE conversation_id=$1 ORDER BY start_at",
            conversation_id,
        )
        return [_appointment(r) for r in rows]

    async def between(
        self, start_at: int, end_at: int, adviser: str | None = None
    ) -> list[Appointment]:
        """Appointments (cancelled ones too) that overlap [start_at, end_at)."""
        rows = await self.db.fetch(
            f"SELECT {_COLS} FROM appointment WHERE start_at < $2 AND end_at > $1 "
            "AND ($3='' OR adviser=$3) ORDER BY start_at, nr",
            start_at,
            end_at,
            adviser or "",
        )
        return [_appointment(r) for r in rows]

    async def without_outcome(self, before: int, adviser: str | None = None) -> list[Appointment]:
        rows = await self.db.fetch(
            f"SELECT {_COLS} FROM appointment WHERE start_at < $1 AND status<>$2 "
            "AND outcome IS NULL AND ($3='' OR adviser=$3) ORDER BY start_at, nr",
            before,
            CANCELLED,
            adviser or "",
        )
        return [_appointment(r) for r in rows]

    async def set_feed(self, user_id: str, feed_hash: str) -> None:
        await self.db.execute(
            "INSERT INTO staff_member (user_id, feed_hash) VALUES ($1, $2) "
            "ON CONFLICT (user_id) DO UPDATE SET feed_hash=excluded.feed_hash",
            user_id,
            feed_hash,
        )

    async def has_feed(self, user_id: str) -> bool:
        value = await self.db.fetchval(
            "SELECT feed_hash FROM staff_member WHERE user_id=$1", user_id
        )
        return bool(value)

    async def feed_owner(self, feed_hash: str) -> str | None:
        value = await self.db.fetchval(
            "SELECT user_id FROM staff_member WHERE feed_hash=$1", feed_hash
        )
        return str(value) if value else None

    async def for_feed(self, adviser: str, since: int) -> list[Appointment]:
        """An adviser's appointments for their calendar feed: from `since` on, and cancelled
        ones changed since then (so calendars see them go)."""
        rows = await self.db.fetch(
            f"SELECT {_COLS} FROM appointment WHERE adviser=$1 AND "
            "(end_at >= $2 OR (status=$3 AND updated_at >= $2)) ORDER BY start_at",
            adviser,
            since,
            CANCELLED,
        )
        return [_appointment(r) for r in rows]

    async def set_video_room(self, appointment_id: str, room_id: str) -> None:
        await self.db.execute(
            "UPDATE appointment SET video_room_id=$2 WHERE id=$1", appointment_id, room_id
        )

    async def shown(self, appointment_id: str, version: int, event_id: str) -> None:
        """Laura's message shows this version (sent, or edited to it)."""
        await self.db.execute(
            "UPDATE appointment SET event_id=$3, shown_version=$2 WHERE id=$1 "
            "AND shown_version < $2",
            appointment_id,
            version,
            event_id,
        )

    async def behind(self) -> list[str]:
        """Appointments whose Matrix message does not show their last change (a restart between
        the change and the send): brought up to date at start-up."""
        rows = await self.db.fetch(
            "SELECT id FROM appointment WHERE room_id IS NOT NULL AND shown_version < version"
        )
        return [r["id"] for r in rows]

    # Reminders --------------------------------------------------------------------------------

    async def set_reminder(
        self, conn: Connection, appointment_id: str, side: str, due: int
    ) -> None:
        await conn.execute(
            "INSERT INTO appointment_reminder (appointment_id, side, due_at) VALUES ($1,$2,$3) "
            "ON CONFLICT (appointment_id, side) DO UPDATE SET due_at=excluded.due_at, "
            "done_at=NULL",
            appointment_id,
            side,
            due,
        )

    async def drop_reminders(self, conn: Connection, appointment_id: str, side: str = "") -> None:
        """Drop the reminders not sent yet: all of the appointment's, or one side's."""
        await conn.execute(
            "DELETE FROM appointment_reminder WHERE appointment_id=$1 AND done_at IS NULL "
            "AND ($2='' OR side=$2)",
            appointment_id,
            side,
        )

    async def pending_reminders(
        self, appointment_id: str | None = None
    ) -> list[tuple[str, str, int]]:
        """Reminders not sent yet (appointment, side, due), of one appointment or of all."""
        rows = await self.db.fetch(
            "SELECT appointment_id, side, due_at FROM appointment_reminder WHERE done_at IS NULL "
            "AND ($1='' OR appointment_id=$1)",
            appointment_id or "",
        )
        return [(r["appointment_id"], r["side"], int(r["due_at"])) for r in rows]

    async def claim_reminder(self, conn: Connection, appointment_id: str, side: str) -> int | None:
        """Mark a due reminder done (once); its due time, or None when it was done or gone."""
        row = await conn.fetchrow(
            "UPDATE appointment_reminder SET done_at=$3 WHERE appointment_id=$1 AND side=$2 "
            "AND done_at IS NULL RETURNING due_at",
            appointment_id,
            side,
            now_ms(),
        )
        return int(row["due_at"]) if row else None

    # The outbox -------------------------------------------------------------------------------

    async def queue_mail(
        self, conn: Connection, appointment_id: str | None, kind: str, recipient: str, message: str
    ) -> int:
        now = now_ms()
        mail_id = await conn.fetchval(
            "INSERT INTO mail_outbox (appointment_id, kind, recipient, message, next_at, "
            "created_at) VALUES ($1,$2,$3,$4,$5,$5) RETURNING id",
            appointment_id,
            kind,
            recipient,
            message,
            now,
        )
        return int(mail_id)

    async def due_mails(self, now: int) -> list[OutboxMail]:
        rows = await self.db.fetch(
            f"SELECT {_MAIL_COLS} FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL "
            "AND next_at <= $1 ORDER BY id",
            now,
        )
        return [OutboxMail(**r) for r in rows]

    async def next_mail_at(self) -> int | None:
        value = await self.db.fetchval(
            "SELECT MIN(next_at) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL"
        )
        return int(value) if value is not None else None

    async def mail_sent(self, mail_id: int) -> bool:
        row = await self.db.fetchrow(
            "UPDATE mail_outbox SET sent_at=$2, last_error=NULL WHERE id=$1 AND sent_at IS NULL "
            "RETURNING id",
            mail_id,
            now_ms(),
        )
        return row is not None

    async def mail_failed(
        self, mail_id: int, error: str, next_at: int | None, attempts: int
    ) -> None:
        """A try that failed: again at next_at, or (None) given up for good."""
        await self.db.execute(
            "UPDATE mail_outbox SET attempts=$2, last_error=$3, next_at=COALESCE($4, next_at), "
            "failed_at=CASE WHEN $4 IS NULL THEN $5 ELSE NULL END WHERE id=$1",
            mail_id,
            attempts,
            error[:500],
            next_at,
            now_ms(),
        )

    async def mails_to_log(self) -> list[OutboxMail]:
        """Mails sent or given up whose line in the appointment's thread is not written yet."""
        rows = await self.db.fetch(
            f"SELECT {_MAIL_COLS} FROM mail_outbox WHERE NOT logged AND "
            "(sent_at IS NOT NULL OR failed_at IS NOT NULL) ORDER BY id"
        )
        return [OutboxMail(**r) for r in rows]

    async def mail_logged(self, mail: OutboxMail) -> None:
        """Its line is in the thread: a sent mail (or one given up whose appointment is gone)
        is deleted, so the outbox keeps no copy of what went out."""
        if mail.sent_at is not None or mail.appointment_id is None:
            await self.db.execute("DELETE FROM mail_outbox WHERE id=$1", mail.id)
        else:
            await self.db.execute("UPDATE mail_outbox SET logged=TRUE WHERE id=$1", mail.id)

    async def delete(
        self, conn: Connection, appointment_ids: list[str]
    ) -> list[tuple[str, str | None]]:
        """Delete appointments (their reminders go with them; mails not yet sent stay until
        they are); returns (room, event) of what Laura posted about them in Matrix, and
        (room, None) for a video room of theirs, for the homeserver's side of the deletion."""
        posted: list[tuple[str, str | None]] = []
        for appointment_id in appointment_ids:
            video = await conn.fetchval(
                "SELECT video_room_id FROM appointment WHERE id=$1", appointment_id
            )
            if video:
                posted.append((str(video), None))
            rows = await conn.fetch(
                "SELECT room_id, event_id FROM mx_send WHERE event_id IS NOT NULL AND "
                "(txn_id LIKE $1 OR txn_id IN (SELECT 'laura.mail.' || id FROM mail_outbox "
                "WHERE appointment_id=$2))",
                f"laura.appt.{appointment_id}%",  # ids are hex: no wildcards in them
                appointment_id,
            )
            posted += [(r["room_id"], r["event_id"]) for r in rows]
            # Mails given up on go with it; those still to be sent (a CANCEL) stay until sent.
            await conn.execute(
                "DELETE FROM mail_outbox WHERE appointment_id=$1 AND failed_at IS NOT NULL",
                appointment_id,
            )
            await conn.execute("DELETE FROM appointment WHERE id=$1", appointment_id)
        return posted

    async def ids_of(
        self, conn: Connection, conversation_ids: list[str], with_case: bool
    ) -> list[str]:
        """The appointments of these chats; with_case False: only those without a case (a
        visitor's own booking, which belongs to the chat)."""
        found: list[str] = []
        for conv_id in conversation_ids:
            rows = await conn.fetch(
                "SELECT id FROM appointment WHERE conversation_id=$1 AND ($2 OR case_id IS NULL)",
                conv_id,
                with_case,
            )
            found += [r["id"] for r in rows]
        return found

    async def coming_in(self, conversation_ids: list[str], now: int) -> set[str]:
        """Those of the chats with a booked conversation still to come (kept past retention
        until it has been)."""
        if not conversation_ids:
            return set()
        marks = ",".join(f"${i + 3}" for i in range(len(conversation_ids)))
        rows = await self.db.fetch(
            "SELECT DISTINCT conversation_id FROM appointment WHERE case_id IS NULL "
            f"AND status<>$1 AND end_at > $2 AND conversation_id IN ({marks})",
            CANCELLED,
            now,
            *conversation_ids,
        )
        return {r["conversation_id"] for r in rows}

    async def ids_of_cases_before(self, conn: Connection, cutoff_ms: int) -> list[str]:
        rows = await conn.fetch(
            "SELECT a.id FROM appointment a JOIN case_record k ON k.id=a.case_id "
            "WHERE k.created_at < $1",
            cutoff_ms,
        )
        return [r["id"] for r in rows]

    async def failing_mails(self) -> list[OutboxMail]:
        """Mails given up on, or tried more than once without success: for admins."""
        rows = await self.db.fetch(
            f"SELECT {_MAIL_COLS} FROM mail_outbox WHERE sent_at IS NULL AND "
            "(failed_at IS NOT NULL OR attempts > 1) ORDER BY id"
        )
        return [OutboxMail(**r) for r in rows]

    async def retry_mail(self, mail_id: int) -> bool:
        row = await self.db.fetchrow(
            "UPDATE mail_outbox SET failed_at=NULL, next_at=$2 WHERE id=$1 AND sent_at IS NULL "
            "RETURNING id",
            mail_id,
            now_ms(),
        )
        return row is not None
