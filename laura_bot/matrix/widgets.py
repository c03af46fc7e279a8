"""Video widgets in a consult room, pinned at the top as Element pins them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from mautrix.appservice import AppService, IntentAPI
from mautrix.types import EventType, RoomID

from .sender import Sender

WIDGET_EVENT = EventType.find("im.vector.modular.widgets", EventType.Class.STATE)
LAYOUT_EVENT = EventType.find("io.element.widgets.layout", EventType.Class.STATE)


class Widgets:
    def __init__(self, az: AppService, sender: Sender, t: Callable[..., str]) -> None:
        self.az = az
        self.sender = sender
        self.t = t

    @property
    def bot(self) -> IntentAPI:
        return self.az.intent

    async def add(self, room_id: str, widget_id: str, content: dict[str, Any]) -> None:
        """A widget in the room as Element adds one, pinned at the top (a state event: sending
        it again is harmless)."""
        await self.bot.send_state_event(
            RoomID(room_id), WIDGET_EVENT, cast(Any, content), state_key=widget_id
        )
        layout = {
            "widgets": {widget_id: {"container": "top", "index": 0, "width": 100, "height": 40}}
        }
        await self.bot.send_state_event(
            RoomID(room_id), LAYOUT_EVENT, cast(Any, layout), state_key=""
        )

    async def remove(self, room_id: str, widget_id: str) -> None:
        """Take a widget out (its state emptied, as Element does); the call ends for staff."""
        await self.bot.send_state_event(
            RoomID(room_id), WIDGET_EVENT, cast(Any, {}), state_key=widget_id
        )
        await self.sender.notice(
            room_id, self.t("video_ended_notice"), txn_id=f"laura.video-end.{widget_id}"
        )
