from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database

from ..util import now_ms


@dataclass
class Attachment:
    """A file exchanged in a conversation (its bytes are read only when served or passed on)."""

    id: str
    session_id: str
    conversation_id: str
    sender: str
    name: str
    mime: str
    kind: str
    size: int
    width: int | None
    height: int | None
    thumbnail_mime: str | None
    mx_event_id: str | None
    mxc: str | None
    thumbnail_mxc: str | None
    created_at: int

    def to_api(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "name": self.name,
            "mime": self.mime,
            "kind": self.kind,
            "size": self.size,
        }
        if self.width and self.height:
            out.update(width=self.width, height=self.height)
        return out


class AttachmentStore:
    _COLS = (
        "id, session_id, conversation_id, sender, name, mime, kind, size, width, height, "
        "thumbnail_mime, mx_event_id, mxc, thumbnail_mxc, created_at"
    )

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        conn: Connection,
        att: Attachment,
        data: bytes,
        thumbnail: bytes | None,
    ) -> None:
        await conn.execute(
            "INSERT INTO attachment (id, session_id, conversation_id, sender, name, mime, kind, "
            "size, width, height, data, thumbnail, thumbnail_mime, mx_event_id, created_at) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
            att.id,
            att.session_id,
            att.conversation_id,
            att.sender,
            att.name,
            att.mime,
            att.kind,
            att.size,
            att.width,
            att.height,
            data,
            thumbnail,
            att.thumbnail_mime,
            att.mx_event_id,
            att.created_at or now_ms(),
        )

    async def get(self, id: str) -> Attachment | None:
        row = await self.db.fetchrow(f"SELECT {self._COLS} FROM attachment WHERE id=$1", id)
        return Attachment(**row) if row else None

    async def of_session(self, session_id: str, id: str) -> Attachment | None:
        """A file of this session only: another session's id is as unknown as a wrong one."""
        row = await self.db.fetchrow(
            f"SELECT {self._COLS} FROM attachment WHERE id=$1 AND session_id=$2", id, session_id
        )
        return Attachment(**row) if row else None

    async def of_conversation(self, conversation_id: str) -> list[Attachment]:
        rows = await self.db.fetch(
            f"SELECT {self._COLS} FROM attachment WHERE conversation_id=$1 ORDER BY created_at",
            conversation_id,
        )
        return [Attachment(**r) for r in rows]

    async def by_event(self, mx_event_id: str) -> Attachment | None:
        row = await self.db.fetchrow(
            f"SELECT {self._COLS} FROM attachment WHERE mx_event_id=$1", mx_event_id
        )
        return Attachment(**row) if row else None

    async def data(self, id: str, thumbnail: bool = False) -> bytes | None:
        col = "thumbnail" if thumbnail else "data"
        value = await self.db.fetchval(f"SELECT {col} FROM attachment WHERE id=$1", id)
        return bytes(value) if value is not None else None

    async def uploaded(self, id: str, mxc: str, thumbnail_mxc: str | None) -> None:
        await self.db.execute(
            "UPDATE attachment SET mxc=$2, thumbnail_mxc=$3 WHERE id=$1", id, mxc, thumbnail_mxc
        )
