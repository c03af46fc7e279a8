"""Cases (S14) and unclosed chats (S16) against a real Synapse, staff in matrix-nio: `!case`
stores subject, category and notes that never reach the visitor, `!cases` lists and exports
them, `!open` finds a chat whose visitor vanished and ends it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from laura_bot.commands.cases import _age, _parse, _Refused
from laura_bot.errors import ConfigError
from laura_bot.util import now_ms

from .conftest import Team
from .helpers import is_msg, secret
from .test_config import load

CATEGORIES = ["Medisch", "Administratief", "Klacht", "Overig"]


# Without Synapse ------------------------------------------------------------------------------


def test_parse_one_line_form() -> None:
    assert _parse("Recept | medisch | bel terug | na 17u", CATEGORIES) == (
        "Recept",
        "Medisch",
        "bel terug | na 17u",
    )
    assert _parse(" Recept |KLACHT| ", CATEGORIES) == ("Recept", "Klacht", None)
    for text, text_id in [
        ("| Medisch | x", "case_no_subject"),
        ("Recept", "case_no_category"),
        ("Recept | ", "case_no_category"),
        ("Recept | Spoed", "case_bad_category"),
        ("x" * 201 + " | Overig", "case_too_long"),
        ("Recept\x00 | Overig", "case_bad_text"),
    ]:
        with pytest.raises(_Refused) as refused:
            _parse(text, CATEGORIES)
        assert refused.value.text_id == text_id, text


def test_age() -> None:
    assert [_age(ms) for ms in (-5, 40_000, 5 * 60_000, 7_500_000, 2 * 86_400_000)] == [
        "0s",
        "40s",
        "5m",
        "2h 5m",
        "2d 0h",
    ]


def test_case_categories_are_validated(tmp_path: Path) -> None:
    config = load(tmp_path)
    config.validate()
    assert config["laura.case_categories"] == CATEGORIES
    for bad in ([], "Medisch", ["x" * 41], [""], ["A|B"], [3]):
        with pytest.raises(ConfigError, match="laura.case_categories"):
            load(tmp_path, laura__case_categories=bad).validate()


# Against Synapse ------------------------------------------------------------------------------


@pytest.mark.synapse
async def test_case_saved_listed_and_exported(team: Team) -> None:
    anna, admin = team["anna"], team["admin"]
    control = team.rooms["control"]
    visitor, room = await team.connected("Fenna")
    email = "fenna.devries@example.org"
    secret(email)
    await team.laura.store.db.execute(
        "UPDATE session SET email=$2 WHERE id=$1", visitor.session_id, email
    )
    question = "Mijn herhaalrecept metformine is bijna op"
    await visitor.say(question)
    await anna.wait_for(is_msg(room, body_has="metformine"), what="the visitor's question")

    # "!case" alone asks step by step; a one-line case that misses a part says what is
    # missing or wrong, and nothing is saved.
    await anna.send(room, "!case")
    await anna.wait_for(
        is_msg(room, body_has="stap 1 van 3", msgtype="m.notice"),
        what="the first question",
    )
    await anna.send(room, "!case Herhaalrecept")
    await anna.wait_for(
        is_msg(room, body_has="de categorie ontbreekt", msgtype="m.notice"), what="no category"
    )
    await anna.send(room, "!case Herhaalrecept | Spoed | iets")
    refused = await anna.wait_for(
        is_msg(room, body_has="“Spoed” is geen categorie", msgtype="m.notice"),
        what="the refusal",
    )
    assert "Medisch, Administratief, Klacht, Overig" in refused["content"]["body"]
    assert await team.laura.store.cases.count() == 0

    notes = "Intern: patiënt belt vaker, huisarts Jansen terugbellen vóór vrijdag | prio"
    secret(notes)
    await anna.send(room, f'!case Herhaalrecept "metformine" | medisch | {notes}')
    saved = await anna.wait_for(
        is_msg(room, body_has="Casus opgeslagen", msgtype="m.notice"), what="the saved case"
    )
    reply = saved["content"]["body"]
    assert '“Herhaalrecept "metformine"” (Medisch)' in reply  # quotes kept, category as set
    assert "interne notities" in reply and "Jansen" not in reply

    (listed,) = await team.laura.store.cases.all_newest(10)
    case = listed.case
    assert (case.subject, case.category, case.notes) == (
        'Herhaalrecept "metformine"',
        "Medisch",
        notes,
    )
    assert case.email == email and case.created_by == anna.user_id
    session = await team.laura.store.sessions.get_by_id(visitor.session_id)
    assert session and case.conversation_id == session.conversation_id
    audit = await team.laura.store.audit.of_conversation(case.conversation_id)
    assert [(a.action, a.actor, a.detail) for a in audit if a.action == "case_saved"] == [
        ("case_saved", anna.user_id, case.id)
    ]

    # The visitor never sees the notes (nor the command): a later message arrives, nothing
    # from the case before it.
    await anna.send(room, "Ik zet het recept klaar bij de apotheek.")
    await visitor.wait_for(
        lambda e: e.get("sender") == "staff" and "apotheek" in str(e.get("body")),
        what="the staff message",
    )
    await visitor.poll(timeout=1)
    seen = json.dumps(visitor.events, ensure_ascii=False)
    assert "Jansen" not in seen and "Intern" not in seen and "!case" not in seen
    assert "Herhaalrecept" not in seen

    # Admins list the cases, newest first, with department and who saved it.
    await admin.send(control, "!cases")
    overview = await admin.wait_for(
        is_msg(control, body_has="Casussen, nieuwste eerst", msgtype="m.notice"), what="!cases"
    )
    body = overview["content"]["body"]
    assert "1. " in body and 'Herhaalrecept "metformine" · Medisch' in body
    assert "Huisartsenpraktijk" in body and anna.user_id in body and "Jansen" not in body

    # JSON: the case's fields and the whole history.
    await admin.send(control, "!cases export 1 json")
    made = await admin.wait_for(
        lambda e: (
            is_msg(control, msgtype="m.file")(e)
            and e["content"].get("info", {}).get("mimetype") == "application/json"
        ),
        what="the JSON export",
    )
    assert made["content"]["body"] == f"casus-{case.id[:8]}.json"
    export = json.loads(await admin.download(made["content"]["url"]))
    assert export["case"]["notes"] == notes and export["case"]["category"] == "Medisch"
    assert export["case"]["email"] == email
    assert export["conversation"]["department"] == "Huisartsenpraktijk"
    said = [h for h in export["history"] if h["type"] == "message" and h["sender"] == "visitor"]
    assert [h["body"] for h in said] == [question]
    assert any("apotheek" in (h["body"] or "") for h in export["history"])
    await admin.wait_for(
        is_msg(control, body_has="staat hierboven: casus-", msgtype="m.notice"), what="reply"
    )

    # PDF: the transcript; the case's own fields in the reply next to it.
    await admin.send(control, "!cases export 1 pdf")
    made = await admin.wait_for(
        lambda e: (
            is_msg(control, msgtype="m.file")(e)
            and e["content"].get("info", {}).get("mimetype") == "application/pdf"
        ),
        what="the PDF export",
    )
    data = await admin.download(made["content"]["url"])
    assert data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "metformine" in text and "Fenna" in text
    fields = await admin.wait_for(
        is_msg(control, body_has="interne notities:", msgtype="m.notice"), what="the fields"
    )
    assert notes in fields["content"]["body"]
    actions = [
        a.action for a in await team.laura.store.audit.of_conversation(case.conversation_id)
    ]
    assert actions.count("case_exported") == 2

    await admin.send(control, "!cases export 7 json")
    await admin.wait_for(is_msg(control, body_has="Er is geen casus 7"), what="unknown case")
    await admin.send(control, "!cases export 1 docx")
    await admin.wait_for(is_msg(control, body_has="Gebruik !cases"), what="usage")


@pytest.mark.synapse
async def test_open_lists_and_ends_a_vanished_chat(team: Team) -> None:
    admin, control = team["admin"], team.rooms["control"]
    store = team.laura.store
    visitor, _room = await team.connected("Gijs")
    session = await store.sessions.get_by_id(visitor.session_id)
    assert session and session.conversation_id
    conv_id = session.conversation_id
    # The visitor vanished two hours ago.
    two_hours_ago = now_ms() - 2 * 3600 * 1000
    await store.db.execute(
        "UPDATE conversation SET created_at=$2, taken_at=$2, last_activity_at=$2 WHERE id=$1",
        conv_id,
        two_hours_ago,
    )
    # A visitor who only just started waits in the queue: not (yet) listed by default.
    waiting = await team.visitor(name="Hanna")
    await waiting.wait_status("waiting")

    await admin.send(control, "!open")
    listing = await admin.wait_for(
        is_msg(control, body_has="Nooit beëindigde gesprekken", msgtype="m.notice"),
        what="!open",
    )
    body = listing["content"]["body"]
    assert "1. Gijs · Huisartsenpraktijk · verbonden · 2h 0m oud" in body, body
    assert "Hanna" not in body and "casus opgeslagen" not in body

    await admin.send(control, "!case 1 Bezoeker verdwenen | klacht")
    await admin.wait_for(
        is_msg(control, body_has="Casus opgeslagen: “Bezoeker verdwenen” (Klacht)"),
        what="the case from !open",
    )
    (listed,) = await store.cases.all_newest(10)
    assert listed.case.conversation_id == conv_id and listed.case.notes is None

    await admin.send(control, "!open 1h")
    again = await admin.wait_for(
        is_msg(control, body_has="langer dan 1h stil", msgtype="m.notice"), what="!open 1h"
    )
    assert "1. Gijs" in again["content"]["body"]
    assert "casus opgeslagen" in again["content"]["body"]

    await admin.send(control, "!open end 1")
    await admin.wait_for(
        is_msg(control, body_has="wordt verwijderd met de bewaartermijn", msgtype="m.notice"),
        what="the end",
    )
    await visitor.wait_status("ended")
    conv = await store.conversations.get_by_id(conv_id)
    assert conv and conv.status == "ended" and conv.ended_by == "staff"
    await admin.send(control, "!open end 1")
    await admin.wait_for(is_msg(control, body_has="was al beëindigd"), what="already ended")

    # Any threshold: 0s lists the waiting visitor too; numbers outside the list are refused.
    await admin.send(control, "!open 0s")
    now_listed = await admin.wait_for(
        is_msg(control, body_has="langer dan 0s stil", msgtype="m.notice"), what="!open 0s"
    )
    assert "1. Hanna · Huisartsenpraktijk · wacht in de rij" in now_listed["content"]["body"]
    assert "Gijs" not in now_listed["content"]["body"]
    await admin.send(control, "!open end 5")
    await admin.wait_for(is_msg(control, body_has="Er is geen gesprek 5"), what="no chat 5")
    await admin.send(control, "!open straks")
    await admin.wait_for(is_msg(control, body_has="“straks” is geen duur"), what="bad duration")


async def test_case_step_by_step_by_replying_to_laura(team: Team) -> None:
    anna = team["anna"]
    visitor, room = await team.connected("Saar")
    notes = "Stap voor stap: interne notitie over de val van Saar"
    secret(notes)

    async def answer(question: dict, text: str) -> None:
        await anna.send_raw(
            room,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": text,
                "m.relates_to": {"m.in_reply_to": {"event_id": question["event_id"]}},
            },
        )

    await anna.send(room, "!case")
    subject_q = await anna.wait_for(is_msg(room, body_has="stap 1 van 3", msgtype="m.notice"))
    await answer(subject_q, "Valpartij thuis")
    category_q = await anna.wait_for(is_msg(room, body_has="Stap 2 van 3", msgtype="m.notice"))
    await answer(category_q, "bestaat niet")
    await anna.wait_for(is_msg(room, body_has="bestaat niet", msgtype="m.notice"))
    again = await anna.wait_for(
        lambda e: (
            is_msg(room, body_has="Stap 2 van 3", msgtype="m.notice")(e)
            and e["event_id"] != category_q["event_id"]
        )
    )
    await answer(again, "medisch")
    notes_q = await anna.wait_for(is_msg(room, body_has="Stap 3 van 3", msgtype="m.notice"))
    await answer(notes_q, notes)
    await anna.wait_for(is_msg(room, body_has="Valpartij thuis", msgtype="m.notice"))
    rows = await team.laura.store.db.fetch("SELECT subject, category, notes FROM case_record")
    assert [(r["subject"], r["category"], r["notes"]) for r in rows] == [
        ("Valpartij thuis", "Medisch", notes)
    ]
    # A reply to a notice of Laura's with no question open is held back too.
    await answer(subject_q, "Dit is voor de bezoeker bedoeld maar gaat niet door")
    await anna.wait_for(is_msg(room, body_has="gaat niet naar de bezoeker", msgtype="m.notice"))
    await anna.send(room, "Tot zover, ik ben er weer")
    await visitor.wait_for(lambda e: e.get("body") == "Tot zover, ik ben er weer")
    bodies = " ".join(str(e.get("body")) for e in visitor.events)
    assert "Valpartij" not in bodies and "interne notitie" not in bodies
    assert "niet door" not in bodies
