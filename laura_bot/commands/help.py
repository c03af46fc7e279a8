"""`!help`: the commands of the room it is typed in, with their usage."""

from __future__ import annotations

from .base import CONSULT, CONTROL, DISPATCH, OTHER, Context, registry


@registry.register("help", (CONTROL, DISPATCH, CONSULT, OTHER))
async def cmd_help(ctx: Context) -> str:
    t = ctx.bridge.t
    is_admin = ctx.sender in ctx.config["laura.admins"]
    lines = [t("help_title")]
    for cmd in ctx.commands.for_room(ctx.room_kind):
        if cmd.admin and not is_admin:
            continue
        usage = t(f"cmd_{cmd.name}_usage")
        lines.append(f"{usage} — {t(f'cmd_{cmd.name}_help', **cmd.help_values)}")
    return "\n".join(lines)
