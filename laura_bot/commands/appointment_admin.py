"""Setting appointments up: admins manage the types (`!afspraaktype`), the advisers' default
locations (`!locatie`) and see the mails that keep failing (`!mails`); each staff member sets
the address their calendar copies go to (`!email`).

    !afspraaktype                                  lists them
    !afspraaktype add <name> <minutes>m [video] | <title> | <outcome>, <outcome> | <fields>
    !afspraaktype remove <name>
    !locatie @user <address>   /   !locatie @user -   /   !locatie @user
    !email <address>   /   !email -   /   !email
    !mails   /   !mails retry <nr>

The fields the client sees are a comma-separated choice of title, location, remarks, adviser
(default: all four); internal remarks never reach the client.
"""

from __future__ import annotations

from ..appointments.mails import CLIENT_FIELDS
from ..appointments.times import TimeProblem, parse_minutes
from ..config_appointments import type_problem
from ..db.appointments import AppointmentType
from ..mail.addresses import BadAddress, check_address
from ..util import storable_text
from .base import ANY_ROOM, CONTROL, MXID, Context, registry, typed_text

CLEAR = ("-", "geen", "none", "brak")


@registry.register("afspraaktype", (CONTROL,), admin=True, aliases=("appointmenttype",))
async def cmd_afspraaktype(ctx: Context) -> str:
    t = ctx.bridge.t
    store = ctx.store.appointments
    if not ctx.args:
        types = await store.types()
        if not types:
            return t("appointment_types_none")
        return "\n".join(
            [t("appointment_types_title")]
            + [
                t(
                    "appointment_type_line",
                    name=k.name,
                    title=k.title,
                    minutes=str(k.minutes),
                    video=k.video,
                    outcomes=", ".join(k.outcomes) or "—",
                    fields=", ".join(k.client_fields),
                )
                for k in types
            ]
        )
    action = ctx.args[0].lower()
    if action in ("remove", "verwijder") and len(ctx.args) == 2:
        done = await store.remove_type(ctx.args[1].lower())
        key = "appointment_type_removed" if done else "appointment_type_unknown"
        return t(key, name=ctx.args[1][:40])
    if action not in ("add", "toevoegen"):
        return t("appointment_type_usage")
    text = await typed_text(ctx, ("afspraaktype", "appointmenttype"))
    words_part, _, sections_part = text.partition("|")
    words = words_part.split()[1:]
    sections = [s.strip() for s in sections_part.split("|")] if sections_part else []
    if len(words) < 2:
        return t("appointment_type_usage")
    name = words[0].lower()
    try:
        minutes = parse_minutes(words[1])
    except TimeProblem as e:
        return t(e.text_id, **e.values)
    video = any(w.lower() == "video" for w in words[2:])
    title = sections[0] if sections and sections[0] else name.capitalize()
    outcomes = (
        [o.strip() for o in sections[1].split(",") if o.strip()] if len(sections) > 1 else []
    )
    fields = list(CLIENT_FIELDS)
    if len(sections) > 2 and sections[2]:
        fields = [f.strip().lower() for f in sections[2].split(",") if f.strip()]
        if not set(fields) <= set(CLIENT_FIELDS):
            return t("appointment_type_bad_fields", fields=", ".join(CLIENT_FIELDS))
    problem = type_problem(name, title, minutes, outcomes)
    if problem or not storable_text(title):
        return t("appointment_type_bad", problem=problem or "title")
    await store.save_type(AppointmentType(name, title, minutes, video, outcomes, fields))
    return t("appointment_type_saved", name=name, minutes=str(minutes), video=video)


@registry.register("locatie", (CONTROL,), admin=True, aliases=("location",))
async def cmd_locatie(ctx: Context) -> str:
    t = ctx.bridge.t
    if not ctx.args or not MXID.match(ctx.args[0]):
        return t("location_usage")
    user = ctx.args[0]
    text = await typed_text(ctx, ("locatie", "location"))
    address = text.partition(" ")[2].strip()
    members = ctx.store.staff_members
    if not address:
        member = await members.get(user)
        return t("location_now", user=user, location=member.location or "—")
    if address.lower() in CLEAR:
        await members.set(user, location=None)
        return t("location_cleared", user=user)
    if len(address) > 300 or not storable_text(address):
        return t("appointment_too_long", limit="300")
    await members.set(user, location=address)
    return t("location_set", user=user, location=address)


@registry.register("email", ANY_ROOM)
async def cmd_email(ctx: Context) -> str:
    t = ctx.bridge.t
    members = ctx.store.staff_members
    if not ctx.args:
        member = await members.get(ctx.sender)
        return t("email_now", email=member.email or "—")
    if ctx.args[0].lower() in CLEAR:
        await members.set(ctx.sender, email=None)
        return t("email_cleared")
    try:
        address = check_address(ctx.args[0])
    except BadAddress:
        return t("appointment_bad_email")
    await members.set(ctx.sender, email=address)
    return t("email_set", email=address)


@registry.register("mails", (CONTROL,), admin=True)
async def cmd_mails(ctx: Context) -> str:
    t = ctx.bridge.t
    store = ctx.store.appointments
    if (
        len(ctx.args) == 2
        and ctx.args[0].lower() in ("retry", "opnieuw")
        and ctx.args[1].isdigit()
    ):
        if not await store.retry_mail(int(ctx.args[1])):
            return t("mails_no_such", nr=ctx.args[1][:12])
        ctx.services.appointments.woken_outbox()
        return t("mails_retrying", nr=ctx.args[1])
    failing = await store.failing_mails()
    if not failing:
        return t("mails_none_failing")
    lines = [t("mails_title")]
    for m in failing[:50]:
        lines.append(
            t(
                "mails_line",
                nr=str(m.id),
                kind=t(f"appointment_mail_{m.kind}"),
                attempts=str(m.attempts),
                given_up=m.failed_at is not None,
                error=(m.last_error or "")[:200],
            )
        )
    return "\n".join(lines)
