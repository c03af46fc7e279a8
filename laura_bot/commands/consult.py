"""Consult-room commands for staff."""

from __future__ import annotations

from . import CONSULT, Context, registry


@registry.register("close", (CONSULT,))
async def cmd_close(ctx: Context) -> str:
    laura = ctx.laura
    conv = await laura.store.conversations.get_by_room(ctx.room_id)
    if conv is None:
        return laura.bridge.t("already_closed")
    name = await laura.bridge.display_name(ctx.room_id, ctx.sender)
    if not await laura.conversations.close_by_staff(conv, ctx.sender):
        return laura.bridge.t("already_closed")
    return laura.bridge.t("closed", name=name)
