"""What happens in a consult room: staff write to the visitor, and staff join and leave. The
conversation rules are Conversations'; this reads the event and tells staff what became of it."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientResponseError
from mautrix.errors import MatrixRequestError
from mautrix.types import ContentURI

from ..conversation import StaffActions
from ..db import Store
from ..db.conversations import Conversation
from ..files import MB, Files
from ..media import Refused
from ..video import Video, jitsi_of
from .bridge import MatrixBridge
from .shapes import obj, text

ATTACHMENT_TYPES = ("m.image", "m.file", "m.video", "m.audio")
_MXC = re.compile(r"^mxc://[A-Za-z0-9.:\-\[\]]{1,255}/[A-Za-z0-9_-]{1,255}$")


class ConsultRoom:
    def __init__(
        self,
        store: Store,
        bridge: MatrixBridge,
        staff_actions: StaffActions,
        files: Files,
        video: Video,
    ) -> None:
        self.store = store
        self.bridge = bridge
        self.staff_actions = staff_actions
        self.files = files
        self.video = video

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
        people = self.bridge.people
        name = await self.store.staff.name_of(conv.id, sender) or await people.staff_name(
            room_id, sender
        )
        if content.get("msgtype") in ATTACHMENT_TYPES:
            delivered = await self._file(conv, room_id, event_id, name, content)
        else:
            delivered = await self.staff_actions.staff_message(conv, event_id, name, body)
        if not delivered:
            await self._notice(room_id, "not_delivered", f"laura.nd.{event_id}", event_id)

    async def _file(
        self, conv: Conversation, room_id: str, event_id: str, name: str, content: dict[str, Any]
    ) -> bool:
        """A file staff sent: fetched from the homeserver (authenticated media) and stored
        with the chat, for the visitor to download from Laura. One Laura cannot pass on is
        explained to the sender (too large, or end-to-end encrypted)."""
        bad = "malformed_message"
        url = content.get("url")
        if not isinstance(url, str) or not _MXC.match(url):
            problem = "file_encrypted" if "file" in content else "file_unavailable"
            await self._notice(room_id, problem, f"laura.att.{event_id}", event_id)
            return True
        info = content.get("info")
        info = obj(info, "info", bad) if info is not None else {}
        # The homeserver keeps staff's uploads after the room is gone: noted for retention.
        await self.store.privacy.record_upload(url, room_id, conv.id, "staff")
        thumb = info.get("thumbnail_url")
        if isinstance(thumb, str) and _MXC.match(thumb):
            await self.store.privacy.record_upload(thumb, room_id, conv.id, "staff")
        declared = info.get("mimetype") if isinstance(info.get("mimetype"), str) else None
        limit = await self.files.max_bytes()
        size = info.get("size")
        too_large = isinstance(size, int) and size > limit
        if not too_large:
            if await self.store.attachments.by_event(event_id) is not None:
                return True  # taken before a crash
            try:
                data = await self.bridge.bot.download_media(ContentURI(url))
            except (ClientResponseError, MatrixRequestError) as e:
                status = int(getattr(e, "status", 0) or getattr(e, "http_status", 0) or 500)
                if not 400 <= status < 500 or status == 429:
                    raise  # the homeserver is in trouble: tried again later
                # Gone, quarantined or refused: retrying would block the room for nothing.
                await self._notice(room_id, "file_unavailable", f"laura.att.{event_id}", event_id)
                return True
            file_name = content.get("filename") or content.get("body")
            try:
                return await self.files.staff_file(
                    conv, event_id, name, str(file_name or ""), data, declared
                )
            except Refused:
                too_large = True
        text_ = self.bridge.t("file_too_large", mb=str(limit // MB))
        await self.bridge.notice(room_id, text_, txn_id=f"laura.att.{event_id}", reply_to=event_id)
        return True

    async def widget(
        self,
        conv: Conversation,
        room_id: str,
        sender: str,
        event_id: str,
        widget_id: str,
        content: dict[str, Any],
    ) -> None:
        """A widget added or removed by staff (Element's own video call button): a Jitsi one
        on the organisation's own Jitsi server becomes the chat's video call; removing it ends
        the call for the visitor too. A call on any other server is not offered to the
        visitor (their browser would load that server's script), and staff are told why."""
        jitsi = jitsi_of(content)
        if jitsi is not None and (not self.video.enabled or jitsi[0] != self.video.domain):
            text_ = (
                self.bridge.t("video_foreign", domain=self.video.domain)
                if self.video.enabled
                else self.bridge.t("video_off")
            )
            await self.bridge.notice(
                room_id, text_, txn_id=f"laura.widget.{event_id}", reply_to=event_id
            )
        elif jitsi is not None:
            name = await self.store.staff.name_of(conv.id, sender) or sender
            await self.video.started(conv, widget_id, jitsi[0], jitsi[1], name)
        elif widget_id == conv.video_widget_id:
            await self.video.ended(conv, widget_id)

    async def membership(self, conv: Conversation, user: str, content: dict[str, Any]) -> None:
        membership = text(content.get("membership"), "membership")
        name = await self.store.staff_members.nickname(user) or content.get("displayname")
        if not isinstance(name, str) or not name.strip():
            name = user.split(":")[0].lstrip("@")
        await self.staff_actions.staff_membership(conv, user, name, membership)

    async def _notice(self, room_id: str, text_id: str, txn_id: str, reply_to: str) -> None:
        await self.bridge.notice(room_id, self.bridge.t(text_id), txn_id=txn_id, reply_to=reply_to)
