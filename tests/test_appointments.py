"""Appointments (#24) against a real Synapse and a real SMTP server (aiosmtpd in this process),
staff in matrix-nio, every mail parsed back with `email` and `icalendar`: book → move → cancel
from Element reaches the client as three mails a calendar reads as one event; the DST gap and
the autumn hour; double booking refused, also when two bookings race, on SQLite and
PostgreSQL; reminders kept across a restart and sent once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from laura_bot.appointments.service import Booking, Overlap
from laura_bot.db import Store
from laura_bot.db.appointments import AppointmentType
from laura_bot.mail.catcher import MailCatcher

from .conftest import Team
from .helpers import is_msg, wait_until

TZ = ZoneInfo("Europe/Amsterdam")


def to(catcher: MailCatcher, address: str) -> list[EmailMessage]:
    return [m for m in catcher.messages if address in str(m["To"])]


async def mails_to(catcher: MailCatcher, address: str, count: int) -> list[EmailMessage]:
    async def again() -> None:
        await asyncio.sleep(0.2)

    await wait_until(
        lambda: to(catcher, address)[count - 1 :] or None, again, 30, f"{count} mails"
    )
    return to(catcher, address)


def calendar_of(msg: EmailMessage) -> tuple[str, icalendar.Calendar]:
    """(the MIME method parameter, the parsed calendar) of a mail's text/calendar part."""
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert parts, "no text/calendar part"
    part = parts[0]
    cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    return str(part.get_param("method")), cal


def event_of(cal: icalendar.Calendar) -> icalendar.Event:
    (event,) = list(cal.walk("VEVENT"))
    return event


async def ask(staff: Any, room: str, command: str) -> str:
    """Send a command and return Laura's reply to it."""
    event_id = await staff.send(room, command)
    reply = await staff.wait_for(
        lambda e: (
            e.get("room_id") == room
            and e.get("type") == "m.room.message"
            and e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            == event_id
        ),
        what=f"the reply to {command}",
    )
    return str(reply["content"]["body"])


def day_after(days: int) -> str:
    return (datetime.now(TZ) + timedelta(days=days)).strftime("%d-%m-%Y")


@pytest.mark.synapse
async def test_book_move_cancel_from_element(team: Team) -> None:
    anna, bram = team["anna"], team["bram"]
    catcher = team.handle.env.mail
    visitor, room = await team.connected("Fenna")
    address = f"fenna.{visitor.session_id[:8]}@example.org"
    await team.laura.store.db.execute(
        "UPDATE session SET email=$2 WHERE id=$1", visitor.session_id, address
    )
    assert "anna.adviseur@zorg.example" in await ask(
        anna, room, "!email anna.adviseur@zorg.example"
    )
    assert "geen e-mailadres" in await ask(anna, room, "!email Anna <a@b.example>")

    # No case yet: Laura asks for one first.
    assert "heeft er nog geen" in await ask(anna, room, f"!afspraak intake {day_after(3)} 10:00")
    assert "Casus opgeslagen" in await ask(anna, room, "!case Zorgplan | Medisch")

    # Asked without arguments, the command explains itself and names the types.
    usage = await ask(anna, room, "!afspraak")
    assert "intake (45 min)" in usage and "videogesprek (30 min, video)" in usage

    health = "Bespreken insulinedosering"
    booked = await ask(
        anna,
        room,
        f"!afspraak intake {day_after(3)} 10:00 | {health} | Dorpsstraat 1 | Neem pasje mee",
    )
    assert "gepland op" in booked and "bevestiging gaat per mail" in booked, booked
    appt = (
        await team.laura.store.appointments.of_conversation(
            (await team.laura.store.sessions.get_by_id(visitor.session_id)).conversation_id  # type: ignore[union-attr]
        )
    )[0]
    nr = appt.nr

    # Laura's own message about it in the room, and an overlapping booking refused.
    message = await anna.wait_for(
        lambda e: (
            is_msg(room, body_has=f"📅 Afspraak #{nr}:")(e) and "m.relates_to" not in e["content"]
        ),
        what="the appointment's message",
    )
    assert health in message["content"]["body"]
    overlap = await ask(anna, room, f"!afspraak intake {day_after(3)} 10:30")
    assert f"valt samen met #{nr}" in overlap, overlap

    # The client's mail and the adviser's copy: one REQUEST each, SEQUENCE 0.
    (first,) = await mails_to(catcher, address, 1)
    await mails_to(catcher, "anna.adviseur@zorg.example", 1)
    method, cal = calendar_of(first)
    event = event_of(cal)
    assert method == "REQUEST" == str(cal["METHOD"])
    uid = str(event["UID"])
    assert int(event["SEQUENCE"]) == 0
    assert (
        address in str(event["ATTENDEE"])
        if not isinstance(event["ATTENDEE"], list)
        else any(address in str(a) for a in event["ATTENDEE"])
    )
    assert "afspraken@zorg.example" in str(event["ORGANIZER"])
    assert health not in str(event["SUMMARY"]) and health not in str(first["Subject"])
    start = event.decoded("DTSTART")
    assert start.tzinfo is not None and start.astimezone(TZ).hour == 10
    assert cal.walk("VTIMEZONE"), "no VTIMEZONE"

    # The visitor's chat shows it as its own kind of event.
    shown = await visitor.wait_for(lambda e: e["type"] == "appointment", what="appointment event")
    assert shown["appointment"]["status"] == "booked"
    assert "internal" not in str(shown)

    # Moved: same UID, SEQUENCE 1. Cancelled: CANCEL, SEQUENCE 2.
    assert "is verzet naar" in await ask(anna, room, f"!afspraak verzet {nr} {day_after(4)} 11:00")
    assert "is geannuleerd" in await ask(anna, room, f"!appointment cancel {nr}")
    mails = await mails_to(catcher, address, 3)
    assert len(mails) == 3
    seen = []
    for msg in mails:
        method, cal = calendar_of(msg)
        event = event_of(cal)
        seen.append((method, str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"])))
    assert seen == [
        ("REQUEST", "REQUEST", uid, 0),
        ("REQUEST", "REQUEST", uid, 1),
        ("CANCEL", "CANCEL", uid, 2),
    ]
    assert event_of(calendar_of(mails[1])[1]).decoded("DTSTART").astimezone(TZ).hour == 11

    # The message was edited to the cancelled state; the thread logs the mails.
    await anna.wait_for(
        lambda e: (
            e.get("type") == "m.room.message"
            and e["content"].get("m.relates_to", {}).get("rel_type") == "m.replace"
            and "geannuleerd" in e["content"].get("m.new_content", {}).get("body", "")
        ),
        what="the message edited",
    )
    await anna.wait_for(is_msg(room, body_has="Annulering gemaild aan f…@example.org"), what="log")

    # Nothing further changes a cancelled appointment; a colleague elsewhere may not touch it.
    moved = await ask(anna, room, f"!afspraak verzet {nr} {day_after(5)} 11:00")
    assert "kan niet meer veranderen" in moved
    assert "is niet van jou" in await ask(bram, team.rooms["huisarts"], f"!afspraak annuleer {nr}")
    agenda = await ask(anna, room, f"!agenda {day_after(4)}")
    assert f"#{nr} " in agenda and "geannuleerd" in agenda, agenda
    assert len(to(catcher, address)) == 3


@pytest.mark.synapse
async def test_times_that_do_not_exist_or_exist_twice(team: Team) -> None:
    anna = team["anna"]
    visitor, room = await team.connected("Gijs")
    assert "Casus opgeslagen" in await ask(anna, room, "!case Gesprek | Overig")
    year = datetime.now(TZ).year + 1
    # The last Sunday of March: the clock jumps from 02:00 to 03:00.
    march = max(d for d in range(25, 32) if datetime(year, 3, d).weekday() == 6)
    october = max(d for d in range(25, 32) if datetime(year, 10, d).weekday() == 6)
    gap = await ask(anna, room, f"!afspraak intake {march:02d}-03-{year} 02:30")
    assert "bestaat niet" in gap, gap
    asked = await ask(anna, room, f"!afspraak intake {october:02d}-10-{year} 02:30")
    assert "twee keer" in asked and "02:30+02:00" in asked and "02:30+01:00" in asked, asked
    booked = await ask(anna, room, f"!afspraak intake {october:02d}-10-{year} 02:30+01:00")
    assert "gepland op" in booked, booked
    (appt,) = [
        a
        for a in await team.laura.store.appointments.between(0, 2**62)
        if a.created_by == anna.user_id and datetime.fromtimestamp(a.start_at / 1000).month == 10
    ]
    assert datetime.fromtimestamp(appt.start_at / 1000, UTC).hour == 1  # 02:30+01:00 = 01:30Z


async def _service_parts(store: Store, tmp_path: Path) -> Any:
    from laura_bot.appointments.mails import AppointmentMails
    from laura_bot.appointments.service import Appointments
    from laura_bot.notifier import Notifier
    from laura_bot.settings import Settings

    from .test_config import load

    config = load(tmp_path)

    async def nothing(*_: Any) -> None:
        return None

    return Appointments(
        config,
        store,
        Settings(config, store.settings),
        Notifier(),
        AppointmentMails(config, store),
        nothing,
        lambda: None,
    )


async def test_double_booking_race(store: Store, tmp_path: Path) -> None:
    """Ten bookings of one adviser at once for overlapping times: exactly one is booked, the
    others are refused, on SQLite and on PostgreSQL."""
    service = await _service_parts(store, tmp_path)
    kind = AppointmentType("intake", "Intake", 45, False, [], ["title"])
    await store.appointments.save_type(kind)
    start = datetime.now(TZ).replace(microsecond=0) + timedelta(days=2)

    async def book(i: int) -> str:
        try:
            await service.book(
                Booking(
                    kind=kind,
                    start=start + timedelta(minutes=i),
                    minutes=45,
                    adviser="@anna:localhost",
                    created_by=f"@staff{i}:localhost",
                    title="Intake",
                    location_kind="address",
                    location="Dorpsstraat 1",
                )
            )
            return "booked"
        except Overlap:
            return "refused"

    results = await asyncio.gather(*(book(i) for i in range(10)))
    assert sorted(results) == ["booked"] + ["refused"] * 9
    # Another adviser at the same time is fine; so is the same adviser right after.
    for adviser, minutes in (("@bram:localhost", 0), ("@anna:localhost", 60)):
        await service.book(
            Booking(
                kind=kind,
                start=start + timedelta(minutes=minutes),
                minutes=45,
                adviser=adviser,
                created_by=adviser,
                title="Intake",
                location_kind="address",
                location="x",
            )
        )
    assert len(await store.appointments.between(0, 2**62)) == 3


@pytest.mark.synapse
async def test_reminders_across_a_restart(team: Team) -> None:
    """A reminder that falls due while Laura is down goes out when she is back, once; one
    whose appointment began meanwhile does not; the adviser is reminded in Matrix."""
    anna = team["anna"]
    catcher = team.handle.env.mail
    visitor, room = await team.connected("Hanna")
    address = f"hanna.{visitor.session_id[:8]}@example.org"
    await team.laura.store.db.execute(
        "UPDATE session SET email=$2 WHERE id=$1", visitor.session_id, address
    )
    assert "Casus opgeslagen" in await ask(anna, room, "!case Controle | Medisch")
    admin = team["admin"]
    control = team.rooms["control"]
    for side in ("client", "adviser"):
        reply = await ask(admin, control, f"!set appointment_reminder_{side} 20s")
        assert f"appointment_reminder_{side}" in reply, reply
    laura = team.laura
    session = await laura.store.sessions.get_by_id(visitor.session_id)
    assert session and session.conversation_id
    case = await laura.store.cases.of_conversation(session.conversation_id)
    assert case
    kind = await laura.store.appointments.get_type("intake")
    assert kind
    now = datetime.now(TZ)

    def booking(seconds: int, title: str) -> Booking:
        return Booking(
            kind=kind,
            start=now + timedelta(seconds=seconds),
            minutes=30,
            adviser=anna.user_id,
            created_by=anna.user_id,
            title=title,
            location_kind="address",
            location="Dorpsstraat 1",
            case_id=case.id,
            conversation_id=case.conversation_id,
            session_id=visitor.session_id,
            client_email=address,
            room_id=room,
            allow_overlap=True,
        )

    # Laura stops at once. A's reminders fall due 20 s from now and A begins 40 s from now,
    # both while she is down: no reminder. B's fall due while she is down too (35 s), but B
    # has not begun when she is back (55 s): sent, once. (Laura still runs its clock while
    # it stops, so nothing falls due in the first seconds.)
    began = await laura.appointments.service.book(booking(40, "A"))
    later = await laura.appointments.service.book(booking(55, "B"))
    await mails_to(catcher, address, 2)  # the two confirmations
    await team.handle.stop()
    await asyncio.sleep(max(0.0, (now + timedelta(seconds=42) - datetime.now(TZ)).total_seconds()))
    laura = await team.handle.start()
    mails = await mails_to(catcher, address, 3)
    await anna.wait_for(
        is_msg(room, body_has=f"afspraak #{later.appointment.nr}"), what="the adviser's reminder"
    )
    await asyncio.sleep(3)
    assert len(to(catcher, address)) == 3, [m["Subject"] for m in mails]
    pending = {r[0] for r in await laura.store.appointments.pending_reminders()}
    assert not pending & {began.appointment.id, later.appointment.id}
    reminders = [
        e
        for e in anna.events
        if is_msg(room, body_has="⏰")(e) and f"#{began.appointment.nr} " in e["content"]["body"]
    ]
    assert not reminders, "a reminder for an appointment that had begun"
