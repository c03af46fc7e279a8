"""Consult-room commands for staff."""

from __future__ import annotations

from . import CONSULT, Context, registry


@registry.register("close", (CONSULT,))
async def cmd_close(ctx: Context) -> str:
    conv = await ctx.store.conversations.get_by_room(ctx.room_id)
    if conv is None:
        return ctx.bridge.t("already_closed")
    name = await ctx.bridge.display_name(ctx.room_id, ctx.sender)
    if not await ctx.conversations.close_by_staff(conv, ctx.sender):
        return ctx.bridge.t("already_closed")
    return ctx.bridge.t("closed", name=name)
