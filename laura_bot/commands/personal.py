"""Each staff member's own availability, in any room with Laura or a direct chat with her:
!status online|auto|offline, !availability <days> <from>-<to> (the schedule for auto) and
!capacity <n>. Every reply says what the person is now: available or not, and why."""

from __future__ import annotations

from .. import weekly
from ..db.staff_members import AUTO, OFFLINE, ONLINE, STATUSES, StaffMember
from .base import ANY_ROOM, Context, registry

MAX_CAPACITY = 50


async def describe(ctx: Context, member: StaffMember) -> str:
    """'online; available; 1 of 3 chats running' in the staff language."""
    t = ctx.bridge.t
    lang = ctx.config["laura.staff_language"]
    routing = ctx.routing
    running = (await ctx.store.staff_members.active_chats()).get(member.user_id, 0)
    capacity = await routing.capacity(member)
    parts = [t(f"status_{member.status}")]
    if member.status == AUTO:
        week = weekly.from_json(member.schedule) if member.schedule else None
        parts.append(t("status_schedule", schedule=weekly.describe(week or {}, lang)))
    if member.presence == "offline":
        parts.append(t("status_presence_offline"))
    if not routing.available(member):
        parts.append(t("status_not_available"))
    elif running >= capacity:
        parts.append(t("status_full"))
    else:
        parts.append(t("status_available"))
    parts.append(t("status_chats", running=running, capacity=capacity))
    return "; ".join(parts)


@registry.register("status", ANY_ROOM)
async def cmd_status(ctx: Context) -> str:
    t = ctx.bridge.t
    members = ctx.store.staff_members
    if not ctx.args:
        return t("status_now", state=await describe(ctx, await members.get(ctx.sender)))
    choice = ctx.args[0].lower()
    choice = {"aan": ONLINE, "uit": OFFLINE, "automatisch": AUTO, "auto": AUTO}.get(choice, choice)
    if len(ctx.args) != 1 or choice not in STATUSES:
        return t("status_usage")
    await members.set(ctx.sender, status=choice)
    await ctx.routing.kick_all()
    member = await members.get(ctx.sender)
    reply = t("status_set", state=await describe(ctx, member))
    if choice == AUTO and not member.schedule:
        reply += " " + t("status_auto_no_schedule")
    return reply


@registry.register("availability", ANY_ROOM)
async def cmd_availability(ctx: Context) -> str:
    t = ctx.bridge.t
    lang = ctx.config["laura.staff_language"]
    members = ctx.store.staff_members
    member = await members.get(ctx.sender)
    week = (weekly.from_json(member.schedule) if member.schedule else None) or {}
    args = ctx.args
    if not args:
        return t("availability_now", schedule=weekly.describe(week, lang))
    if len(args) == 1 and args[0].lower() in ("clear", "wis", "leeg"):
        await members.set(ctx.sender, schedule=None)
        await ctx.routing.kick_all()
        return t("availability_cleared")
    if len(args) < 2:
        return t("availability_usage")
    try:
        week = weekly.edit(week, args[0], args[1:])
    except weekly.ScheduleError as e:
        return t(f"schedule_{e.text_id}", **e.values) + " " + t("availability_usage")
    await members.set(ctx.sender, schedule=weekly.to_json(week))
    await ctx.routing.kick_all()
    reply = t("availability_set", schedule=weekly.describe(week, lang))
    if member.status != AUTO:
        reply += " " + t("availability_hint_auto")
    return reply


@registry.register("capacity", ANY_ROOM)
async def cmd_capacity(ctx: Context) -> str:
    t = ctx.bridge.t
    members = ctx.store.staff_members
    default = await ctx.settings.count("max_chats")
    if not ctx.args:
        member = await members.get(ctx.sender)
        return t("capacity_now", capacity=await ctx.routing.capacity(member), default=default)
    raw = ctx.args[0].lower()
    if len(ctx.args) != 1:
        return t("capacity_usage", high=MAX_CAPACITY)
    if raw in ("default", "standaard"):
        await members.set(ctx.sender, capacity=None)
    elif raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_CAPACITY:
        await members.set(ctx.sender, capacity=int(raw))
    else:
        return t("capacity_usage", high=MAX_CAPACITY)
    await ctx.routing.kick_all()
    member = await members.get(ctx.sender)
    return t("capacity_set", state=await describe(ctx, member))


@registry.register("nick", ANY_ROOM)
async def cmd_nick(ctx: Context) -> str:
    """What visitors see of this staff member, in the widget's header and on each message."""
    t = ctx.bridge.t
    name = " ".join(ctx.args).strip()
    if not name:
        current = await ctx.store.staff_members.nickname(ctx.sender)
        return t("nick_now", name=current) if current else t("nick_none")
    if name in ("-", "standaard", "default"):
        await ctx.store.staff_members.set_nickname(ctx.sender, None)
        # Back to their Matrix name in the chats they are in now, too.
        for conv_id, room_id in await ctx.store.staff_members.open_rooms_of(ctx.sender):
            own = await ctx.bridge.people.display_name(room_id, ctx.sender)
            await ctx.store.staff.rename(conv_id, ctx.sender, own)
        return t("nick_cleared")
    if len(name) > 40 or not name.isprintable():
        return t("nick_bad")
    await ctx.store.staff_members.set_nickname(ctx.sender, name)
    return t("nick_set", name=name)
