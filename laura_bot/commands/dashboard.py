"""`!dashboard on|off [<department>]` (admins): the team's dashboard widget switched on or off,
in the room the command is given in, or from the control room in a department's dispatch room
(dashboard/room.py)."""

from __future__ import annotations

from .base import CONTROL, DISPATCH, Context, registry


@registry.register("dashboard", (DISPATCH, CONTROL), admin=True)
async def cmd_dashboard(ctx: Context) -> str:
    t = ctx.bridge.t
    rooms = ctx.services.dashboard
    if rooms is None or not ctx.config["dashboard.enabled"]:
        return t("panel_disabled")
    room_id = ctx.room_id
    if len(ctx.args) == 2 and ctx.room_kind == CONTROL:
        dept = await ctx.store.departments.get_by_id(ctx.args[1])
        if dept is None or not dept.active or not dept.room_id:
            return t("department_unknown", id=ctx.args[1][:40])
        room_id = dept.room_id
    elif len(ctx.args) != 1:
        return t("panel_usage", state="off" if await rooms.is_off(room_id) else "on")
    choice = ctx.args[0].lower()
    if choice in ("on", "aan"):
        await rooms.switch(room_id, on=True)
        return t("panel_on")
    if choice in ("off", "uit"):
        await rooms.switch(room_id, on=False)
        return t("panel_off")
    return t("panel_usage", state="off" if await rooms.is_off(room_id) else "on")
