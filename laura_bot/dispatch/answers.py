"""A staff member's answer on a dispatch message ("Ik!" / "Ik kan nu niet"), decided in one
place: first the pure rules (logic.py), then the database, which decides races (the first
"Ik!" wins). The Matrix router only translates the reaction and posts what comes out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..db import Store
from ..db.conversations import Conversation
from .logic import Answer, Decision, decide

if TYPE_CHECKING:
    from ..conversation import StaffActions
    from .routing import Routing


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    taker_name: str | None = None  # who has it, for ALREADY_TAKEN


class Dispatch:
    def __init__(self, store: Store, staff_actions: StaffActions, routing: Routing) -> None:
        self.store = store
        self.staff_actions = staff_actions
        self.routing = routing

    async def answer(
        self,
        conv: Conversation,
        user_id: str,
        user_name: str,
        answer: Answer | None,
        answer_event_id: str,
        members: set[str],
    ) -> Outcome:
        """Record and act on one answer (a reaction, or a !take: answer_event_id is its
        event); members are the department's people right now."""
        answers = self.store.answers
        decision = decide(answer, conv.status, is_member=user_id in members)
        if decision is Decision.CLAIM:
            await answers.add(conv.id, user_id, Answer.TAKE.value, answer_event_id)
            if await self.staff_actions.claim(conv, user_id, user_name):
                return Outcome(Decision.CLAIM)
            # Somebody else was first, or the chat moved on: answer as things are now.
            reloaded = await self.store.conversations.get_by_id(conv.id)
            assert reloaded is not None
            conv = reloaded
            decision = decide(answer, conv.status, is_member=True)
        if decision is Decision.DECLINE:
            await answers.add(conv.id, user_id, Answer.DECLINE.value, answer_event_id)
            assert conv.dispatch_txn_id and conv.department_id
            # Not asked again this round; an offer to them passes on; when nobody available
            # is left, the visitor is asked for contact details.
            await self.routing.declined(conv.id, conv.dispatch_txn_id, user_id)
            await self.routing.consider(conv.department_id)
        return Outcome(decision, conv.taker_name or conv.taker)

    async def withdraw(self, answer_event_id: str) -> tuple[str, str, str] | None:
        """An answer taken back (a reaction un-clicked): "Ik kan nu niet" withdrawn means Laura
        waits for that person again; "Ik!" withdrawn after winning changes nothing.
        Returns (conversation, user, answer) when there was an answer to withdraw."""
        withdrawn = await self.store.answers.withdraw(answer_event_id)
        if withdrawn and withdrawn[2] == Answer.DECLINE.value:
            await self.routing.withdrawn(withdrawn[0], withdrawn[1])
        return withdrawn
