"""Monitoring (S15) and its audit trail, in the control room: `!monitor` lists the live chats,
`!monitor <chat>` follows one unseen, `!monitor stop <chat>` stops; `!audit <chat>` shows who
accessed a chat and when.

A chat is named by a number from the `!monitor` list, by its id, or by its first characters
(at least 6: what a consult room's name shows). Admins and `laura.supervisors` may monitor; the
check is here rather than the registry's admin flag, which knows admins only.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from ..db.audit import AuditRecord
from ..db.conversations import Conversation
from ..status import Status
from ..texts import STAFF
from .base import CONTROL, OTHER, Context, registry

log = logging.getLogger(__name__)

SHORT = 6  # characters of a chat id in a consult room's name
_ID = re.compile(r"^[0-9a-f]{6,64}$")
LIST_LIMIT = 30  # chats shown by !monitor (a number further down still works)
USER_LIMIT = 50  # records shown by !audit @user
LISTING_TTL = 600.0  # seconds a `!monitor` listing keeps its numbers
# (room, user) → (when, conversation ids in the order `!monitor` showed them).
_listings: dict[tuple[str, str], tuple[float, list[str]]] = {}


def _clock(ctx: Context, ms: int | None, with_date: bool = False) -> str:
    if not ms:
        return "?"
    when = datetime.fromtimestamp(ms / 1000, ZoneInfo(str(ctx.config["laura.timezone"])))
    today = datetime.now(when.tzinfo).date()
    return when.strftime("%d-%m-%Y %H:%M" if with_date or when.date() != today else "%H:%M")


async def _find(ctx: Context, name: str, numbers: bool = True) -> tuple[Conversation | None, str]:
    """The chat a name stands for, or None and the reply that says why not."""
    t = ctx.bridge.t
    name = name.strip().lower().lstrip("#")
    if numbers and name.isdigit() and len(name) < SHORT:
        n = int(name)
        # The number means what this person was shown, even when chats ended since.
        when, ids = _listings.get((ctx.room_id, ctx.sender), (0.0, []))
        if time.monotonic() - when > LISTING_TTL:
            ids = [c.conversation.id for c in await ctx.services.monitors.live()]
        if not 1 <= n <= len(ids):
            return None, t("monitor_bad_number", n=n)
        listed = await ctx.store.conversations.get_by_id(ids[n - 1])
        if listed is None:
            return None, t("monitor_bad_number", n=n)
        return listed, ""
    if not _ID.match(name):
        return None, t("monitor_bad_chat", chat=name[:40])
    conv = await ctx.store.conversations.get_by_id(name)
    if conv is not None:
        return conv, ""
    found = await ctx.store.conversations.starting_with(name)
    if len(found) > 1:
        return None, t("monitor_ambiguous", chat=name)
    conv = await ctx.store.conversations.get_by_id(found[0]) if found else None
    if conv is None:
        return None, t("monitor_unknown", chat=name)
    return conv, ""


@registry.register("monitor", (CONTROL, OTHER))
async def cmd_monitor(ctx: Context) -> str:
    """In the control room (admins), or in a direct chat with Laura (supervisors, who are not
    in the control room: admins' output there, such as case exports, is not theirs to read)."""
    t = ctx.bridge.t
    monitors = ctx.services.monitors
    if not monitors.may_monitor(ctx.sender):
        log.info("Refused !monitor from %s (not an admin or supervisor)", ctx.sender)
        return t("monitor_refused")
    if ctx.room_kind == OTHER and await ctx.bridge.people.members(ctx.room_id) != {ctx.sender}:
        return t("monitor_direct_only")
    args = ctx.args
    if not args:
        return await _list(ctx)
    stop = args[0].lower() in ("stop", "stoppen")
    if stop:
        args = args[1:]
    if len(args) != 1:
        return t("monitor_usage")
    conv, why = await _find(ctx, args[0], numbers=not stop)
    if conv is None:
        return why
    short = conv.id[:SHORT]
    if stop:
        if not await monitors.stop(conv, ctx.sender):
            return t("monitor_not_following", short=short)
        return t("monitor_stopped", short=short)
    if conv.status == Status.ENDED:
        return t("monitor_not_live", short=short)
    topic = await monitors.topic(conv)
    room = monitors.room_name(conv, topic)
    if await monitors.start(conv, ctx.sender) is None:
        return t("monitor_already", short=short, room=room)
    session = await ctx.store.sessions.get_by_id(conv.session_id)
    nickname = session.nickname if session else "?"
    return t("monitor_started", short=short, nickname=nickname, topic=topic, room=room)


async def _list(ctx: Context) -> str:
    t = ctx.bridge.t
    monitors = ctx.services.monitors
    chats = await monitors.live()
    _listings[(ctx.room_id, ctx.sender)] = (
        time.monotonic(),
        [c.conversation.id for c in chats],
    )
    if not chats:
        return t("monitor_none")
    lines = [t("monitor_title")]
    for n, chat in enumerate(chats[:LIST_LIMIT], start=1):
        await monitors.describe(chat)
        conv = chat.conversation
        if conv.status == Status.CONNECTED:
            state = t(
                "monitor_state_connected",
                name=conv.taker_name or conv.taker or "?",
                since=_clock(ctx, conv.taken_at),
            )
        else:
            state = t("monitor_state_waiting", since=_clock(ctx, conv.queued_at))
        lines.append(
            t(
                "monitor_line",
                n=n,
                short=conv.id[:SHORT],
                topic=chat.topic,
                nickname=chat.nickname,
                state=state,
            )
        )
    if len(chats) > LIST_LIMIT:
        lines.append(t("monitor_more", count=len(chats) - LIST_LIMIT))
    return "\n".join(lines)


@registry.register("audit", (CONTROL,), admin=True)
async def cmd_audit(ctx: Context) -> str:
    """Who accessed a chat and when (C3). A full id also finds the records of a chat that has
    been deleted since: the audit log outlives the chats it speaks of."""
    t = ctx.bridge.t
    if len(ctx.args) != 1:
        return t("audit_usage")
    if ctx.args[0].startswith("@"):
        return await _audit_of_user(ctx, ctx.args[0])
    conv, why = await _find(ctx, ctx.args[0], numbers=False)
    conv_id = conv.id if conv else ctx.args[0].strip().lower()
    records = await ctx.store.audit.of_conversation(conv_id) if conv or _ID.match(conv_id) else []
    if conv is None and not records:
        return why
    short = conv_id[:SHORT]
    if not records:
        return t("audit_none", short=short)
    lines = [t("audit_title", short=short)]
    for r in records:
        action = _action(ctx, r)
        lines.append(t("audit_line", when=_clock(ctx, r.ts, True), actor=r.actor, action=action))
    return "\n".join(lines)


def _action(ctx: Context, r: AuditRecord) -> str:
    t = ctx.bridge.t
    texts = STAFF[ctx.config["laura.staff_language"]]
    action = t(f"audit_action_{r.action}") if f"audit_action_{r.action}" in texts else r.action
    if r.detail:
        detail = t(f"audit_detail_{r.detail}") if f"audit_detail_{r.detail}" in texts else r.detail
        action = f"{action} ({detail})"
    return action


async def _audit_of_user(ctx: Context, user: str) -> str:
    """!audit @user: what one person accessed, newest first (visitors and Laura's own
    retention are actors too: "visitor", "retention")."""
    t = ctx.bridge.t
    user = user.strip()
    records = await ctx.store.audit.of_actor(user, limit=USER_LIMIT)
    if not records:
        return t("audit_user_none", user=user[:80])
    lines = [t("audit_user_title", user=user[:80])]
    for r in records:
        chat = (r.conversation_id or "-")[:SHORT]
        lines.append(
            t("audit_user_line", when=_clock(ctx, r.ts, True), chat=chat, action=_action(ctx, r))
        )
    return "\n".join(lines)
