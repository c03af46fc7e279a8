"""Cases (S14) and unclosed chats (S16): `!case`, `!cases`, `!open`.

A case is a chat saved for follow-up: a subject, a category from `laura.case_categories`,
internal notes and the visitor's e-mail; the history stays with the conversation. The notes are
internal: they live in the case row and reach only the control room (`!cases export`). Replies
in a consult room never repeat them, and nothing here logs a subject, a note or an address.

`!open` numbers the chats it lists; `!open end <nr>` and `!case <nr>` use the admin's last
listing (kept in memory for ten minutes), so a number means what the admin saw, even when the
list has changed since. Without a recent listing they use the default one.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..db.cases import Case
from ..db.conversations import Conversation
from ..db.outbound import about_chat
from ..status import Status
from ..transcript import safe_file_name
from ..util import format_duration, now_ms, parse_duration, storable_text
from .base import CONSULT, CONTROL, Context, registry, typed_text

log = logging.getLogger(__name__)

SUBJECT_MAX = 200
NOTES_MAX = 4000
CASES_SHOWN = 50
OPEN_DEFAULT = 30 * 60.0  # seconds of quiet before a chat counts as never properly ended
OPEN_MAX = 366 * 86400.0
LISTING_TTL = 600.0
UNCLOSED = (Status.WAITING, Status.CONNECTED, Status.CONTACT)

_NUMBER = re.compile(r"^#?(\d{1,4})$")
_NUMBER_FIRST = re.compile(r"^\s*(\S+)\s*(.*)$", re.DOTALL)

# (control room, admin) → (when, conversation ids in the order `!open` showed them).
_listings: dict[tuple[str, str], tuple[float, list[str]]] = {}


# Saving a case --------------------------------------------------------------------------------


@registry.register("case", (CONSULT, CONTROL))
async def cmd_case(ctx: Context) -> str:
    """`!case <subject> | <category> | <notes>` in a consult room; `!case <nr> …` in the
    control room for a chat from `!open`."""
    t = ctx.bridge.t
    categories = [str(c) for c in ctx.config["laura.case_categories"]]
    listed = ", ".join(categories)
    text = await typed_text(ctx, ("case",))
    if ctx.room_kind == CONTROL:
        if ctx.sender not in ctx.config["laura.admins"]:
            return t("refused")
        match = _NUMBER_FIRST.match(text)
        if not match:
            return t("case_usage_control", categories=listed)
        conv, problem = await _listed(ctx, match.group(1))
        if conv is None:
            return problem
        text, usage = match.group(2), t("case_usage_control", categories=listed)
    else:
        conv = await ctx.store.conversations.get_by_room(ctx.room_id)
        if conv is None:
            return t("case_no_chat")
        usage = t("case_usage", categories=listed)
        if not text.strip():
            # Step by step: Laura asks, the staff member answers by replying to her question
            # (a reply to Laura never reaches the visitor).
            await _ask(ctx, conv, ctx.event_id, "subject", {})
            return ""
    if not text.strip():
        return usage
    try:
        subject, category, notes = _parse(text, categories)
    except _Refused as e:
        return f"{t(e.text_id, **e.values)} {usage}"
    return await _save(ctx, conv, subject, category, notes)


_STEPS = ("subject", "category", "notes")


async def _ask(
    ctx: Context, conv: Conversation, reply_to: str, step: str, fields: dict[str, str | None]
) -> None:
    """One question of the step-by-step !case; the reply to it is the answer."""
    t = ctx.bridge.t
    categories = ", ".join(str(c) for c in ctx.config["laura.case_categories"])
    number = _STEPS.index(step) + 1
    question = t(f"case_ask_{step}", step=number, steps=len(_STEPS), categories=categories)
    asked = await ctx.bridge.notice(
        ctx.room_id, question, txn_id=f"laura.case.{reply_to}.{step}", reply_to=reply_to
    )
    starter = ctx.sender

    async def answer(reply: Context, text: str) -> str:
        if reply.sender != starter:
            ctx.commands.expect_reply(asked, answer)  # still open for the one who asked
            return t("case_ask_not_yours")
        value = text.strip()
        values = dict(fields)
        if step == "subject":
            if not value or len(value) > SUBJECT_MAX or not storable_text(value):
                await _ask(reply, conv, reply.event_id, step, values)
                return ""
            values["subject"] = value
        elif step == "category":
            names = [str(c) for c in ctx.config["laura.case_categories"]]
            chosen = next((c for c in names if c.casefold() == value.casefold()), None)
            if chosen is None:
                await _ask(reply, conv, reply.event_id, step, values)
                return t("case_bad_category", category=value[:40])
            values["category"] = chosen
        else:
            notes = None if value in ("", "-") else value
            if notes and (len(notes) > NOTES_MAX or not storable_text(notes)):
                return t("case_too_long", subject=SUBJECT_MAX, notes=NOTES_MAX)
            return await _save(reply, conv, str(values["subject"]), str(values["category"]), notes)
        await _ask(reply, conv, reply.event_id, _STEPS[number], values)
        return ""

    ctx.commands.expect_reply(asked, answer)


async def _save(
    ctx: Context, conv: Conversation, subject: str, category: str, notes: str | None
) -> str:
    email = await ctx.store.cases.visitor_email(conv.id)
    case = await ctx.store.cases.add(conv.id, subject, category, notes, email, ctx.sender)
    saved = about_chat(
        "case.saved", conv.id, conv.department_id, case_id=case.id, category=category
    )
    saved.content.update(subject=subject, notes=notes, email=email)
    await ctx.store.outbound.record(None, saved)
    await ctx.store.audit.record(ctx.sender, "case_saved", conv.id, case.id)
    log.info("Case %s saved for conversation %s by %s", case.id, conv.id, ctx.sender)
    return ctx.bridge.t(
        "case_saved", subject=subject, category=category, notes=bool(notes), email=bool(email)
    )


class _Refused(Exception):
    """What is wrong with a `!case` line: a staff text and its values."""

    def __init__(self, text_id: str, **values: Any) -> None:
        super().__init__(text_id)
        self.text_id, self.values = text_id, values


def _parse(text: str, categories: list[str]) -> tuple[str, str, str | None]:
    """'subject | category | notes' → (subject, category as configured, notes or None).
    Notes may contain '|' themselves."""
    parts = [p.strip() for p in text.split("|", 2)]
    subject = parts[0]
    given = parts[1] if len(parts) > 1 else ""
    notes = parts[2] if len(parts) > 2 and parts[2] else None
    if not subject:
        raise _Refused("case_no_subject")
    if not given:
        raise _Refused("case_no_category")
    category = next((c for c in categories if c.casefold() == given.casefold()), None)
    if category is None:
        raise _Refused("case_bad_category", category=given[:40])
    if len(subject) > SUBJECT_MAX or len(notes or "") > NOTES_MAX:
        raise _Refused("case_too_long", subject=SUBJECT_MAX, notes=NOTES_MAX)
    if not storable_text(subject) or not storable_text(notes or ""):
        raise _Refused("case_bad_text")
    return subject, category, notes


# Listing and exporting cases ------------------------------------------------------------------


@registry.register("cases", (CONTROL,), admin=True)
async def cmd_cases(ctx: Context) -> str:
    t = ctx.bridge.t
    args = ctx.args
    if not args:
        return await _list_cases(ctx)
    if len(args) == 3 and args[0].lower() == "export" and args[2].lower() in ("pdf", "json"):
        match = _NUMBER.match(args[1])
        if match:
            return await _export(ctx, int(match.group(1)), args[2].lower())
    return t("cases_usage")


async def _list_cases(ctx: Context) -> str:
    t = ctx.bridge.t
    total = await ctx.store.cases.count()
    if not total:
        return t("cases_none")
    labels = await _department_labels(ctx)
    listing = await ctx.store.cases.all_newest(CASES_SHOWN)
    lines = [t("cases_title", shown=len(listing), total=total, more=total > len(listing))]
    for nr, item in enumerate(listing, 1):
        case = item.case
        lines.append(
            t(
                "cases_line",
                nr=nr,
                when=_time(ctx, case.created_at, "%d-%m-%Y %H:%M"),
                subject=_short(case.subject, 80),
                category=case.category or "-",
                department=labels.get(item.department_id or "", item.department_id or "-"),
                by=case.created_by,
            )
        )
    lines.append(t("cases_hint"))
    return "\n".join(lines)


async def _export(ctx: Context, number: int, fmt: str) -> str:
    """The case's chat as a file in the control room: the transcript PDF, or JSON with the
    case's fields and the whole history."""
    t = ctx.bridge.t
    case = await ctx.store.cases.get_by_number(number)
    conv = await ctx.store.conversations.get_by_id(case.conversation_id) if case else None
    if case is None or conv is None:
        return t("cases_unknown", nr=number)
    lang = ctx.config["laura.staff_language"]
    transcripts = ctx.services.transcripts
    if fmt == "pdf":
        data, mime = await transcripts.pdf(conv, lang), "application/pdf"
        name = transcripts.file_name(conv, lang, "pdf")
    else:
        export = await _case_json(ctx, case, conv)
        data = json.dumps(export, ensure_ascii=False, indent=2).encode()
        mime = "application/json"
        name = safe_file_name(f"{t('case_file_name')}-{case.id[:8]}.json")
    await ctx.bridge.sender.send_file(
        ctx.room_id, data, mime, name, f"laura.case.{ctx.event_id}", purpose="cases"
    )
    await ctx.store.audit.record(ctx.sender, "case_exported", conv.id, f"{case.id} {fmt}")
    log.info("Case %s exported as %s by %s", case.id, fmt, ctx.sender)
    reply = t("cases_exported", nr=number, subject=_short(case.subject, 80), name=name)
    if fmt == "pdf":  # the PDF is the chat alone: the case's own fields go with it here
        fields = t(
            "cases_fields",
            category=case.category or "-",
            email=case.email or "-",
            notes=case.notes or "-",
        )
        reply = f"{reply}\n{fields}"
    return reply


async def _case_json(ctx: Context, case: Case, conv: Conversation) -> dict[str, Any]:
    labels = await _department_labels(ctx)
    history = []
    for ev in await ctx.store.events.of_conversation(conv.id):
        history.append(
            {
                "seq": ev.seq,
                "ts": ev.ts,
                "time": _iso(ctx, ev.ts),
                "type": ev.type,
                "sender": ev.sender,
                "name": ev.name,
                "body": ev.body,
                "data": json.loads(ev.data) if ev.data else None,
            }
        )
    return {
        "case": {
            "id": case.id,
            "subject": case.subject,
            "category": case.category,
            "notes": case.notes,
            "email": case.email,
            "created_by": case.created_by,
            "created_at": _iso(ctx, case.created_at),
        },
        "conversation": {
            "id": conv.id,
            "department_id": conv.department_id,
            "department": labels.get(conv.department_id or ""),
            "status": conv.status,
            "created_at": _iso(ctx, conv.created_at),
            "taken_by": conv.taker,
            "ended_at": _iso(ctx, conv.ended_at),
            "ended_by": conv.ended_by,
            "staff": await ctx.store.staff.ever_joined(conv.id),
        },
        "history": history,
    }


# Unclosed chats -------------------------------------------------------------------------------


@registry.register("open", (CONTROL,), admin=True, default=format_duration(OPEN_DEFAULT))
async def cmd_open(ctx: Context) -> str:
    t = ctx.bridge.t
    args = ctx.args
    if not args:
        return await _list_open(ctx, OPEN_DEFAULT)
    if len(args) == 2 and args[0].lower() == "end":
        return await _end_open(ctx, args[1])
    if len(args) == 1:
        try:
            seconds = parse_duration(args[0])
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= OPEN_MAX:
            return t("open_bad_duration", value=args[0][:20]) + " " + t("open_usage")
        return await _list_open(ctx, seconds)
    return t("open_usage")


async def _list_open(ctx: Context, seconds: float) -> str:
    t = ctx.bridge.t
    now = now_ms()
    convs = await ctx.store.conversations.all_unclosed(now - int(seconds * 1000))
    _remember(ctx, [c.id for c in convs])
    threshold = format_duration(seconds)
    if not convs:
        return t("open_none", threshold=threshold)
    saved = await ctx.store.cases.conversations_with_cases([c.id for c in convs])
    labels = await _department_labels(ctx)
    lines = [t("open_title", threshold=threshold, count=len(convs))]
    for nr, conv in enumerate(convs, 1):
        last = _last_activity(conv)
        lines.append(
            t(
                "open_line",
                nr=nr,
                nickname=await _nickname(ctx, conv),
                department=labels.get(conv.department_id or "", conv.department_id or "-"),
                status=t(f"open_status_{conv.status}"),
                age=_age(now - conv.created_at),
                last=_time(ctx, last, "%d-%m %H:%M"),
                quiet=_age(now - last),
                case=conv.id in saved,
            )
        )
    lines.append(t("open_hint"))
    return "\n".join(lines)


async def _end_open(ctx: Context, number: str) -> str:
    t = ctx.bridge.t
    conv, problem = await _listed(ctx, number)
    if conv is None:
        return problem
    nr, name = number.lstrip("#"), await _nickname(ctx, conv)
    if conv.status not in UNCLOSED or not await ctx.staff_actions.close_by_staff(conv, ctx.sender):
        return t("open_already_ended", nr=nr, nickname=name)
    labels = await _department_labels(ctx)
    department = labels.get(conv.department_id or "", conv.department_id or "-")
    return t("open_ended", nr=nr, nickname=name, department=department)


def _remember(ctx: Context, ids: list[str]) -> None:
    now = time.monotonic()
    for key, (at, _) in list(_listings.items()):
        if now - at > LISTING_TTL:
            del _listings[key]
    _listings[(ctx.room_id, ctx.sender)] = (now, ids)


async def _listed(ctx: Context, number: str) -> tuple[Conversation | None, str]:
    """The chat with this number in the admin's last `!open` listing (or the default one),
    or None and why not."""
    t = ctx.bridge.t
    match = _NUMBER.match(number.strip())
    if not match:
        return None, t("open_bad_number", value=number[:20]) + " " + t("open_usage")
    remembered = _listings.get((ctx.room_id, ctx.sender))
    if remembered and time.monotonic() - remembered[0] <= LISTING_TTL:
        ids = remembered[1]
    else:
        quiet_since = now_ms() - int(OPEN_DEFAULT * 1000)
        ids = [c.id for c in await ctx.store.conversations.all_unclosed(quiet_since)]
        _remember(ctx, ids)
    nr = int(match.group(1))
    conv = await ctx.store.conversations.get_by_id(ids[nr - 1]) if 1 <= nr <= len(ids) else None
    if conv is None:
        return None, t("open_no_such", nr=nr, count=len(ids))
    return conv, ""


# Formatting -----------------------------------------------------------------------------------


async def _department_labels(ctx: Context) -> dict[str, str]:
    return {d.id: d.label for d in await ctx.store.departments.all_active()}


async def _nickname(ctx: Context, conv: Conversation) -> str:
    session = await ctx.store.sessions.get_by_id(conv.session_id)
    return session.nickname if session else "-"


def _last_activity(conv: Conversation) -> int:
    return conv.last_activity_at or conv.taken_at or conv.queued_at or conv.created_at


def _age(ms: int) -> str:
    seconds = max(0, ms // 1000)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def _time(ctx: Context, ms: int, fmt: str) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(ctx.config["laura.timezone"])).strftime(fmt)


def _iso(ctx: Context, ms: int | None) -> str | None:
    if ms is None:
        return None
    zone = ZoneInfo(ctx.config["laura.timezone"])
    return datetime.fromtimestamp(ms / 1000, zone).isoformat(timespec="seconds")


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
