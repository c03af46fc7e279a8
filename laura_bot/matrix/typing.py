"""The visitor's typing in the consult room: the ghost's typing notification and, when the
admin turned it on, the draft as a notice edited in place (throttled) and redacted once sent."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field

from mautrix.types import EventID, MessageType, RoomID

from ..db import Store
from ..db.conversations import Conversation
from ..db.sessions import Session
from ..faults import describe
from ..textsafety import embedded
from . import content as c
from .bridge import MatrixBridge

log = logging.getLogger(__name__)

TYPING_MS = 15_000  # how long Synapse shows the ghost typing without a refresh
REFRESH = 10.0  # seconds after which a "still typing" is sent again
PREVIEW_EVERY = 2.0  # at most one preview edit per this many seconds


@dataclass
class _State:
    room_id: str
    session: Session
    typing: bool = False
    typing_sent_at: float = 0.0
    preview_id: str | None = None
    preview_events: list[str] = field(default_factory=list)
    preview_text: str | None = None  # what the notice shows now
    draft: str | None = None  # the newest draft, to be shown
    preview_at: float = 0.0
    timer: asyncio.TimerHandle | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class MatrixTyping:
    def __init__(self, store: Store, bridge: MatrixBridge) -> None:
        self.store = store
        self.bridge = bridge
        self._states: dict[str, _State] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def visitor(
        self, conv: Conversation, session: Session, typing: bool, draft: str | None
    ) -> None:
        assert conv.room_id
        state = self._states.get(conv.id)
        if state is None:
            state = self._states[conv.id] = _State(conv.room_id, session)
        ghost = self.bridge.ghost(session)
        now = time.monotonic()
        if typing and (not state.typing or now - state.typing_sent_at > REFRESH):
            await ghost.set_typing(RoomID(conv.room_id), timeout=TYPING_MS)
            state.typing, state.typing_sent_at = True, now
        elif not typing and state.typing:
            await ghost.set_typing(RoomID(conv.room_id), timeout=0)
            state.typing = False
        state.draft = draft
        if draft is None and state.preview_id is None:
            if not state.typing:
                self._states.pop(conv.id, None)
            return
        await self._preview(conv.id, state)

    async def _preview(self, conv_id: str, state: _State) -> None:
        """Show the newest draft, at most once per PREVIEW_EVERY; a later draft is shown by a
        timer, so the last one always arrives."""
        wait = state.preview_at + PREVIEW_EVERY - time.monotonic()
        if wait > 0:
            if state.timer is None:
                state.timer = asyncio.get_running_loop().call_later(wait, self._later, conv_id)
            return
        async with state.lock:
            if self._states.get(conv_id) is not state:
                return  # sent (and cleaned up) meanwhile
            draft = state.draft
            if draft == state.preview_text:
                return
            state.preview_at = time.monotonic()
            if not draft:
                await self._remove(conv_id, state)
                return
            # What the visitor types never starts a line of Laura's (textsafety.embedded).
            shown = embedded(draft)
            text = self.bridge.t("typing_preview", nickname=state.session.nickname, draft=shown)
            if state.preview_id is None:
                event_id = await self.bridge.sender.send(state.room_id, c.notice(text))
                state.preview_id = event_id
            else:
                content = c.edit(state.preview_id, text, MessageType.NOTICE)
                event_id = await self.bridge.sender.send(state.room_id, content)
            state.preview_events.append(event_id)
            state.preview_text = draft
            await self._remember(conv_id, state.preview_events)

    def _later(self, conv_id: str) -> None:
        state = self._states.get(conv_id)
        if state is None:
            return
        state.timer = None
        task = asyncio.create_task(self._safe_preview(conv_id, state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _safe_preview(self, conv_id: str, state: _State) -> None:
        try:
            await self._preview(conv_id, state)
        except Exception as e:
            log.warning("Typing preview of %s not updated: %s", conv_id, describe(e))

    async def _remember(self, conv_id: str, events: list[str]) -> None:
        """The preview's event ids (never its text), for redacting them after a restart."""
        value = json.dumps(events) if events else None
        await self.store.conversations.set_fields(conv_id, typing_preview=value)

    async def _remove(self, conv_id: str, state: _State) -> None:
        """Redact the preview and every edit of it: the draft is not kept anywhere."""
        events, state.preview_events = state.preview_events, []
        state.preview_id, state.preview_text = None, None
        await self._redact(conv_id, state.room_id, events)

    async def _redact(self, conv_id: str, room_id: str, events: list[str]) -> None:
        left = []
        for event_id in reversed(events):
            try:
                await self.bridge.bot.redact(RoomID(room_id), EventID(event_id))
            except Exception as e:
                log.warning("Typing preview %s not removed: %s", event_id, describe(e))
                left.append(event_id)
        await self._remember(conv_id, left)

    async def restore(self) -> None:
        """At start-up: previews left from before a restart are removed."""
        for conv in await self.store.conversations.with_typing_preview():
            if conv.room_id and conv.typing_preview:
                await self._redact(conv.id, conv.room_id, json.loads(conv.typing_preview))

    async def sent(self, conv_id: str) -> None:
        state = self._states.pop(conv_id, None)
        if state is None:
            return
        if state.timer:
            state.timer.cancel()
        async with state.lock:
            if state.typing:
                await self.bridge.ghost(state.session).set_typing(RoomID(state.room_id), timeout=0)
            await self._remove(conv_id, state)
