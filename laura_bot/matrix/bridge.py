"""Laura's Matrix side, made of its parts: sending (sender.py), people (people.py), the rooms
she makes (room_setup.py), the request in a dispatch room (dispatch_view.py), the consult-room
pump (consult_pump.py), video widgets (widgets.py) and the contact-requests room
(contact_requests.py). This composes them and holds what most callers need; no logic.

Every step of the parts is idempotent and driven by the database: a step that fails is retried
by the KeyedRunner with the same stored txn id, and a restart resumes from what the database
says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mautrix.appservice import AppService, IntentAPI

from ..config import Config
from ..db import Store
from ..db.conversations import Conversation
from ..db.sessions import Session
from ..texts import staff_text
from .consult_pump import ConsultPump
from .contact_requests import ContactRequests
from .dispatch_view import DispatchView
from .people import People
from .room_setup import RoomSetup
from .sender import Sender
from .widgets import Widgets


class MatrixBridge:
    def __init__(
        self,
        config: Config,
        store: Store,
        az: AppService,
        sync_later: Callable[[str, float], None],
        deletion_date: Callable[[Conversation], Awaitable[tuple[str, str]]],
    ) -> None:
        """sync_later(conversation id, seconds): sync the conversation again then (the
        request's throttled edit). deletion_date(conversation): when an ended chat will be
        deleted (date, period), for the notice at its end."""
        self.az = az
        self.lang = config["laura.staff_language"]
        self.sender = Sender(store, az)
        self.people = People(config, store, az, self.t)
        self.rooms = RoomSetup(config, store, az, self.people, self.t)
        self.dispatch_view = DispatchView(
            config,
            store,
            az,
            self.sender,
            self.people,
            self.t,
            lambda: self.rooms.control_room,
            sync_later,
        )
        self.widgets = Widgets(az, self.sender, self.t)
        self.pump = ConsultPump(
            store,
            az,
            self.sender,
            self.people,
            self.rooms,
            self.dispatch_view,
            self.widgets,
            self.t,
            deletion_date,
        )
        self.contact_requests = ContactRequests(
            store, self.sender, self.t, lambda: self.rooms.contact_room
        )

    @property
    def bot(self) -> IntentAPI:
        return self.az.intent

    @property
    def control_room(self) -> str | None:
        return self.rooms.control_room

    @property
    def contact_room(self) -> str | None:
        return self.rooms.contact_room

    def t(self, text_id: str, /, **values: Any) -> str:
        """A staff text in the staff language."""
        return staff_text(self.lang, text_id, **values)

    def ghost(self, session: Session) -> IntentAPI:
        return self.people.ghost(session)

    async def notice(
        self, room_id: str, text: str, txn_id: str | None = None, reply_to: str | None = None
    ) -> str:
        return await self.sender.notice(room_id, text, txn_id, reply_to)
