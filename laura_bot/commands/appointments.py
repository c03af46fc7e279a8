"""Appointments for staff (A1–A3): `!afspraak` (`!appointment`) books, moves, changes and
cancels, sends the confirmation again and records the outcome; `!agenda` lists them.

    !afspraak <type> <date> <hh:mm> [<minutes>m] [@adviser] [overlap]
              [| <title> | <location> | <remarks for the client> [| <internal remarks>]]
    !afspraak verzet <nr> <date> <hh:mm> [<minutes>m] [overlap]     (move)
    !afspraak wijzig <nr> | <title> | <location> | <remarks>         (edit; empty: unchanged)
    !afspraak annuleer <nr>                                         (cancel)
    !afspraak mail <nr> [<e-mail address>]
    !afspraak uitkomst <nr> <outcome> [<note>]                      (outcome)

Booked from a consult room, an appointment belongs to the chat's case (Laura asks for one to
be saved first); from the control room, admins name a case from `!cases`: `!afspraak case <nr>
<type> …`. The location is `standaard` (`default`: the adviser's default location, else the
organisation's), `thuis` (`home`), `video` or an address.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..appointments.service import (
    ADDRESS,
    DEFAULT,
    HOME,
    NOT_SHOWN,
    VIDEO,
    Booking,
    NotChangeable,
    Overlap,
)
from ..appointments.times import (
    TimeProblem,
    format_day,
    format_when,
    parse_minutes,
    parse_when,
)
from ..db.appointments import Appointment
from ..db.cases import Case
from ..mail.addresses import BadAddress, check_address
from ..textsafety import visitor_name
from ..util import now_ms, storable_text
from ..web.appointments import feed_hash
from .base import ANY_ROOM, CONSULT, CONTROL, MXID, OTHER, Context, registry, typed_text

WORDS = ("afspraak", "appointment")
TITLE_MAX, LOCATION_MAX, REMARKS_MAX = 120, 300, 2000
_NR = re.compile(r"^#?(\d{1,9})$")
_SUB = {
    "verzet": "move",
    "move": "move",
    "wijzig": "edit",
    "edit": "edit",
    "annuleer": "cancel",
    "cancel": "cancel",
    "mail": "mail",
    "uitkomst": "outcome",
    "outcome": "outcome",
}
_LOCATIONS = {
    "standaard": DEFAULT,
    "default": DEFAULT,
    "thuis": HOME,
    "home": HOME,
    "video": VIDEO,
}
_OVERLAP = ("overlap", "dubbel")


class Refused(Exception):
    def __init__(self, text_id: str, **values: str) -> None:
        super().__init__(text_id)
        self.text_id = text_id
        self.values = values


@dataclass
class _When:
    start: datetime
    minutes: int | None
    adviser: str | None
    overlap: bool


@registry.register("afspraak", ANY_ROOM, aliases=("appointment",))
async def cmd_afspraak(ctx: Context) -> str:
    t = ctx.bridge.t
    text = await typed_text(ctx, WORDS)
    head, _, rest = text.partition(" ")
    try:
        sub = _SUB.get(head.lower())
        if sub is not None:
            return await _change(ctx, sub, rest.strip())
        return await _book(ctx, text)
    except Refused as e:
        return t(e.text_id, **e.values)
    except TimeProblem as e:
        return t(e.text_id, **e.values)


# Booking --------------------------------------------------------------------------------------


async def _usage(ctx: Context) -> str:
    types = await ctx.store.appointments.types()
    listed = ", ".join(f"{k.name} ({k.minutes} min{', video' if k.video else ''})" for k in types)
    return ctx.bridge.t("appointment_usage", types=listed or "—")


async def _book(ctx: Context, text: str) -> str:
    t = ctx.bridge.t
    if not text.strip():
        return await _usage(ctx)
    words_part, _, sections_part = text.partition("|")
    words = words_part.split()
    case: Case | None = None
    if ctx.room_kind == CONTROL:
        if ctx.sender not in ctx.config["laura.admins"]:
            return t("refused")
        if len(words) < 2 or words[0].lower() not in ("case", "casus", "dossier"):
            return t("appointment_control_usage")
        case = await _case_by_number(ctx, words[1])
        words = words[2:]
    elif ctx.room_kind == CONSULT:
        conv = await ctx.store.conversations.get_by_room(ctx.room_id)
        if conv is None:
            return t("case_no_chat")
        case = await ctx.store.cases.of_conversation(conv.id)
        if case is None:
            return t("appointment_needs_case")
    else:
        return t("appointment_where")
    if len(words) < 3:
        return await _usage(ctx)
    kind = await ctx.store.appointments.get_type(words[0].lower())
    if kind is None or not kind.active:
        return t("appointment_bad_type", type=words[0][:40]) + " " + await _usage(ctx)
    when = _parse_when(ctx, words[1:])
    sections = [s.strip() for s in sections_part.split("|")] if sections_part else []
    if len(sections) > 4:
        raise Refused("appointment_too_many_sections")
    title = _field(sections, 0, TITLE_MAX) or kind.title
    location_kind, location = await _location(ctx, _field(sections, 1, LOCATION_MAX), when, kind)
    adviser = when.adviser or ctx.sender
    conv = await ctx.store.conversations.get_by_id(case.conversation_id)
    session = await ctx.store.sessions.get_by_id(conv.session_id) if conv else None
    booking = Booking(
        kind=kind,
        start=when.start,
        minutes=when.minutes or kind.minutes,
        adviser=adviser,
        created_by=ctx.sender,
        title=title,
        location_kind=location_kind,
        location=location,
        remarks=_field(sections, 2, REMARKS_MAX),
        internal=_field(sections, 3, REMARKS_MAX),
        allow_overlap=when.overlap,
        case_id=case.id,
        conversation_id=case.conversation_id,
        session_id=session.id if session else None,
        department_id=conv.department_id if conv else None,
        client_name=visitor_name(session.name) if session else None,
        client_email=case.email or (session.email if session else None),
        lang=session.language if session else "nl",
        room_id=ctx.room_id,
    )
    if booking.location_kind == DEFAULT and not booking.location:
        raise Refused("appointment_no_default_location")
    try:
        changed = await ctx.services.appointments.book(booking)
    except Overlap as e:
        raise Refused("appointment_overlap", others=_listed(ctx, e.others)) from None
    appt = changed.appointment
    return t(
        "appointment_booked",
        nr=str(appt.nr),
        when=_when_text(ctx, appt),
        mailed=bool(changed.mailed),
        email=bool(appt.client_email),
        mail=bool(ctx.config["mail.host"]),
    )


def _parse_when(ctx: Context, words: list[str]) -> _When:
    tz = ctx.services.appointments.tz
    start = parse_when(words[0], words[1], tz, datetime.now(tz))
    out = _When(start, None, None, False)
    for word in words[2:]:
        if MXID.match(word):
            out.adviser = word
        elif word.lower() in _OVERLAP:
            out.overlap = True
        else:
            out.minutes = parse_minutes(word)
    return out


def _field(sections: list[str], i: int, limit: int) -> str | None:
    value = sections[i] if i < len(sections) else ""
    if not value:
        return None
    if len(value) > limit:
        raise Refused("appointment_too_long", limit=str(limit))
    if not storable_text(value):
        raise Refused("case_bad_text")
    return value


async def _location(
    ctx: Context, typed: str | None, when: _When, kind: Any
) -> tuple[str, str | None]:
    if typed is None:
        typed = "video" if kind.video else "standaard"
    chosen = _LOCATIONS.get(typed.lower())
    if chosen is None:
        return ADDRESS, typed
    if chosen == DEFAULT:
        member = await ctx.store.staff_members.get(when.adviser or ctx.sender)
        own = member.location or str(ctx.config["appointments.default_location"] or "")
        return DEFAULT, own or None
    return chosen, None


async def _case_by_number(ctx: Context, word: str) -> Case:
    match = _NR.match(word)
    case = await ctx.store.cases.get_by_number(int(match.group(1))) if match else None
    if case is None:
        raise Refused("appointment_no_such_case", nr=word[:20])
    return case


# Changes --------------------------------------------------------------------------------------


async def _appointment(ctx: Context, word: str) -> Appointment:
    match = _NR.match(word)
    appt = await ctx.store.appointments.by_nr(int(match.group(1))) if match else None
    if appt is None:
        raise Refused("appointment_not_found", nr=word[:20])
    allowed = (
        ctx.sender in (appt.adviser, appt.created_by)
        or ctx.sender in ctx.config["laura.admins"]
        or ctx.room_id == appt.room_id
    )
    if not allowed:
        raise Refused("appointment_not_yours", nr=str(appt.nr))
    return appt


async def _change(ctx: Context, sub: str, rest: str) -> str:
    t = ctx.bridge.t
    service = ctx.services.appointments
    nr_word, _, rest = rest.partition(" ") if sub != "edit" else _split_edit(rest)
    if not nr_word:
        return t(f"appointment_{sub}_usage", outcomes="")
    appt = await _appointment(ctx, nr_word)
    try:
        if sub == "move":
            words = rest.split()
            if len(words) < 2:
                return t("appointment_move_usage")
            when = _parse_when(ctx, words)
            changed = await service.move(appt, when.start, when.minutes, ctx.sender, when.overlap)
            return t(
                "appointment_moved",
                nr=str(appt.nr),
                when=_when_text(ctx, changed.appointment),
                mailed=bool(changed.mailed),
            )
        if sub == "edit":
            sections = [s.strip() for s in rest.split("|")]
            if not any(sections):
                return t("appointment_edit_usage")
            fields: dict[str, Any] = {}
            if title := _field(sections, 0, TITLE_MAX):
                fields["title"] = title
            if typed := _field(sections, 1, LOCATION_MAX):
                kind = await ctx.store.appointments.get_type(appt.type_name)
                loc_kind, loc = await _location(
                    ctx, typed, _When(datetime.now(), None, appt.adviser, False), kind
                )
                fields.update(location_kind=loc_kind, location=loc)
            if remarks := _field(sections, 2, REMARKS_MAX):
                fields["remarks"] = remarks
            changed = await service.edit(appt, ctx.sender, **fields)
            return t("appointment_changed", nr=str(appt.nr), mailed=bool(changed.mailed))
        if sub == "cancel":
            changed = await service.cancel(appt, ctx.sender)
            return t("appointment_cancelled", nr=str(appt.nr), mailed=bool(changed.mailed))
        if sub == "mail":
            address = None
            if rest.strip():
                try:
                    address = check_address(rest.strip())
                except BadAddress:
                    return t("appointment_bad_email")
            if not ctx.config["mail.host"]:
                return t("appointment_mail_off")
            if not (address or appt.client_email):
                return t("appointment_no_email", nr=str(appt.nr))
            changed = await service.send_confirmation(appt, ctx.sender, address)
            return t("appointment_mail_queued", nr=str(appt.nr))
        # outcome
        return await _outcome(ctx, appt, rest)
    except NotChangeable:
        return t("appointment_is_cancelled", nr=str(appt.nr))
    except Overlap as e:
        return t("appointment_overlap", others=_listed(ctx, e.others))


def _split_edit(rest: str) -> tuple[str, str, str]:
    nr, _, sections = rest.partition("|")
    return nr.strip(), "|", sections


async def _outcome(ctx: Context, appt: Appointment, rest: str) -> str:
    t = ctx.bridge.t
    kind = await ctx.store.appointments.get_type(appt.type_name)
    allowed = [*(kind.outcomes if kind else []), NOT_SHOWN]
    if appt.start_at > now_ms():
        return t("appointment_outcome_early", nr=str(appt.nr))
    text = rest.strip()
    # The longest allowed outcome the text starts with; the rest is the note.
    chosen = max(
        (o for o in allowed if text.casefold().startswith(o.casefold())), key=len, default=None
    )
    if not text or chosen is None:
        return t("appointment_outcome_usage", outcomes=", ".join(allowed))
    note = text[len(chosen) :].strip() or None
    if note and (len(note) > REMARKS_MAX or not storable_text(note)):
        return t("appointment_too_long", limit=str(REMARKS_MAX))
    await ctx.services.appointments.record_outcome(appt, chosen, note, ctx.sender)
    return t("appointment_outcome_recorded", nr=str(appt.nr), outcome=chosen)


def _when_text(ctx: Context, appt: Appointment) -> str:
    service = ctx.services.appointments
    return format_when(service.start(appt), service.tz, ctx.bridge.lang)


def _listed(ctx: Context, appts: list[Appointment]) -> str:
    return ", ".join(f"#{a.nr} {_when_text(ctx, a)}" for a in appts[:5])


# The agenda -----------------------------------------------------------------------------------


@registry.register("agenda", ANY_ROOM)
async def cmd_agenda(ctx: Context) -> str:
    """`!agenda [vandaag|today|morgen|tomorrow|<date>|week] [@user]`, `!agenda open`."""
    t = ctx.bridge.t
    service = ctx.services.appointments
    tz = service.tz
    now = datetime.now(tz)
    user = next((a for a in ctx.args if MXID.match(a)), None)
    words = [a.lower() for a in ctx.args if not MXID.match(a)]
    who = user or ctx.sender
    if words[:1] == ["feed"]:
        return await _feed(ctx, words[1:])
    if words[:1] == ["open"]:
        appts = await ctx.store.appointments.without_outcome(now_ms(), who)
        title = t("agenda_open_title")
    else:
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        days, first = 1, today
        word = words[0] if words else "vandaag"
        if word in ("vandaag", "today", "dzisiaj"):
            pass
        elif word in ("morgen", "tomorrow", "jutro"):
            first = today + timedelta(days=1)
        elif word in ("week", "tydzień"):
            days = 7
        else:
            try:
                first = parse_when(word, "00:00", tz, today - timedelta(days=366))
            except TimeProblem:
                return t("agenda_usage")
        start_ms, end_ms = service.span(first, days)
        appts = await ctx.store.appointments.between(start_ms, end_ms, who)
        title = t("agenda_title", first=format_day(first.date(), ctx.bridge.lang), week=days > 1)
    if not appts:
        return title + "\n" + t("agenda_empty")
    lines = [title]
    for a in appts[:50]:
        status = t(f"appointment_status_{a.status}")
        lines.append(
            f"#{a.nr} {_when_text(ctx, a)} · {a.title} · {status}"
            + (f" · {a.outcome}" if a.outcome else "")
        )
    return "\n".join(lines)


async def _feed(ctx: Context, words: list[str]) -> str:
    """`!agenda feed`: a secret address for the staff member's own calendar program;
    `!agenda feed nieuw` replaces it (the old one stops working). Only in a direct chat with
    Laura: the address is the key to the feed."""
    t = ctx.bridge.t
    if ctx.room_kind != OTHER:
        return t("agenda_feed_direct_only")
    store = ctx.store.appointments
    renew = words[:1] in (["nieuw"], ["new"], ["nowy"])
    has_one = await store.has_feed(ctx.sender)
    if has_one and not renew:
        return t("agenda_feed_exists")
    token = secrets.token_urlsafe(24)
    await store.set_feed(ctx.sender, feed_hash(token))
    base = str(ctx.config["web.public_url"]).rstrip("/")
    await ctx.store.audit.record(ctx.sender, "feed_made")
    return t("agenda_feed_made", url=f"{base}/calendar/{token}.ics", renewed=has_one)
