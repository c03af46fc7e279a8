"""Canned responses (S4): `#`, `#<name>`, `!canned add|remove|save`.

An answer is a small Jinja2 template with the visitor's and the staff member's names and the
topic. Staff write them, so they are checked twice over before anything reaches a visitor: the
parsed template may hold only text, the known variables, if/else, comparisons and a few plain
filters (no attributes, no calls, no globals such as `self`, `range` or `lipsum`: the restricted
language of templates.py), checked when it is saved and again when it is sent; and it renders in
Laura's sandbox, filled in to at most MAX_TEXT characters. So an answer can never reach Laura's
internals, nor print a Python object, nor blow up into a huge text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from mautrix.api import Method, Path
from mautrix.errors import MatrixRequestError

from .. import templates
from ..db.canned import SHARED, CannedResponse
from ..db.conversations import Conversation
from ..matrix.content import trim_reply_fallback
from ..status import Status
from ..templates import TemplateRefused, safe_render
from .base import CONSULT, CONTROL, Context, registry

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-z0-9_-]{1,32}$")
MAX_TEXT = 2000
PREVIEW = 60
EVERYONE = ("alle", "all")
# Each variable in Dutch and English: an answer may use either.
VARIABLES = ("bezoeker", "visitor", "medewerker", "staff", "onderwerp", "topic")


class Refused(Exception):
    """Why an answer cannot be saved or sent, as a staff text and its values."""

    def __init__(self, text_id: str, **values: Any) -> None:
        super().__init__(text_id)
        self.text_id = text_id
        self.values = values


def _refused(e: TemplateRefused) -> Refused:
    return Refused(f"canned_error_{e.kind}", **e.values)


def check_template(text: str) -> None:
    """Raises Refused unless the template holds only what an answer needs."""
    try:
        templates.check_template(text, VARIABLES)
    except TemplateRefused as e:
        raise _refused(e) from None


def variables(visitor: str, staff: str, topic: str) -> dict[str, str]:
    return {
        "bezoeker": visitor,
        "visitor": visitor,
        "medewerker": staff,
        "staff": staff,
        "onderwerp": topic,
        "topic": topic,
    }


def fill(text: str, values: dict[str, str]) -> str:
    """The answer as the visitor gets it; Refused when it cannot be."""
    try:
        return safe_render(text, values, MAX_TEXT).strip()
    except TemplateRefused as e:
        if e.kind == "runtime":  # any failure of a staff-written template is a refusal
            log.info("A canned answer failed to render: %s", type(e.__cause__).__name__)
        raise _refused(e) from None


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW else flat[:PREVIEW].rstrip() + "…"


def _line(answer: CannedResponse) -> str:
    return f"#{answer.name} — {_preview(answer.text)}"


# `#` and `#name` ------------------------------------------------------------------------------


@registry.register("#", (CONSULT,))
async def cmd_hash(ctx: Context) -> str:
    """`#` lists the answers of this chat's department and the shared ones; `#name` sends one.
    The list is a notice in the consult room, which is never mirrored to the visitor."""
    t = ctx.bridge.t
    conv = await ctx.store.conversations.get_by_room(ctx.room_id)
    if conv is None:
        return t("canned_no_chat")
    dept_id = conv.department_id or SHARED
    if not ctx.args:
        return await _list_for(ctx, dept_id)
    name = ctx.args[0].lower()
    if len(ctx.args) > 1:
        return t("canned_hash_extra", name=name[:40])
    answer = await ctx.store.canned.get_by_name(name, dept_id) if NAME.match(name) else None
    if answer is None:
        names = sorted({a.name for a in await ctx.store.canned.all_for_department(dept_id)})
        if not names:
            return t("canned_unknown_none", name=name[:40])
        return t("canned_unknown", name=name[:40], names=", ".join(f"#{n}" for n in names))
    if conv.status == Status.ENDED:
        return t("canned_ended", name=name)
    staff_name = await ctx.store.staff.name_of(conv.id, ctx.sender) or (
        await ctx.bridge.people.staff_name(ctx.room_id, ctx.sender)
    )
    try:
        text = fill(answer.text, await _values_for(ctx, conv, staff_name))
    except Refused as e:
        return t("canned_not_sent", name=name, error=t(e.text_id, **e.values))
    if not text:
        return t("canned_not_sent", name=name, error=t("canned_error_empty"))
    sent = await ctx.staff_actions.staff_message(
        conv, f"{ctx.event_id}/canned", staff_name, text, mirror=True
    )
    if not sent:
        return t("canned_ended", name=name)
    log.info("Canned answer %s sent in %s by %s", name, conv.id, ctx.sender)
    return t("canned_sent", name=name)


async def _values_for(ctx: Context, conv: Conversation, staff_name: str) -> dict[str, str]:
    session = await ctx.store.sessions.get_by_id(conv.session_id)
    dept = await ctx.store.departments.get_by_id(conv.department_id or "")
    return variables(session.nickname if session else "", staff_name, dept.label if dept else "")


async def _list_for(ctx: Context, dept_id: str) -> str:
    t = ctx.bridge.t
    answers = await ctx.store.canned.all_for_department(dept_id)
    if not answers:
        return t("canned_none")
    own = [a for a in answers if dept_id and a.department_id == dept_id]
    # A shared answer with the name of one of the department's own is not reachable here.
    shared = [a for a in answers if not a.department_id and a.name not in {o.name for o in own}]
    lines = [t("canned_list_title")]
    if own:
        dept = await ctx.store.departments.get_by_id(dept_id)
        lines.append(t("canned_group", where=dept.label if dept else dept_id))
        lines += [_line(a) for a in own]
    if shared:
        lines.append(t("canned_group", where=t("canned_everyone")))
        lines += [_line(a) for a in shared]
    return "\n".join(lines)


# `!canned` ------------------------------------------------------------------------------------


@registry.register("canned", (CONSULT, CONTROL))
async def cmd_canned(ctx: Context) -> str:
    """Staff manage their department's answers in a consult room; admins manage every
    department's and the shared ones in the control room."""
    if ctx.room_kind == CONTROL:
        return await _control(ctx)
    return await _consult(ctx)


async def _consult(ctx: Context) -> str:
    t, args = ctx.bridge.t, ctx.args
    conv = await ctx.store.conversations.get_by_room(ctx.room_id)
    if conv is None:
        return t("canned_no_chat")
    if not args:
        return await _list_for(ctx, conv.department_id or SHARED)
    action = args[0].lower()
    if action not in ("add", "remove", "save") or (action == "add" and len(args) < 3):
        return t("canned_usage_consult")
    if action != "add" and len(args) != 2:
        return t("canned_usage_consult")
    if not conv.department_id:
        return t("canned_no_department")
    dept = await ctx.store.departments.get_by_id(conv.department_id)
    where = dept.label if dept else conv.department_id
    name = args[1].lower()
    if action == "add":
        text = await _raw_rest(ctx, 3, args[2:])
        return await _add(ctx, conv.department_id, where, name, text)
    if action == "remove":
        return await _remove(ctx, conv.department_id, where, name)
    if not NAME.match(name):
        return t("canned_bad_name", name=name[:40])
    text_or_refusal = await _replied_text(ctx)
    if isinstance(text_or_refusal, Refused):
        return t(text_or_refusal.text_id, **text_or_refusal.values)
    return await _add(ctx, conv.department_id, where, name, text_or_refusal)


async def _control(ctx: Context) -> str:
    t, args = ctx.bridge.t, ctx.args
    if not args:
        return await _list_all(ctx)
    action = args[0].lower()
    if (action == "add" and len(args) >= 4) or (action == "remove" and len(args) == 3):
        if ctx.sender not in ctx.config["laura.admins"]:
            log.info("Refused !canned %s from non-admin %s", action, ctx.sender)
            return t("canned_admins_only")
        target = await _department(ctx, args[2])
        if target is None:
            return t("department_unknown", id=args[2][:40]) + " " + t("canned_usage_control")
        dept_id, where = target
        name = args[1].lower()
        if action == "add":
            return await _add(ctx, dept_id, where, name, await _raw_rest(ctx, 4, args[3:]))
        return await _remove(ctx, dept_id, where, name)
    return t("canned_usage_control")


async def _department(ctx: Context, word: str) -> tuple[str, str] | None:
    """(department_id, what to call it) for a department id, or `alle`/`all` for everyone."""
    if word.lower() in EVERYONE:
        return SHARED, ctx.bridge.t("canned_everyone")
    dept = await ctx.store.departments.get_by_id(word.lower())
    if dept is None or not dept.active:
        return None
    return dept.id, dept.label


async def _add(ctx: Context, dept_id: str, where: str, name: str, text: str) -> str:
    t = ctx.bridge.t
    if not NAME.match(name):
        return t("canned_bad_name", name=name[:40])
    text = text.strip()
    if not text:
        return t("canned_usage_control" if ctx.room_kind == CONTROL else "canned_usage_consult")
    if len(text) > MAX_TEXT:
        return t("canned_too_long", limit=MAX_TEXT, length=len(text))
    try:
        fill(text, variables("Piet", "Anna", where))  # refuses what would fail when sent
    except Refused as e:
        return t("canned_refused", name=name, error=t(e.text_id, **e.values))
    if not await ctx.store.canned.add(dept_id, name, text, ctx.sender):
        return t("canned_exists", name=name, where=where)
    log.info("Canned answer %s added for %s by %s", name, dept_id or "everyone", ctx.sender)
    return t("canned_added", name=name, where=where)


async def _remove(ctx: Context, dept_id: str, where: str, name: str) -> str:
    t = ctx.bridge.t
    if not await ctx.store.canned.remove(dept_id, name):
        return t("canned_not_found", name=name[:40], where=where)
    log.info("Canned answer %s removed for %s by %s", name, dept_id or "everyone", ctx.sender)
    return t("canned_removed", name=name, where=where)


async def _list_all(ctx: Context) -> str:
    t = ctx.bridge.t
    answers = await ctx.store.canned.all()
    if not answers:
        return t("canned_none")
    labels = {d.id: d.label for d in await ctx.store.departments.all_active()}
    lines = [t("canned_all_title")]
    group: str | None = None
    for a in answers:  # ordered by department, the shared ones ('') first
        if a.department_id != group:
            group = a.department_id
            where = labels.get(group, group) if group else t("canned_everyone")
            lines.append(t("canned_group", where=where))
        lines.append(_line(a))
    return "\n".join(lines)


# The command's own event, and the one it replies to ----------------------------------------


async def _event(ctx: Context, event_id: str) -> dict[str, Any] | None:
    try:
        resp = await ctx.bridge.bot.api.request(
            Method.GET, Path.v3.rooms[ctx.room_id].event[event_id]
        )
    except MatrixRequestError as e:
        log.warning("Could not fetch %s in %s: %s", event_id, ctx.room_id, e.errcode)
        return None
    return resp if isinstance(resp, dict) else None


def _content(event: dict[str, Any] | None) -> dict[str, Any]:
    content = event.get("content") if event else None
    return content if isinstance(content, dict) else {}


async def _raw_rest(ctx: Context, skip: int, args: list[str]) -> str:
    """The text after the first `skip` words of the command, exactly as typed: the parsed
    arguments lose quotes and line breaks, which belong to an answer's text."""
    body = _content(await _event(ctx, ctx.event_id)).get("body")
    if isinstance(body, str):
        parts = body.strip().split(None, skip)
        if len(parts) > skip:
            return parts[skip]
    return " ".join(args)


async def _replied_text(ctx: Context) -> str | Refused:
    """The text of the staff member's own message that `!canned save` replies to."""
    relates = _content(await _event(ctx, ctx.event_id)).get("m.relates_to")
    reply = relates.get("m.in_reply_to") if isinstance(relates, dict) else None
    target_id = reply.get("event_id") if isinstance(reply, dict) else None
    if not isinstance(target_id, str) or not target_id.startswith("$"):
        return Refused("canned_save_no_reply")
    target = await _event(ctx, target_id)
    if target is None:
        return Refused("canned_save_unavailable")
    if target.get("sender") != ctx.sender:
        return Refused("canned_save_not_yours")
    content = _content(target)
    body = content.get("body")
    if target.get("type") != "m.room.message" or content.get("msgtype") != "m.text":
        return Refused("canned_save_not_text")
    if not isinstance(body, str):
        return Refused("canned_save_not_text")
    relates = content.get("m.relates_to")
    reply = relates.get("m.in_reply_to") if isinstance(relates, dict) else None
    reply_to = reply.get("event_id") if isinstance(reply, dict) else None
    if isinstance(reply_to, str):
        body = trim_reply_fallback(body, reply_to)
    return body
