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

import aiohttp
import asyncpg
import icalendar
import pytest

from laura_bot.appointments.service import Booking, Overlap
from laura_bot.db import Store
from laura_bot.db.appointments import AppointmentType
from laura_bot.mail.catcher import MailCatcher

from .conftest import ON_POSTGRES, ON_SQLITE, Team
from .helpers import Staff, is_msg, reply_to, wait_until
from .test_monitor import direct_chat

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


async def ask(staff: Staff, room: str, command: str) -> str:
    """Send a command and return Laura's reply to it."""
    return await reply_to(staff, room, await staff.send(room, command), command)


# Days counted from the run's start, so one test's dates agree when midnight passes in it.
TODAY = datetime.now(TZ)


def day_after(days: int) -> str:
    return (TODAY + timedelta(days=days)).strftime("%d-%m-%Y")


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

    # The adviser's calendar feed: asked for in a direct chat only; the cancelled appointment
    # stays in it, marked cancelled, without the client's name or the title.
    assert "direct gesprek" in await ask(anna, room, "!agenda feed")
    direct = await direct_chat(team, "anna")
    made = await ask(anna, direct, "!agenda feed")
    url = next(w for w in made.split() if "/calendar/" in w)
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            assert resp.status == 200 and resp.content_type == "text/calendar"
            feed = icalendar.Calendar.from_ical(await resp.read())
        (entry,) = [e for e in feed.walk("VEVENT") if str(e["UID"]) == uid]
        assert str(entry["STATUS"]) == "CANCELLED" and str(feed["METHOD"]) == "PUBLISH"
        assert health not in str(entry["SUMMARY"]) and "Fenna" not in feed.to_ical().decode()
        renewed = await ask(anna, direct, "!agenda feed nieuw")
        async with http.get(url) as resp:
            assert resp.status == 404  # the old address no longer works
        assert "/calendar/" in renewed
    assert len(to(catcher, address)) == 3


@pytest.mark.synapse
@ON_SQLITE
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

    # Changing it, recording an outcome too early, a bad address: each reply says so.
    nr = appt.nr
    changed = await ask(anna, room, f"!afspraak wijzig {nr} | Nieuwe titel | thuis |")
    assert "is gewijzigd" in changed, changed
    edited = await team.laura.store.appointments.by_nr(nr)
    assert edited and (edited.title, edited.location_kind) == ("Nieuwe titel", "home")
    assert "nog niet begonnen" in await ask(anna, room, f"!afspraak uitkomst {nr} afgerond")
    assert "geen e-mailadres" in await ask(anna, room, f"!afspraak mail {nr} gijs@")
    assert "bestaat niet" in await ask(anna, room, "!afspraak annuleer 999")

    # Admins: a type, an adviser's default location, the mails; a booking for a case from
    # the control room lands at the adviser's default location.
    admin, control = team["admin"], team.rooms["control"]
    saved = await ask(
        admin, control, "!afspraaktype add huisbezoek 60m | Huisbezoek | afgerond, verwezen"
    )
    assert "huisbezoek opgeslagen" in saved, saved
    assert "Huisbezoek, 60 min" in await ask(admin, control, "!afspraaktype")
    assert "Kliniek Zuid" in await ask(admin, control, "!locatie @anna:localhost Kliniek Zuid")
    assert "Alle afspraakmails zijn verstuurd" in await ask(admin, control, "!mails")
    booked = await ask(
        admin, control, f"!afspraak case 1 huisbezoek {day_after(6)} 09:00 @anna:localhost"
    )
    assert "gepland op" in booked, booked
    (home_visit,) = [
        a
        for a in await team.laura.store.appointments.between(0, 2**62)
        if a.type_name == "huisbezoek"
    ]
    assert (home_visit.adviser, home_visit.location) == ("@anna:localhost", "Kliniek Zuid")


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
# Timers across a restart: the database is PostgreSQL, as in production (the run's time budget:
# the SQLite half waited the same 45 s for the same path).
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
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
        reply = await ask(admin, control, f"!set appointment_reminder_{side} 10m")
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

    # Laura stops at once. A's reminders fall due 10 minutes from now and A begins in 20,
    # both while she is down: no reminder. B's fall due while she is down too (in 20), but B
    # has not begun when she is back (in 30): sent, once. She is down for 25 minutes: rather
    # than wait them out, the test moves every time in her tables 25 minutes back while she
    # is down, which is what she finds when she is back (with minutes to spare either side,
    # however slow the machine).
    began = await laura.appointments.service.book(booking(20 * 60, "A"))
    later = await laura.appointments.service.book(booking(30 * 60, "B"))
    await mails_to(catcher, address, 2)  # the two confirmations
    await team.handle.stop()
    shift = 25 * 60_000 - int((datetime.now(TZ) - now).total_seconds() * 1000)
    conn = await asyncpg.connect(team.handle.db_url)
    try:
        await conn.execute("UPDATE appointment SET start_at=start_at-$1, end_at=end_at-$1", shift)
        await conn.execute("UPDATE appointment_reminder SET due_at=due_at-$1", shift)
    finally:
        await conn.close()
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


@pytest.mark.synapse
@pytest.mark.laura_config({"video.jitsi_url": "https://meet.example.org"})
@ON_POSTGRES
async def test_video_appointment_and_the_personal_page(team: Team) -> None:
    """The mail's link opens a page that a GET never changes (mail scanners open links);
    its actions are POSTs: joining only in the window, cancelling. Shortly before a video
    appointment the adviser gets a room of its own with the call, the same conference the
    client's join leads to."""
    anna = team["anna"]
    catcher = team.handle.env.mail
    laura = team.laura
    visitor, room = await team.connected("Joost")
    address = f"joost.{visitor.session_id[:8]}@example.org"
    await laura.store.db.execute(
        "UPDATE session SET email=$2 WHERE id=$1", visitor.session_id, address
    )
    assert "Casus opgeslagen" in await ask(anna, room, "!case Gesprek | Overig")
    booked = await ask(anna, room, f"!afspraak videogesprek {day_after(3)} 10:00")
    assert "gepland op" in booked, booked
    (mail,) = await mails_to(catcher, address, 1)
    link = str(event_of(calendar_of(mail)[1])["URL"])
    assert link.startswith(team.handle.api.removesuffix("/api/v1") + "/appointment/")
    async with aiohttp.ClientSession() as http:
        for _ in range(3):  # a scanner, the preview, the client: nothing changes
            async with http.get(link) as resp:
                assert resp.status == 200
                page = await resp.text()
                assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert "Uw afspraak" in page and 'method="post"' in page
        (appt,) = await laura.store.appointments.between(0, 2**62, anna.user_id)
        assert appt.status == "booked" and appt.version == 0
        async with http.get(link.replace(appt.id, "0" * len(appt.id))) as resp:
            assert resp.status == 404
        async with http.get(link[:-3] + "AAA") as resp:
            assert resp.status == 404
        # Days early: the call is not open yet.
        async with http.post(link + "/join", allow_redirects=False) as resp:
            assert resp.status == 200 and "10 minuten voor" in await resp.text()
        # The client cancels from the page: a CANCEL mail, the staff message follows.
        async with http.post(link + "/cancel") as resp:
            assert resp.status == 200 and "is geannuleerd" in await resp.text()
        mails = await mails_to(catcher, address, 2)
        assert calendar_of(mails[1])[0] == "CANCEL"
        await anna.wait_for(
            lambda e: (
                e.get("type") == "m.room.message"
                and "geannuleerd" in e["content"].get("m.new_content", {}).get("body", "")
            ),
            what="the message edited",
        )
        async with http.post(link + "/cancel") as resp:
            assert "al geannuleerd" in await resp.text()
        assert len(to(catcher, address)) == 2

        # A video appointment five minutes from now: its window is open, so its room opens.
        kind = await laura.store.appointments.get_type("videogesprek")
        assert kind
        soon = await laura.appointments.service.book(
            Booking(
                kind=kind,
                start=datetime.now(TZ) + timedelta(minutes=5),
                minutes=30,
                adviser=anna.user_id,
                created_by=anna.user_id,
                title="Videogesprek",
                location_kind="video",
                client_email=address,
                room_id=room,
            )
        )
        video_room = await anna.wait_invite()
        await anna.join(video_room)
        widget = await anna.wait_for(
            lambda e: (
                e.get("room_id") == video_room and e.get("type") == "im.vector.modular.widgets"
            ),
            what="the call's widget",
        )
        conference = laura.appointments.service.conference(soon.appointment)
        assert widget["content"]["data"]["conferenceId"] == conference
        await anna.wait_for(is_msg(video_room, body_has="staat open"), what="the notice")
        link = laura.appointments.service.link(soon.appointment.id)
        async with http.post(link + "/join", allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == f"https://meet.example.org/{conference}"


@pytest.mark.synapse
@pytest.mark.laura_config(
    {"appointments.booking.offer": "always", "appointments.booking.lead_time": "0s"}
)
async def test_visitor_books_a_conversation(team: Team) -> None:
    """A visitor lists free slots of a department's advisers and books one; two visitors
    racing for the same slot get one booking and one clear refusal; the adviser is told in
    the department's room, the client gets the invitation."""
    anna = team["anna"]
    catcher = team.handle.env.mail
    room = team.rooms["huisarts"]
    reply = await ask(anna, room, "!availability ma-zo 00:00-23:30")
    assert "00:00" in reply, reply
    first = await team.visitor(topic=None, name="Karin")
    second = await team.visitor(topic=None, name="Lotte")
    path = f"/sessions/{first.session_id}"
    _, listed = await first.call("GET", f"{path}/slots?topic=huisarts", expect=200)
    assert listed["timezone"] == "Europe/Amsterdam" and "phone" in listed["kinds"]
    slot = listed["slots"][2]
    assert datetime.fromisoformat(slot["start"]) > datetime.now(UTC)

    # What is wrong is said, and nothing is booked.
    for payload, code in (
        ({"kind": "fax"}, "bad_kind"),
        ({"start": "morgen"}, "bad_slot"),
        ({"start": "2020-01-01T10:00:00+01:00"}, "bad_slot"),
        ({"email": "karin at example"}, "bad_email"),
        ({"kind": "phone"}, "bad_phone"),
        ({"topic_id": "nergens"}, "unknown_topic"),
    ):
        body = {"topic_id": "huisarts", "kind": "chat", "start": slot["start"]}
        body |= {"email": "karin@example.org"} | payload
        status, answer = await first.call("POST", f"{path}/appointments", body)
        assert (status, answer["error"]["code"]) in ((400, code), (409, code)), (payload, answer)
    assert not await team.laura.store.appointments.between(0, 2**62)

    async def book(visitor: Any, address: str) -> tuple[int, dict[str, Any]]:
        return await visitor.call(
            "POST",
            f"/sessions/{visitor.session_id}/appointments",
            {
                "topic_id": "huisarts",
                "kind": "phone",
                "start": slot["start"],
                "email": address,
                "phone": "+31 6 1234 5678",
            },
        )

    # Addresses of these chats only: the mail catcher serves the whole test session.
    karin, lotte = (
        f"{n}.{v.session_id[:8]}@example.org" for n, v in (("karin", first), ("lotte", second))
    )
    results = await asyncio.gather(book(first, karin), book(second, lotte))
    assert sorted(status for status, _ in results) == [201, 409], results
    booked = next(body for status, body in results if status == 201)
    refused = next(body for status, body in results if status == 409)
    assert refused["error"]["code"] == "slot_taken"
    assert booked["location_kind"] == "phone" and booked["status"] == "booked"
    winner = first if results[0][0] == 201 else second
    address = karin if winner is first else lotte

    # The adviser hears of it in the department's room, with the number to call.
    told = await anna.wait_for(
        lambda e: (
            is_msg(room, body_has="via de website")(e) and "m.relates_to" not in e["content"]
        ),
        what="the booking in the department's room",
    )
    assert "+31 6 1234 5678" in told["content"]["body"]
    assert anna.user_id in told["content"].get("m.mentions", {}).get("user_ids", [])
    (mail,) = await mails_to(catcher, address, 1)
    assert calendar_of(mail)[0] == "REQUEST"
    # Booked inside the client's reminder time (24 h): the invitation is the reminder, and no
    # second mail follows it (a CI run saw one a moment later); the adviser's comes as usual.
    sides = {s for a, s, _ in await team.laura.store.appointments.pending_reminders(booked["id"])}
    done = await team.laura.store.db.fetch(
        "SELECT side FROM appointment_reminder WHERE appointment_id=$1", booked["id"]
    )
    assert "client" not in sides | {r["side"] for r in done}, (sides, done)
    shown = await winner.wait_for(lambda e: e["type"] == "appointment", what="the event")
    assert shown["appointment"]["id"] == booked["id"]
    _, mine = await winner.call("GET", f"/sessions/{winner.session_id}/appointments", expect=200)
    assert [a["id"] for a in mine["appointments"]] == [booked["id"]]
    # The slot is gone from the list; a second booking in the same chat is refused.
    _, again = await winner.call(
        "GET", f"/sessions/{winner.session_id}/slots?topic=huisarts", expect=200
    )
    assert slot["start"] not in [s["start"] for s in again["slots"]]
    status, answer = await winner.call(
        "POST",
        f"/sessions/{winner.session_id}/appointments",
        {
            "topic_id": "huisarts",
            "kind": "chat",
            "start": again["slots"][5]["start"],
            "email": address,
        },
    )
    assert status == 409 and answer["error"]["code"] == "already_booked", answer


def test_appointment_and_mail_config_is_checked(tmp_path: Path) -> None:
    """Each bad value names its key and how to fix it; the example's values are good."""
    from laura_bot.errors import ConfigError

    from .test_config import load

    load(tmp_path).validate()
    bad = {
        "mail__port": 0,
        "mail__security": "ssl",
        "mail__max_attempts": 0,
        "mail__reply_to": "niet een adres",
        "mail__templates": "/bestaat/niet",
        "appointments__types": [{"name": "Intake!", "title": "x", "minutes": 30}],
        "appointments__feed_details": "ja",
        "appointments__booking__offer": "soms",
        "appointments__booking__kinds": ["fax"],
        "appointments__booking__slot_minutes": 5,
        "appointments__booking__lead_time": "straks",
        "appointments__booking__horizon_days": 365,
    }
    for key, value in bad.items():
        with pytest.raises(ConfigError, match=key.replace("__", ".").split(".types")[0]):
            load(tmp_path, **{key: value}).validate()
    with pytest.raises(ConfigError, match="mail.from"):
        load(tmp_path, mail__host="smtp.example.org", mail__from="").validate()


def test_a_booked_chat_is_offered_to_its_adviser_first() -> None:
    """The planner (pure): in either mode the first ask of a booked chat is an offer to its
    adviser alone; once they let it pass, the chat is routed as any other; an adviser away
    or full is not waited for."""
    from laura_bot.dispatch.logic import BROADCAST, ONE_AT_A_TIME, Person, Round, plan

    people = [Person(u, True, 2, 0) for u in ("@anna:x", "@bram:x", "@carla:x")]
    for mode in (BROADCAST, ONE_AT_A_TIME):
        first = plan(mode, [Round("c", {}, None, "@bram:x")], people, {}, {})
        assert first.asks == [("c", "@bram:x")] and first.offers == {("c", "@bram:x")}
        held = plan(mode, [Round("c", {"@bram:x": None}, "@bram:x", "@bram:x")], people, {}, {})
        assert held.asks == []
        passed = plan(mode, [Round("c", {"@bram:x": "timeout"}, None, "@bram:x")], people, {}, {})
        expected = {"@anna:x", "@carla:x"} if mode == BROADCAST else {"@anna:x"}
        assert {u for _, u in passed.asks} == expected and not passed.offers
    away = [Person("@bram:x", False, 2, 0), *people[:1]]
    routed = plan(BROADCAST, [Round("c", {}, None, "@bram:x")], away, {}, {})
    assert routed.asks == [("c", "@anna:x")] and not routed.offers


@pytest.mark.synapse
@pytest.mark.laura_config({"laura.settings.offer_timeout": "10s"})
@ON_POSTGRES
async def test_a_booked_chat_opens_at_its_time(team: Team) -> None:
    """At the time of a chat the visitor booked, their chat opens on the topic as if they had
    just chosen it, offered first to the adviser; when that adviser lets it pass, the rest of
    the department is asked."""
    anna, bram = team["anna"], team["bram"]
    room = team.rooms["huisarts"]
    laura = team.laura
    visitor = await team.visitor(topic=None, name="Mira")
    session = await laura.store.sessions.get_by_id(visitor.session_id)
    assert session and session.conversation_id
    kind = await laura.appointments.booking._type()
    await laura.appointments.service.book(
        Booking(
            kind=kind,
            start=datetime.now(TZ) + timedelta(seconds=3),
            minutes=30,
            adviser=bram.user_id,
            created_by="visitor",
            title=kind.title,
            location_kind="chat",
            conversation_id=session.conversation_id,
            session_id=session.id,
            department_id="huisarts",
            client_email="mira@example.org",
            room_id=room,
        )
    )
    await visitor.wait_status("waiting", timeout=30)
    request = await bram.wait_for(
        lambda e: (
            is_msg(room, body_has="van Mira", msgtype="m.text")(e)
            and "m.relates_to" not in e["content"]
        ),
        what="the request",
    )
    assert request["content"]["m.mentions"]["user_ids"] == [bram.user_id]
    # Bram lets it pass: Anna is asked.
    ping = await anna.wait_for(
        lambda e: (
            is_msg(room, msgtype="m.text")(e)
            and anna.user_id in e["content"].get("m.mentions", {}).get("user_ids", [])
            and e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            == request["event_id"]
        ),
        timeout=40,
        what="Anna asked after the offer to Bram passed",
    )
    assert bram.user_id not in ping["content"]["m.mentions"]["user_ids"]
