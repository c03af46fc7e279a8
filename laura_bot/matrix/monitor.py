"""Monitoring (S15): a supervisor follows a live chat unseen, in a private mirror room."""

from __future__ import annotations

from ..config import Config
from ..db import Store
from ..db.conversations import Conversation
from .bridge import MatrixBridge


class Monitors:
    def __init__(self, config: Config, store: Store, bridge: MatrixBridge) -> None:
        self.config = config
        self.store = store
        self.bridge = bridge

    def on_event(self, session_id: str) -> None:
        """Notifier listener: a session got new events."""

    async def chat_ended(self, conv: Conversation) -> None:
        """The chat ended: its mirror rooms are closed."""

    async def restore(self) -> None:
        """At start-up: resume the mirrors of chats still monitored."""

    async def close(self) -> None:
        """At shutdown."""
