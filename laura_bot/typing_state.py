"""Typing, both ways (V9), and the visitor's live preview (S20).

Staff typing in Element reaches Laura as m.typing EDUs; the names of the staff typing in a
consult room become a `typing` event in the visitor's stream whenever they change. A visitor's
typing is passed to the consult room as the ghost typing; with the typing_preview setting on,
staff also see the draft, in a notice that exists only in the room while the visitor types
(never in Laura's database) and is removed once the message is sent.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from .config import Config
from .conversation import Conversations
from .db import Store
from .db.base import transaction
from .db.conversations import Conversation
from .db.sessions import Session
from .errors import BadRequest, ErrorCode
from .faults import describe
from .notifier import Notifier
from .settings import Settings
from .status import Status

log = logging.getLogger(__name__)

MAX_DRAFT = 4000


class TypingRelay(Protocol):
    """The Matrix side (matrix/typing.py)."""

    async def visitor(
        self, conv: Conversation, session: Session, typing: bool, draft: str | None
    ) -> None: ...

    async def sent(self, conv_id: str) -> None: ...

    async def restore(self) -> None: ...


class Typing:
    def __init__(
        self,
        config: Config,
        store: Store,
        settings: Settings,
        notifier: Notifier,
        conversations: Conversations,
        relay: TypingRelay,
    ) -> None:
        self.config = config
        self.store = store
        self.settings = settings
        self.notifier = notifier
        self.conversations = conversations
        self.relay = relay
        self._shown: dict[str, list[str]] = {}  # conversation → staff names the visitor sees
        self._tasks: set[asyncio.Task[None]] = set()

    async def staff_typing(self, room_id: str, user_ids: list[str]) -> None:
        """Who is typing in a consult room now (Synapse sends the whole list each time)."""
        conv = await self.store.conversations.get_by_room(room_id)
        if conv is None:
            return
        people = [u for u in user_ids if not self.config.is_own_user(u)]
        names = sorted(
            [(await self.store.staff.name_of(conv.id, u)) or u.split(":")[0][1:] for u in people]
        )
        if conv.status != Status.CONNECTED:
            names = []
        if names == self._shown.get(conv.id, []):
            return
        if names:
            self._shown[conv.id] = names
        else:
            self._shown.pop(conv.id, None)
        async with transaction(self.store.db) as conn:
            await self.store.events.append(
                conn, conv.session_id, conv.id, "typing", data={"names": names}
            )
        self.notifier.notify(conv.session_id)

    async def visitor_typing(self, session: Session, data: dict[str, Any]) -> dict[str, Any]:
        typing = data.get("typing")
        if not isinstance(typing, bool):
            raise BadRequest("typing must be true or false.", code=ErrorCode.BAD_TYPING)
        draft = data.get("draft")
        if draft is not None and not isinstance(draft, str):
            raise BadRequest("draft must be a string.", code=ErrorCode.BAD_DRAFT)
        conv = await self.conversations.current(session)
        preview = await self.settings.flag("typing_preview")
        if conv.status == Status.CONNECTED and conv.room_id:
            text = draft[:MAX_DRAFT] if preview and typing and draft else None
            try:
                await self.relay.visitor(conv, session, typing, text)
            except Exception as e:  # typing is a courtesy: it never fails the visitor's request
                log.warning("Typing in %s not passed on: %s", conv.id, describe(e))
        return {"typing": typing, "preview": preview}

    async def visitor_sent(self, conv: Conversation) -> None:
        """The visitor sent a message (or the chat ended): they stopped typing, and the
        preview goes; in the background, so the visitor's request does not wait for it."""
        if conv.room_id:
            task = asyncio.create_task(self._reset(conv.id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _reset(self, conv_id: str) -> None:
        try:
            await self.relay.sent(conv_id)
        except Exception as e:
            log.warning("Typing in %s not reset: %s", conv_id, describe(e))

    async def restore(self) -> None:
        try:
            await self.relay.restore()
        except Exception as e:
            log.warning("Old typing previews not removed: %s", describe(e))
