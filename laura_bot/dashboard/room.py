"""The dashboard as a widget in the team's rooms: every dispatch room and the control room.

The same mechanism as the video widget (an `im.vector.modular.widgets` state event, and a
layout event that pins it at the top), pointing at Laura's /dashboard page with the room and
the client's theme and language as Element fills them in. Admins switch it off for one room
(`!dashboard off` there); it is then taken out and stays out after a restart.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from mautrix.api import Method, Path
from mautrix.errors import MatrixRequestError
from mautrix.types import RoomID

from ..matrix.widgets import LAYOUT_EVENT, WIDGET_EVENT

if TYPE_CHECKING:
    from ..config import Config
    from ..db import Store
    from ..matrix.bridge import MatrixBridge

log = logging.getLogger(__name__)

WIDGET_ID = "laura_dashboard"
OFF_KEY = "dashboard.off."  # + room id: switched off by an admin
LAYOUT = {"widgets": {WIDGET_ID: {"container": "top", "index": 0, "width": 100, "height": 50}}}


class DashboardRooms:
    def __init__(self, config: Config, store: Store, bridge: MatrixBridge) -> None:
        self.config = config
        self.store = store
        self.bridge = bridge

    def content(self) -> dict[str, Any]:
        base = str(self.config["web.public_url"]).rstrip("/")
        url = (
            f"{base}/dashboard?room=$matrix_room_id&theme=$org.matrix.msc2873.client_theme"
            "&lang=$org.matrix.msc2873.client_language"
        )
        return {
            "type": "m.custom",
            "url": url,
            "name": self.bridge.t("panel_widget_name"),
            "data": {},
            "id": WIDGET_ID,
            "creatorUserId": self.bridge.bot.mxid,
        }

    async def rooms(self) -> list[str]:
        rooms = [d.room_id for d in await self.store.departments.all_active() if d.room_id]
        if self.bridge.control_room:
            rooms.append(self.bridge.control_room)
        return rooms

    async def is_off(self, room_id: str) -> bool:
        return await self.store.settings.get(OFF_KEY + room_id) is not None

    async def ensure(self) -> None:
        """At start: the widget in every room that has it on, sent only where it differs."""
        if not self.config["dashboard.enabled"]:
            return
        want = self.content()
        for room_id in await self.rooms():
            if await self.is_off(room_id):
                continue
            try:
                await self._add(room_id, want)
            except MatrixRequestError as e:
                log.warning("Dashboard widget in %s: %s", room_id, e.errcode)

    async def _add(self, room_id: str, want: dict[str, Any]) -> None:
        bot = self.bridge.bot
        try:
            path = Path.v3.rooms[room_id].state[str(WIDGET_EVENT)][WIDGET_ID]
            current = await bot.api.request(Method.GET, path)
        except MatrixRequestError:  # none yet
            current = {}
        if current != want:
            await bot.send_state_event(
                RoomID(room_id), WIDGET_EVENT, cast(Any, want), state_key=WIDGET_ID
            )
            await bot.send_state_event(RoomID(room_id), LAYOUT_EVENT, cast(Any, LAYOUT))
            log.info("Dashboard widget added to %s", room_id)

    async def switch(self, room_id: str, on: bool) -> None:
        bot = self.bridge.bot
        if on:
            await self.store.settings.delete(OFF_KEY + room_id)
            await self._add(room_id, self.content())
        else:
            await self.store.settings.set(OFF_KEY + room_id, "1")
            await bot.send_state_event(
                RoomID(room_id), WIDGET_EVENT, cast(Any, {}), state_key=WIDGET_ID
            )
