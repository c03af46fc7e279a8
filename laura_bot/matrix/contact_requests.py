"""The contact-requests room: each visitor's request to be contacted, posted once."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from ..db import Store
from ..textsafety import embedded, visitor_name
from . import content as c
from .sender import Sender

log = logging.getLogger(__name__)


class ContactRequests:
    def __init__(
        self,
        store: Store,
        sender: Sender,
        t: Callable[..., str],
        contact_room: Callable[[], str | None],
    ) -> None:
        """contact_room(): the contact-requests room, once made."""
        self.store = store
        self.sender = sender
        self.t = t
        self.contact_room = contact_room

    async def post(self, _key: str = "") -> None:
        """Every request not posted yet (_key: the runner's key, one for all)."""
        room_id = self.contact_room()
        if not room_id:
            return
        for req in await self.store.contact_requests.all_unposted():
            conv = await self.store.conversations.get_by_id(req.conversation_id)
            assert conv is not None
            session = await self.store.sessions.get_by_id(conv.session_id)
            assert session is not None
            dept = await self.store.departments.get_by_id(conv.department_id or "")
            topic = dept.label if dept else "?"
            # A name stored before names were checked is shown as the neutral one.
            nickname = visitor_name(req.name) or session.nickname
            question = await self.store.events.first_visitor_message(conv.id)
            # What the visitor typed never starts a line of Laura's (textsafety.embedded).
            rows = [
                (self.t("label_name"), nickname),
                (self.t("label_phone"), req.phone),
                (self.t("label_email"), req.email),
                (self.t("label_message"), req.message and embedded(req.message)),
                (self.t("label_question"), question and embedded(question)),
            ]
            title = self.t("contact_request", topic=topic, nickname=nickname)
            body = title + "".join(f"\n{k}: {v}" for k, v in rows if v)
            formatted = f"<b>{html.escape(title)}</b>" + "".join(
                f"<br>{html.escape(k)}: {html.escape(v)}" for k, v in rows if v
            )
            content = c.text(body, formatted)
            event_id = await self.sender.send(room_id, content, req.mx_txn_id)
            await self.store.contact_requests.mark_posted(req.id, event_id)
            log.info("Contact request %s posted", req.id)
