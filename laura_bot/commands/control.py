"""Control-room commands for admins."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from mautrix.types import RoomID, UserID

from ..config import SETTING_KEYS, SETTING_RANGES
from ..db.conversations import Status
from ..settings import SettingRefused
from ..util import format_duration
from . import CONTROL, Context, registry

_DEPT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_MXID = re.compile(r"^@[^:\s]+:\S+$")


@registry.register("departments", (CONTROL,), admin=True)
async def cmd_departments(ctx: Context) -> str:
    t = ctx.bridge.t
    depts = await ctx.store.departments.all_active()
    if not depts:
        return t("departments_none")
    lines = [t("departments_title")]
    for d in depts:
        members = await ctx.bridge.members(d.room_id) if d.room_id else set()
        lines.append(
            t("departments_line", id=d.id, label=d.label, members=len(members), routing=d.routing)
        )
    return "\n".join(lines)


@registry.register("department", (CONTROL,), admin=True)
async def cmd_department(ctx: Context) -> str:
    t = ctx.bridge.t
    args = ctx.args
    if len(args) >= 3 and args[0] == "add":
        dept_id, label = args[1].lower(), " ".join(args[2:]).strip()
        if not _DEPT_ID.match(dept_id):
            return t("department_bad_id")
        if len(label) > 80:
            return t("department_long_label")
        added = await ctx.store.departments.add(dept_id, label)
        dept = await ctx.store.departments.get_by_id(dept_id)
        if not added and dept and dept.room_id:
            return t("department_exists", id=dept_id)
        if dept and not dept.room_id:
            # New, or added before while the homeserver was away: it gets its room now.
            await ctx.bridge.create_dispatch_room(dept_id, dept.label, [])
        return t("department_added", id=dept_id, label=dept.label if dept else label)
    if len(args) == 2 and args[0] == "remove":
        if not await ctx.store.departments.deactivate(args[1]):
            return t("department_unknown", id=args[1][:40])
        return t("department_removed", id=args[1])
    return t("department_usage")


@registry.register("staff", (CONTROL,), admin=True)
async def cmd_staff(ctx: Context) -> str:
    bridge = ctx.bridge
    t = bridge.t
    if len(ctx.args) != 3 or ctx.args[0] not in ("add", "remove"):
        return t("staff_usage")
    action, user, dept_id = ctx.args
    if not _MXID.match(user):
        return t("staff_bad_user", user=user[:80])
    if ctx.config.is_own_user(user):
        return t("staff_own_user")
    dept = await ctx.store.departments.get_by_id(dept_id)
    if dept is None or not dept.active or not dept.room_id:
        return t("department_unknown", id=dept_id[:40])
    if action == "add":
        await bridge.invite(dept.room_id, user)
        if bridge.contact_room:
            await bridge.invite(bridge.contact_room, user)
        return t("staff_invited", user=user, label=dept.label)
    members = await bridge.members(dept.room_id)
    if user not in members:
        return t("staff_not_member", user=user, label=dept.label)
    await bridge.bot.kick_user(RoomID(dept.room_id), UserID(user), reason=t("staff_kick_reason"))
    return t("staff_removed", user=user, label=dept.label)


@registry.register("settings", (CONTROL,), admin=True)
async def cmd_settings(ctx: Context) -> str:
    values = await ctx.settings.all()
    return "\n".join(f"{k}: {v}" for k, v in values.items())


@registry.register("set", (CONTROL,), admin=True, keys=", ".join(SETTING_KEYS))
async def cmd_set(ctx: Context) -> str:
    t = ctx.bridge.t
    if len(ctx.args) != 2:
        ranges = ", ".join(
            f"{k} ({format_duration(low)}–{format_duration(high)})"
            for k, (low, high) in SETTING_RANGES.items()
        )
        return t("set_usage", ranges=ranges)
    try:
        value = await ctx.settings.set(ctx.args[0], ctx.args[1])
    except SettingRefused as e:
        return t(e.text_id, **e.values)
    return t("set_done", key=ctx.args[0], value=value)


@registry.register("stats", (CONTROL,), admin=True)
async def cmd_stats(ctx: Context) -> str:
    counts = await ctx.store.conversations.counts_by_department()
    lines = [ctx.bridge.t("stats_title")]
    for d in await ctx.store.departments.all_active():
        lines.append(
            f"- {d.id}: {counts.get((d.id, Status.WAITING), 0)} / "
            f"{counts.get((d.id, Status.CONNECTED), 0)} / "
            f"{counts.get((d.id, Status.CONTACT), 0)}"
        )
    return "\n".join(lines)


@registry.register("deadletters", (CONTROL,), admin=True)
async def cmd_deadletters(ctx: Context) -> str:
    t = ctx.bridge.t
    inbox = ctx.store.inbox
    if len(ctx.args) == 2 and ctx.args[0] == "retry":
        seq = ctx.args[1].lstrip("#")
        if not seq.isdigit() or len(seq) > 18:
            return t("dead_usage")
        room_id = await inbox.revive(int(seq))
        if room_id is None:
            return t("dead_unknown", seq=seq)
        ctx.services.kick_rooms([room_id])
        return t("dead_retried", seq=seq)
    if ctx.args:
        return t("dead_usage")
    letters = await inbox.dead_letters()
    if not letters:
        return t("dead_none")
    zone = ZoneInfo(ctx.config["laura.timezone"])
    rooms = await _room_names(ctx)
    lines = [t("dead_title", total=await inbox.count_dead())]
    for d in letters:
        when = datetime.fromtimestamp(d.dead_at / 1000, zone).strftime("%d-%m %H:%M")
        lines.append(
            t(
                "dead_line",
                seq=d.seq,
                when=when,
                type=d.type,
                sender=d.sender,
                room=rooms.get(d.room_id, d.room_id),
                reason=d.reason,
                attempts=d.attempts,
            )
        )
    return "\n".join(lines)


async def _room_names(ctx: Context) -> dict[str, str]:
    """Readable names for Laura's fixed rooms and dispatch rooms; consult rooms keep their id."""
    bridge = ctx.bridge
    names = {}
    if bridge.control_room:
        names[bridge.control_room] = bridge.t("control_name")
    if bridge.contact_room:
        names[bridge.contact_room] = bridge.t("contact_name")
    for d in await ctx.store.departments.all_active():
        if d.room_id:
            names[d.room_id] = bridge.t("dispatch_name", label=d.label)
    return names
