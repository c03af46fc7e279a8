"""Dispatch-room commands for staff: who is waiting, and taking one of them early (S13).

`!take <nr>` means the number staff saw in the last `!waiting` of that room: the queue moves on
in between, and taking "number 2" must not silently become somebody else. That listing is kept
in memory (ids only); after a restart, or before any `!waiting`, the queue as it is now counts.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from zoneinfo import ZoneInfo

from ..dispatch.logic import Answer, Decision
from ..status import Status
from ..util import now_ms
from .base import DISPATCH, Context, registry

FILTERS = {
    "waiting": (Status.WAITING,),
    "onhold": (Status.CONTACT,),
    "all": (Status.WAITING, Status.CONTACT),
    "alle": (Status.WAITING, Status.CONTACT),
    "wachtend": (Status.WAITING,),
}
SHOWN = 30  # at most this many lines in one listing (a Matrix event has a size limit)
_last_listing: OrderedDict[str, list[str]] = OrderedDict()  # room → conversation ids shown


def _remember(room_id: str, conversation_ids: list[str]) -> None:
    _last_listing[room_id] = conversation_ids
    _last_listing.move_to_end(room_id)
    while len(_last_listing) > 200:
        _last_listing.popitem(last=False)


@registry.register("waiting", (DISPATCH,))
async def cmd_waiting(ctx: Context) -> str:
    t = ctx.bridge.t
    dept = await ctx.store.departments.get_by_room(ctx.room_id)
    if dept is None:
        return t("waiting_none")
    waiting = await ctx.store.conversations.waiting_list(dept.id, SHOWN)
    _remember(ctx.room_id, [w.conversation_id for w in waiting])
    if not waiting:
        return t("waiting_none")
    zone = ZoneInfo(ctx.config["laura.timezone"])
    lines = [t("waiting_title", label=dept.label)]
    for n, chat in enumerate(waiting, start=1):
        since = datetime.fromtimestamp(chat.queued_at / 1000, zone).strftime("%H:%M")
        minutes = max(0, (now_ms() - chat.queued_at) // 60_000)
        lines.append(t("waiting_line", n=n, nickname=chat.nickname, since=since, minutes=minutes))
    total = await ctx.store.conversations.count_waiting(dept.id)
    if total > len(waiting):
        lines.append(t("waiting_more", count=total - len(waiting)))
    return "\n".join(lines)


@registry.register("notify", (DISPATCH,))
async def cmd_notify(ctx: Context) -> str:
    """!notify <nr>|all|waiting|onhold <text>: a message from staff to waiting visitors. <nr>
    is a number from the last !waiting; waiting: everyone in the queue; onhold: those asked
    for contact details who are still in the chat; all: both."""
    t = ctx.bridge.t
    if len(ctx.args) < 2:
        return t("notify_usage")
    target, body = ctx.args[0].lower(), " ".join(ctx.args[1:]).strip()
    if len(body) > ctx.config["web.max_message_length"]:
        return t("notify_too_long")
    dept = await ctx.store.departments.get_by_room(ctx.room_id)
    if dept is None:
        return t("waiting_none")
    if target.isdigit() and len(target) <= 6:
        shown = _last_listing.get(ctx.room_id)
        if shown is None:
            current = await ctx.store.conversations.waiting_list(dept.id, SHOWN)
            shown = [w.conversation_id for w in current]
        n = int(target)
        if not 1 <= n <= len(shown):
            return t("take_unknown", n=n)
        conv_ids = [shown[n - 1]]
    elif target in FILTERS:
        conv_ids = await ctx.store.conversations.ids_in(dept.id, FILTERS[target])
    else:
        return t("notify_usage")
    name = await ctx.bridge.people.staff_name(ctx.room_id, ctx.sender)
    sent = await ctx.staff_actions.notify_waiting(conv_ids, ctx.event_id, name, body)
    if not sent:
        return t("notify_nobody")
    return t("notify_done", count=sent)


@registry.register("take", (DISPATCH,))
async def cmd_take(ctx: Context) -> str:
    """Take chat <nr> of the last !waiting, exactly as "Ik!" on its dispatch message."""
    t = ctx.bridge.t
    if len(ctx.args) != 1 or not ctx.args[0].isdigit() or len(ctx.args[0]) > 6:
        return t("take_usage")
    n = int(ctx.args[0])
    shown = _last_listing.get(ctx.room_id)
    if shown is None:
        dept = await ctx.store.departments.get_by_room(ctx.room_id)
        current = await ctx.store.conversations.waiting_list(dept.id, SHOWN) if dept else []
        shown = [w.conversation_id for w in current]
    if not 1 <= n <= len(shown):
        return t("take_unknown", n=n)
    conv = await ctx.store.conversations.get_by_id(shown[n - 1])
    session = await ctx.store.sessions.get_by_id(conv.session_id) if conv else None
    if conv is None or session is None:
        return t("take_unknown", n=n)
    members = await ctx.bridge.people.members(ctx.room_id)
    name = await ctx.bridge.people.staff_name(ctx.room_id, ctx.sender)
    outcome = await ctx.dispatch.answer(conv, ctx.sender, name, Answer.TAKE, ctx.event_id, members)
    if outcome.decision is Decision.CLAIM:
        return t("take_done", nickname=session.nickname)
    if outcome.decision is Decision.ALREADY_TAKEN:
        return t("already_taken", user=name, name=outcome.taker_name)
    if outcome.decision is Decision.NOT_MEMBER:
        return t("not_member", user=name)
    return t("too_late", user=name)
