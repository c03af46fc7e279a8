"""Files exchanged in a chat, both ways (V10).

A visitor's file is checked by its content, stripped of metadata and stored with the chat
before anything else happens; then it is an event in the visitor's stream and goes to the
consult room like a message. A staff member's file is fetched from the homeserver, checked and
stored the same way, so the visitor only ever talks to Laura.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from .config import Config
from .conversation import Conversations
from .db import Store
from .db.attachments import Attachment
from .db.base import transaction
from .db.conversations import Conversation
from .db.sessions import Session
from .errors import Conflict, ErrorCode, LauraError, NotFound
from .media import Checked, Refused, inspect_staff_file, inspect_upload
from .notifier import Notifier
from .settings import Settings
from .status import Status
from .tasks import Kick
from .util import now_ms, random_id

log = logging.getLogger(__name__)

MB = 1024 * 1024


class FileRefused(LauraError):
    """A file Laura does not take; the message says why (the limit, the allowed kinds)."""

    status = 422


class Files:
    def __init__(
        self,
        config: Config,
        store: Store,
        settings: Settings,
        notifier: Notifier,
        conversations: Conversations,
        kick_matrix: Kick,
    ) -> None:
        self.config = config
        self.store = store
        self.settings = settings
        self.notifier = notifier
        self.conversations = conversations
        self.kick_matrix = kick_matrix

    async def max_bytes(self) -> int:
        return await self.settings.count("max_file_mb") * MB

    async def limits(self) -> dict[str, object]:
        """What the widget may send, so the browser can refuse a file before uploading it."""
        return {
            "max_bytes": await self.max_bytes(),
            "types": sorted(self.config.visitor_file_types),
        }

    async def visitor_upload(self, session: Session, name: str, data: bytes) -> dict[str, object]:
        """Check, store and pass on a visitor's file; returns its event (seq and attachment)."""
        conv = await self.conversations.current(session)
        if conv.status == Status.ENDED:
            raise Conflict(
                "This chat has ended; start a new chat to send a file.", code=ErrorCode.CHAT_ENDED
            )
        allowed = self.config.visitor_file_types
        if not allowed:
            raise FileRefused(
                "This chat does not accept files.", code=ErrorCode.FILES_NOT_ACCEPTED
            )
        limit = await self.max_bytes()
        try:
            # Decoding a photo takes a while: not on the event loop, where the chats run.
            checked = await asyncio.get_running_loop().run_in_executor(
                None, inspect_upload, data, name, allowed, limit
            )
        except Refused as e:
            status = 413 if e.code == ErrorCode.FILE_TOO_LARGE else None
            raise FileRefused(e.message, code=e.code, status=status) from None
        stored = await self._store(session.id, conv, "visitor", session.nickname, checked, None)
        att = stored.attachment
        log.info(
            "Conversation %s: the visitor sent a file (%s, %d bytes)", conv.id, att.mime, att.size
        )
        return {"seq": stored.seq, "attachment": att.to_api()}

    async def staff_file(
        self,
        conv: Conversation,
        event_id: str,
        staff_name: str,
        name: str,
        data: bytes,
        declared_mime: str | None,
    ) -> bool:
        """A file staff sent in the consult room, for the visitor. False when the chat is over;
        Refused when Laura does not pass it on (too large)."""
        if conv.status == Status.ENDED:
            return False
        if await self.store.attachments.by_event(event_id) is not None:
            return True  # taken before a crash; the inbox replays the event
        checked = await asyncio.get_running_loop().run_in_executor(
            None, inspect_staff_file, data, name, declared_mime, await self.max_bytes()
        )
        stored = await self._store(conv.session_id, conv, "staff", staff_name, checked, event_id)
        log.info("Conversation %s: staff sent a file (%s)", conv.id, stored.attachment.mime)
        return True

    async def _store(
        self,
        session_id: str,
        conv: Conversation,
        sender: str,
        sender_name: str,
        checked: Checked,
        event_id: str | None,
    ) -> _Stored:
        att = Attachment(
            id=random_id(12),
            session_id=session_id,
            conversation_id=conv.id,
            sender=sender,
            name=checked.name,
            mime=checked.mime,
            kind=checked.kind,
            size=len(checked.data),
            width=checked.width,
            height=checked.height,
            thumbnail_mime=checked.thumbnail_mime,
            mx_event_id=event_id,
            mxc=None,
            thumbnail_mxc=None,
            created_at=now_ms(),
        )
        # A visitor's file goes to the consult room like their messages (to_matrix); a staff
        # file is in the room already. Either way it is stored before anyone is told of it.
        async with transaction(self.store.db) as conn:
            await self.store.attachments.add(conn, att, checked.data, checked.thumbnail)
            seq = await self.store.events.append(
                conn,
                session_id,
                conv.id,
                "message",
                sender=sender,
                name=sender_name,
                body=att.name,
                data={"attachment": att.to_api()},
                mx_event_id=event_id,
                to_matrix=sender == "visitor",
            )
            await self.store.conversations.spoke(
                conn, conv.id, sender, now_ms(), conv.status in (Status.WAITING, Status.CONTACT)
            )
        self.notifier.notify(session_id)
        if sender == "visitor" or conv.status != Status.CONNECTED:
            self.kick_matrix(conv.id, urgent=conv.status == Status.CONNECTED)
        return _Stored(seq, att)

    async def get(
        self, session: Session, attachment_id: str, thumbnail: bool = False
    ) -> tuple[Attachment, bytes]:
        """A file of this session (both directions); another session's is not found."""
        att = None
        if 1 <= len(attachment_id) <= 64 and attachment_id.isalnum():
            att = await self.store.attachments.of_session(session.id, attachment_id)
        if att is None:
            raise NotFound("No such file in this chat.", code=ErrorCode.ATTACHMENT_NOT_FOUND)
        data = await self.store.attachments.data(
            att.id, thumbnail=thumbnail and bool(att.thumbnail_mime)
        )
        if data is None:
            raise NotFound("No such file in this chat.", code=ErrorCode.ATTACHMENT_NOT_FOUND)
        return att, data


@dataclass
class _Stored:
    seq: int
    attachment: Attachment
