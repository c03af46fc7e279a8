"""The staff's side of a chat, from Matrix: taking it, writing to the visitor, inviting a
colleague, joining and leaving, closing it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..db import Store
from ..db.base import transaction
from ..db.conversations import Conversation, Status
from ..db.outbound import MESSAGE_FROM_STAFF, about_chat
from ..dispatch.routing import Routing
from ..notifier import Notifier
from ..tasks import Kick
from ..util import now_ms
from .lifecycle import Lifecycle

log = logging.getLogger(__name__)


class StaffActions:
    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        lifecycle: Lifecycle,
        routing: Routing,
        kick_matrix: Kick,
        schedule_idle: Callable[[Conversation], Awaitable[None]],
    ) -> None:
        """schedule_idle(chat): arm a taken chat's inactivity check (timers.Timers)."""
        self.store = store
        self.db = store.db
        self.notifier = notifier
        self.lifecycle = lifecycle
        self.routing = routing
        self.kick_matrix = kick_matrix
        self.schedule_idle = schedule_idle

    async def claim(self, conv: Conversation, user_id: str, name: str) -> bool:
        async with transaction(self.db) as conn:
            if not await self.store.conversations.claim(conn, conv.id, user_id, name):
                return False
            await self.store.staff_members.assigned(conn, user_id, now_ms())
            await self.store.staff.to_be_invited(conn, conv.id, user_id, name)
            waited = max(0, now_ms() - (conv.queued_at or conv.created_at)) / 1000
            await self.store.outbound.record(
                conn,
                about_chat(
                    "chat.taken",
                    conv.id,
                    conv.department_id,
                    status="connected",
                    staff=user_id,
                    waited_seconds=round(waited, 1),
                ),
            )
            await self.store.events.append(
                conn, conv.session_id, conv.id, "status", data={"status": Status.CONNECTED}
            )
        log.info("Conversation %s taken by %s", conv.id, user_id)
        await self.lifecycle.after_leaving_queue(conv)
        taken = await self.store.conversations.get_by_id(conv.id)
        if taken:
            await self.schedule_idle(taken)
        self.notifier.notify(conv.session_id)
        return True

    async def invite_colleague(self, conv: Conversation, user_id: str, name: str) -> None:
        """Bring a colleague into the consult room (the bridge sends the invite)."""
        async with transaction(self.db) as conn:
            await self.store.staff.to_be_invited(conn, conv.id, user_id, name)
        log.info("Conversation %s: a colleague is invited", conv.id)
        self.kick_matrix(conv.id)

    async def close_by_staff(
        self, conv: Conversation, user_id: str, event_id: str | None = None
    ) -> bool:
        """event_id: the !close command's, which the consult room's closing notice answers
        (who closed it, and when the chat will be deleted: one notice)."""
        log.info("Conversation %s: %s closes it", conv.id, user_id)

        async def closer(conn: Any) -> None:
            await self.store.conversations.set_fields(
                conv.id, conn, closed_by=user_id, close_event_id=event_id
            )

        session = await self.lifecycle.session_of(conv)
        return await self.lifecycle.end(session, conv, "staff", "ended_by_staff", also=closer)

    async def staff_message(
        self,
        conv: Conversation,
        event_id: str,
        name: str,
        body: str,
        *,
        mirror: bool = False,
        notification: bool = False,
    ) -> bool:
        """A staff message for the visitor. mirror: it was written outside the consult room
        (the waiting room's thread, !notify), so the consult room gets a copy for its history.
        notification: it counts as one of the waiting visitor's notifications (S18)."""
        if conv.status == Status.ENDED:
            return False
        if await self.store.events.has_mx_event(event_id):
            return True  # handled before a crash; the inbox replays it
        async with transaction(self.db) as conn:
            await self.store.events.append(
                conn,
                conv.session_id,
                conv.id,
                "message",
                sender="staff",
                name=name,
                body=body,
                mx_event_id=event_id,
                to_matrix=mirror,
            )
            await self.store.conversations.spoke(conn, conv.id, "staff", now_ms(), notification)
            await self.store.outbound.record(conn, MESSAGE_FROM_STAFF)
        self.notifier.notify(conv.session_id)
        if mirror or conv.status != Status.CONNECTED:
            self.kick_matrix(conv.id)  # the copy, and the request's counter
        return True

    async def notify_waiting(
        self, conv_ids: list[str], event_id: str, name: str, body: str
    ) -> int:
        """!notify: a message from staff to waiting visitors; how many got it."""
        sent = 0
        for conv_id in conv_ids:
            conv = await self.store.conversations.get_by_id(conv_id)
            if conv is None or conv.status not in (Status.WAITING, Status.CONTACT):
                continue
            # One staff event, many visitors: each copy has its own id for idempotency.
            if await self.staff_message(
                conv, f"{event_id}/{conv_id}", name, body, mirror=True, notification=True
            ):
                sent += 1
        return sent

    async def staff_membership(
        self, conv: Conversation, user_id: str, name: str, membership: str
    ) -> None:
        prev = await self.store.staff.set(conv.id, user_id, name, membership)
        if membership == "join" and prev != "join":
            # Joining is reading: the room holds the whole chat (C3).
            await self.store.audit.record(user_id, "joined", conv.id)
        session = await self.lifecycle.session_of(conv)
        text = None
        if membership == "join" and prev != "join":
            text = "staff_joined"
        elif membership in ("leave", "ban") and prev == "join":
            text = "staff_left"
        if text and conv.status != Status.ENDED:
            async with transaction(self.db) as conn:
                await self.lifecycle.say(conn, session, conv, text, name=name)
            self.notifier.notify(session.id)
        if (
            membership in ("leave", "ban")
            and conv.status == Status.CONNECTED
            and not await self.store.staff.present(conv.id)
        ):
            # Nobody is (or is coming) in the room any more: the last staff member left (also
            # through Element's own "leave room"), or the invited colleague declined. The
            # visitor is not left talking to nobody. Decided from the state, so a retried
            # event still does it.
            await self.lifecycle.requeue(conv, "no staff member left in the chat")
        elif membership in ("leave", "ban") and prev == "join":
            await self.routing.kick_all()  # who left has room for another chat now
