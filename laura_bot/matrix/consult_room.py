"""What happens in a consult room: staff write to the visitor, and staff join and leave. The
conversation rules are Conversations'; this reads the event and tells staff what became of it."""

from __future__ import annotations

from typing import Any

from ..conversation import Conversations
from ..db import Store
from ..db.conversations import Conversation
from .bridge import MatrixBridge
from .shapes import obj, text

ATTACHMENT_TYPES = ("m.image", "m.file", "m.video", "m.audio")


class ConsultRoom:
    def __init__(self, store: Store, bridge: MatrixBridge, conversations: Conversations) -> None:
        self.store = store
        self.bridge = bridge
        self.conversations = conversations

    async def message(
        self,
        conv: Conversation,
        room_id: str,
        sender: str,
        event_id: str,
        content: dict[str, Any],
    ) -> None:
        bad = "malformed_message"
        relates = content.get("m.relates_to")
        if relates is not None and obj(relates, "m.relates_to", bad).get("rel_type") == (
            "m.replace"
        ):
            content = obj(content.get("m.new_content"), "m.new_content", bad)
        body = text(content.get("body"), "body", bad)
        if not body:
            return
        attachment = content.get("msgtype") in ATTACHMENT_TYPES
        name = await self.store.staff.name_of(conv.id, sender) or await self.bridge.display_name(
            room_id, sender
        )
        if attachment:
            body = f"📎 {body}"
        delivered = await self.conversations.staff_message(conv, event_id, name, body)
        if not delivered:
            await self._notice(room_id, "not_delivered", f"laura.nd.{event_id}", event_id)
        elif attachment:
            await self._notice(room_id, "attachment", f"laura.att.{event_id}", event_id)

    async def membership(self, conv: Conversation, user: str, content: dict[str, Any]) -> None:
        membership = text(content.get("membership"), "membership")
        name = content.get("displayname")
        if not isinstance(name, str) or not name.strip():
            name = user.split(":")[0].lstrip("@")
        await self.conversations.staff_membership(conv, user, name, membership)

    async def _notice(self, room_id: str, text_id: str, txn_id: str, reply_to: str) -> None:
        await self.bridge.notice(room_id, self.bridge.t(text_id), txn_id=txn_id, reply_to=reply_to)
