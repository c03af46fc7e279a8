"""Dispatch-room commands for staff: who is waiting, and taking one of them early (S13)."""

from __future__ import annotations

from ..dispatch.logic import Answer, Decision
from ..util import now_ms
from . import DISPATCH, Context, registry


async def _waiting(ctx: Context) -> list[tuple[str, str, int]]:
    """The department's waiting chats in queue order: (conversation id, nickname, minutes)."""
    dept = await ctx.store.departments.get_by_room(ctx.room_id)
    if dept is None:
        return []
    out = []
    for conv in await ctx.store.conversations.waiting_in(dept.id):
        session = await ctx.store.sessions.get_by_id(conv.session_id)
        minutes = max(0, (now_ms() - (conv.queued_at or now_ms())) // 60_000)
        out.append((conv.id, session.nickname if session else "?", int(minutes)))
    return out


@registry.register("waiting", (DISPATCH,))
async def cmd_waiting(ctx: Context) -> str:
    t = ctx.bridge.t
    waiting = await _waiting(ctx)
    if not waiting:
        return t("waiting_none")
    lines = [t("waiting_title")]
    for n, (_, nickname, minutes) in enumerate(waiting, start=1):
        lines.append(t("waiting_line", n=n, nickname=nickname, minutes=minutes))
    return "\n".join(lines)


@registry.register("take", (DISPATCH,))
async def cmd_take(ctx: Context) -> str:
    """Take the chat at place <n> of !waiting, exactly as "Ik!" on its dispatch message."""
    t = ctx.bridge.t
    if len(ctx.args) != 1 or not ctx.args[0].isdigit() or len(ctx.args[0]) > 6:
        return t("take_usage")
    waiting = await _waiting(ctx)
    n = int(ctx.args[0])
    if not 1 <= n <= len(waiting):
        return t("take_unknown", n=n, count=len(waiting))
    conv_id, nickname, _ = waiting[n - 1]
    conv = await ctx.store.conversations.get_by_id(conv_id)
    assert conv is not None
    members = await ctx.bridge.members(ctx.room_id)
    name = await ctx.bridge.display_name(ctx.room_id, ctx.sender)
    outcome = await ctx.dispatch.answer(conv, ctx.sender, name, Answer.TAKE, ctx.event_id, members)
    if outcome.decision is Decision.CLAIM:
        return t("take_done", nickname=nickname)
    if outcome.decision is Decision.ALREADY_TAKEN:
        return t("already_taken", user=name, name=outcome.taker_name)
    if outcome.decision is Decision.NOT_MEMBER:
        return t("not_member", user=name)
    return t("too_late", user=name)
