"""Control-room commands for admins."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from mautrix.types import RoomID, UserID

from .. import weekly
from ..config import (
    SETTING_COUNTS,
    SETTING_FLAGS,
    SETTING_KEYS,
    SETTING_PER_DEPARTMENT,
    SETTING_RANGES,
    SETTING_TEXTS,
)
from ..db.closed_days import ALL
from ..db.conversations import Status
from ..dispatch.logic import ROUTING_MODES
from ..settings import SettingRefused
from ..util import format_duration, parse_duration
from .base import CONTROL, MXID, Context, registry
from .personal import describe

SETTING_PRIVACY = ("retention", "contact_retention", "case_retention")

_DEPT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@registry.register("departments", (CONTROL,), admin=True)
async def cmd_departments(ctx: Context) -> str:
    t = ctx.bridge.t
    depts = await ctx.store.departments.all_active()
    if not depts:
        return t("departments_none")
    lines = [t("departments_title")]
    for d in depts:
        members = await ctx.bridge.people.members(d.room_id) if d.room_id else set()
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
            await ctx.bridge.rooms.create_dispatch_room(dept_id, dept.label, [])
            if ctx.services.dashboard is not None:
                await ctx.services.dashboard.ensure()
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
    if not MXID.match(user):
        return t("staff_bad_user", user=user[:80])
    if ctx.config.is_own_user(user):
        return t("staff_own_user")
    dept = await ctx.store.departments.get_by_id(dept_id)
    if dept is None or not dept.active or not dept.room_id:
        return t("department_unknown", id=dept_id[:40])
    if action == "add":
        await bridge.rooms.invite(dept.room_id, user)
        if bridge.contact_room:
            await bridge.rooms.invite(bridge.contact_room, user)
        return t("staff_invited", user=user, label=dept.label)
    members = await bridge.people.members(dept.room_id)
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
    text_key = bool(ctx.args) and ctx.args[0] in SETTING_TEXTS
    if len(ctx.args) == 3 and ctx.args[0] in SETTING_KEYS and not text_key:
        return await _set_for_department(ctx)
    if len(ctx.args) < 2 or (len(ctx.args) != 2 and not text_key):
        ranges = ", ".join(
            [
                f"{k} ({format_duration(low)}–{format_duration(high)})"
                for k, (low, high) in SETTING_RANGES.items()
            ]
            + [f"{k} ({low}–{high})" for k, (low, high) in SETTING_COUNTS.items()]
            + [t("set_range_text", key=k) for k in SETTING_TEXTS]
            + [f"{k} (on/off)" for k in SETTING_FLAGS]
        )
        return t("set_usage", ranges=ranges)
    raw = " ".join(ctx.args[1:]) if text_key else ctx.args[1]
    try:
        value = await ctx.settings.set(ctx.args[0], raw)
    except SettingRefused as e:
        return t(e.text_id, **e.values)
    if ctx.args[0] not in SETTING_PRIVACY:
        return t("set_done", key=ctx.args[0], value=value or "-")
    reply = t("set_value_done", key=ctx.args[0], value=value) + " " + t("set_retention_done")
    if parse_duration(value) < 86400:
        reply += " " + t("set_retention_short")
    return reply


async def _set_for_department(ctx: Context) -> str:
    """!set retention <duration>|- <department>: a department's own value."""
    t = ctx.bridge.t
    key, raw, dept_id = ctx.args
    if key not in SETTING_PER_DEPARTMENT:
        return t("set_not_per_department", key=key)
    if await ctx.store.departments.get_by_id(dept_id) is None:
        return t("department_unknown", id=dept_id[:40])
    try:
        value = await ctx.settings.set_for_department(key, dept_id, raw)
    except SettingRefused as e:
        return t(e.text_id, **e.values)
    if not value:
        return t("set_department_cleared", key=key, dept=dept_id)
    reply = t("set_department_done", key=key, dept=dept_id, value=value)
    reply += " " + t("set_retention_done")
    if parse_duration(value) < 86400:
        reply += " " + t("set_retention_short")
    return reply


@registry.register("stats", (CONTROL,), admin=True)
async def cmd_stats(ctx: Context) -> str:
    """Per department: maximum chats (everyone's capacity), running chats, free slots (of the
    people available now), unanswered (waiting) chats; then each staff member's state."""
    t = ctx.bridge.t
    routing = ctx.routing
    counts = await ctx.store.conversations.counts_by_department()
    running = await ctx.store.staff_members.active_chats()
    ratings = await ctx.store.conversations.ratings_by_department()
    lines = [t("stats_title")]
    everyone: set[str] = set()
    for d in await ctx.store.departments.all_active():
        if not d.room_id:
            continue
        users = await ctx.bridge.people.members(d.room_id)
        everyone |= users
        people, _ = await routing.people(d.room_id)
        maximum = sum(max(p.free, 0) + running.get(p.user_id, 0) for p in people)
        free = sum(max(p.free, 0) for p in people if p.available)
        available = sum(1 for p in people if p.available)
        opened = await routing.is_open(d.id, d.hours)
        lines.append(
            t(
                "stats_department",
                label=d.label,
                routing=t(f"routing_{d.routing}"),
                open=t("stats_open") if opened else t("stats_closed"),
                maximum=maximum,
                running=counts.get((d.id, Status.CONNECTED), 0),
                free=free,
                waiting=counts.get((d.id, Status.WAITING), 0),
                contact=counts.get((d.id, Status.CONTACT), 0),
                available=available,
                people=len(people),
            )
        )
        if d.id in ratings:
            average, n = ratings[d.id]
            lines.append(t("stats_rating", average=f"{average:.1f}", count=n))
    if everyone:
        lines.append(t("stats_people"))
        members = await ctx.store.staff_members.many(everyone)
        for user in sorted(everyone):
            lines.append(f"- {user}: {await describe(ctx, members[user])}")
    return "\n".join(lines)


@registry.register("routing", (CONTROL,), admin=True)
async def cmd_routing(ctx: Context) -> str:
    t = ctx.bridge.t
    if len(ctx.args) != 2 or ctx.args[1].lower() not in ROUTING_MODES:
        return t("routing_usage")
    dept_id, mode = ctx.args[0], ctx.args[1].lower()
    if not await ctx.store.departments.set_routing(dept_id, mode):
        return t("department_unknown", id=dept_id[:40])
    ctx.routing.kick(dept_id)
    return t("routing_set", id=dept_id, routing=t(f"routing_{mode}"))


@registry.register("hours", (CONTROL,), admin=True)
async def cmd_hours(ctx: Context) -> str:
    """!hours — all; !hours <dept> <days> <from>-<to> [<from>-<to>]; !hours <dept> <days> off;
    !hours <dept> always; !hours closed <date> [<dept>] [label]; !hours open <date> [<dept>]."""
    t = ctx.bridge.t
    lang = ctx.config["laura.staff_language"]
    args = ctx.args
    store = ctx.store
    if not args:
        return await _hours_overview(ctx)
    if args[0].lower() in ("closed", "dicht", "open") and len(args) >= 2:
        try:
            now = ctx.routing.local_now()
            day = weekly.parse_date(args[1], year=now.year, today=now.date())
        except weekly.ScheduleError as e:
            return t(f"schedule_{e.text_id}", **e.values) + " " + t("hours_usage")
        dept_id = ALL
        rest = args[2:]
        if rest and await store.departments.get_by_id(rest[0]) is not None:
            dept_id, rest = rest[0], rest[1:]
        where = dept_id or t("hours_all_departments")
        if args[0].lower() == "open":
            if not await store.closed_days.remove(day.isoformat(), dept_id):
                return t("hours_not_closed", day=day.isoformat(), where=where)
            await ctx.routing.kick_all()
            return t("hours_reopened", day=day.isoformat(), where=where)
        await store.closed_days.add(day.isoformat(), dept_id, " ".join(rest)[:80] or None)
        await ctx.routing.kick_all()
        return t("hours_closed_day", day=day.isoformat(), where=where)
    dept = await store.departments.get_by_id(args[0])
    if dept is None or not dept.active:
        return t("department_unknown", id=args[0][:40]) + " " + t("hours_usage")
    if len(args) == 2 and args[1].lower() in ("always", "altijd"):
        await store.departments.set_hours(dept.id, None)
        ctx.routing.kick(dept.id)
        return t("hours_set", label=dept.label, hours=weekly.describe(None, lang))
    if len(args) < 3:
        return t("hours_usage")
    week = (weekly.from_json(dept.hours) if dept.hours else None) or {}
    try:
        week = weekly.edit(week, args[1], args[2:])
    except weekly.ScheduleError as e:
        return t(f"schedule_{e.text_id}", **e.values) + " " + t("hours_usage")
    await store.departments.set_hours(dept.id, weekly.to_json(week))
    ctx.routing.kick(dept.id)
    return t("hours_set", label=dept.label, hours=weekly.describe(week, lang))


async def _hours_overview(ctx: Context) -> str:
    t = ctx.bridge.t
    lang = ctx.config["laura.staff_language"]
    lines = [t("hours_title")]
    for d in await ctx.store.departments.all_active():
        week = weekly.from_json(d.hours) if d.hours else None
        state = t("stats_open") if await ctx.routing.is_open(d.id, d.hours) else t("stats_closed")
        lines.append(f"- {d.label}: {weekly.describe(week, lang)} ({state})")
    today = ctx.routing.local_now().date().isoformat()
    closed = await ctx.store.closed_days.upcoming(today)
    if closed:
        lines.append(t("hours_closed_title"))
        for day, dept_id, label in closed[:20]:
            where = dept_id or t("hours_all_departments")
            lines.append(f"- {day} ({where})" + (f": {label}" if label else ""))
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
