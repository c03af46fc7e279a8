"""Canned answers (S4): `#`, `#name`, `!canned add|remove|save`, against a real Synapse with
matrix-nio staff; the template checks and the store on both databases."""

from __future__ import annotations

import pytest

from laura_bot.commands.canned import Refused, check_template, fill
from laura_bot.commands.canned import variables as canned_variables
from laura_bot.db import Store
from laura_bot.db.canned import SHARED
from laura_bot.matrix.content import trim_reply_fallback

from .conftest import ON_POSTGRES, ON_SQLITE, Team
from .helpers import Staff, Visitor, is_msg, reply_to, secret

HOSTILE = (
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ config }}",
    "{{ self }}",
    "{{ lipsum.__globals__ }}",
    "{{ range(99999) }}",
    "{{ 9**9**9 }}",
    "{{ bezoeker|center(999999999) }}",
    "{{ bezoeker.__class__ }}",
    "{% for x in bezoeker %}{% endfor %}",
    "{% set bezoeker = 'x' %}{{ bezoeker }}",
)
SPREEKUUR = 'Het spreekuur is \'s ochtends, "vanaf" 8 uur.\nBel gerust.'
# What a leak of Python internals would look like in a text.
INTERNALS = ("class", "Template", "<", "function", "object at", "subclasses", "__")


async def command(staff: Staff, room: str, text: str, *expect: str) -> str:
    body = await reply_to(staff, room, await staff.send(room, text), text)
    for part in expect:
        assert part in body, body
    return body


def staff_messages(visitor: Visitor) -> list[str]:
    return [e["body"] for e in visitor.events if e["type"] == "message" and e["sender"] == "staff"]


async def nothing_new_for(visitor: Visitor, staff: Staff, room: str, marker: str) -> None:
    """Nothing reached the visitor before marker, a message staff send now: the events come in
    order, so whatever a command had sent would be there first."""
    before = len(staff_messages(visitor))
    await staff.send(room, marker)
    await visitor.wait_for(
        lambda e: e["type"] == "message" and e.get("body") == marker, what="the marker"
    )
    assert staff_messages(visitor)[before:] == [marker]


# Pure: the template checks ---------------------------------------------------------------------


def test_answers_fill_in_both_languages() -> None:
    values = canned_variables("Fenna", "Anna", "Huisartsenpraktijk")
    text = "Hoi {{ bezoeker }}, ik ben {{ medewerker|upper }} ({{ onderwerp }})."
    assert fill(text, values) == "Hoi Fenna, ik ben ANNA (Huisartsenpraktijk)."
    text = "Hi {{ visitor ~ '!' }} {% if staff == 'Anna' %}Anna here{% else %}?{% endif %}"
    assert fill(text, values) == "Hi Fenna! Anna here"
    assert fill("{{ topic|default('x') }} {# a note #}", values) == "Huisartsenpraktijk"


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_templates_are_refused(template: str) -> None:
    with pytest.raises(Refused) as refused:
        check_template(template)
    assert refused.value.text_id in (
        "canned_error_variable",
        "canned_error_construct",
        "canned_error_filter",
    )


def test_syntax_errors_are_refused_in_plain_words() -> None:
    with pytest.raises(Refused) as refused:
        fill("Hallo {{ bezoeker", canned_variables("a", "b", "c"))
    assert refused.value.text_id == "canned_error_syntax"
    assert refused.value.values["line"] == 1


def test_an_answer_that_fills_in_too_long_is_refused() -> None:
    """Within its 2000 characters, an answer can still repeat a variable many times over: what
    it fills in to is capped at the same length."""
    template = "{{ onderwerp }} " * 120
    assert len(template) <= 2000
    with pytest.raises(Refused) as refused:
        fill(template, canned_variables("a", "b", "x" * 80))
    assert refused.value.text_id == "canned_error_too_long"
    assert refused.value.values == {"limit": 2000}
    assert len(fill(template, canned_variables("a", "b", "Huisarts"))) <= 2000


def test_reply_fallback_is_stripped() -> None:
    fallback = "> <@a:b> eerder\n> meer\n\nmijn tekst\nregel 2"
    assert trim_reply_fallback(fallback, "$e") == "mijn tekst\nregel 2"
    assert trim_reply_fallback("gewoon\n> geen fallback", "$e") == "gewoon\n> geen fallback"


# The store on both engines ---------------------------------------------------------------------


async def test_store_department_before_shared(store: Store) -> None:
    canned = store.canned
    assert await canned.add(SHARED, "groet", "Hallo allemaal", "@admin:x")
    assert await canned.add("huisarts", "groet", "Hallo van de huisarts", "@anna:x")
    assert await canned.add("huisarts", "adres", "Dorpsstraat 1", "@anna:x")
    assert await canned.add("thuiszorg", "zorg", "Thuiszorg", "@carla:x")
    # The database decides: a second answer by that name is refused, not overwritten.
    assert not await canned.add("huisarts", "groet", "Anders", "@bram:x")

    one = await canned.get_by_name("groet", "huisarts")
    assert one and one.text == "Hallo van de huisarts"
    one = await canned.get_by_name("groet", "thuiszorg")
    assert one and one.text == "Hallo allemaal"
    assert await canned.get_by_name("zorg", "huisarts") is None

    mine = [(a.department_id, a.name) for a in await canned.all_for_department("huisarts")]
    assert mine == [("huisarts", "adres"), ("huisarts", "groet"), (SHARED, "groet")]
    assert [a.department_id for a in await canned.all()] == [
        "",
        "huisarts",
        "huisarts",
        "thuiszorg",
    ]

    assert await canned.remove("huisarts", "groet")
    assert not await canned.remove("huisarts", "groet")
    one = await canned.get_by_name("groet", "huisarts")
    assert one and one.department_id == SHARED


# Against Synapse -------------------------------------------------------------------------------


@pytest.mark.synapse
@ON_SQLITE
async def test_canned_answers_in_a_consult(team: Team) -> None:
    admin, anna = team["admin"], team["anna"]
    control = team.rooms["control"]

    # Admins manage shared answers (and any department's) in the control room. The text is
    # kept exactly as typed: quotes, apostrophes and line breaks included.
    await command(
        admin,
        control,
        "!canned add welkom alle Welkom {{ bezoeker }}, fijn dat je er bent!",
        "opgeslagen voor alle afdelingen",
    )
    await command(
        admin,
        control,
        "!canned add spreekuur huisarts " + SPREEKUUR,
        "opgeslagen voor Huisartsenpraktijk",
    )
    stored = await team.laura.store.canned.get_by_name("spreekuur", "huisarts")
    assert stored and stored.text == 'Het spreekuur is \'s ochtends, "vanaf" 8 uur.\nBel gerust.'
    await command(admin, control, "!canned add x nergens Tekst", "geen afdeling")
    await command(admin, control, "!canned add Niet_Goed! alle Tekst", "geen geldige naam")
    await command(admin, control, "!canned add welkom alle Nog eens", "Er is al een")
    await command(admin, control, "!canned add lang alle " + "x" * 2001, "hoogstens 2000")
    await command(admin, control, "!canned add", "Gebruik: !canned")
    listing = await command(admin, control, "!canned", "alle afdelingen:", "Huisartsenpraktijk:")
    assert "#welkom — Welkom {{ bezoeker }}" in listing and "#spreekuur" in listing

    # Anna adds one for her department in the consult room.
    visitor, room = await team.connected("Fenna")
    await command(
        anna,
        room,
        "!canned add groet Hoi {{ bezoeker }}, je spreekt met {{ medewerker }} over "
        "{{ onderwerp }}.",
        "#groet opgeslagen voor Huisartsenpraktijk",
    )
    await command(anna, room, "!canned add groet Iets anders", "Er is al een")
    await command(anna, room, "!canned help", "!canned save <naam>")

    # `#` lists hers, the department's and the shared ones, as a notice in the consult room.
    listing = await command(anna, room, "#", "Standaardantwoorden", "#groet", "#welkom")
    assert "#spreekuur — Het spreekuur is 's ochtends" in listing
    assert listing.index("#groet") < listing.index("#welkom")  # the department's first

    # `#groet` reaches the visitor filled in; the room shows exactly what the visitor got.
    conv = await team.laura.store.conversations.get_by_room(room)
    assert conv
    name = await team.laura.store.staff.name_of(conv.id, anna.user_id)
    expected = f"Hoi Fenna, je spreekt met {name} over Huisartsenpraktijk."
    secret(expected)
    await command(anna, room, "#groet", "#groet verstuurd")
    got = await visitor.wait_for(
        lambda e: e["type"] == "message" and e["sender"] == "staff", what="the canned answer"
    )
    assert got["body"] == expected and got["name"] == name
    copy = await anna.wait_for(is_msg(room, body_has=expected, msgtype="m.notice"), what="copy")
    assert copy["sender"] != anna.user_id and name in copy["content"]["body"]
    await command(anna, room, "#welkom", "#welkom verstuurd")
    await visitor.wait_for(
        lambda e: e["type"] == "message" and e.get("body") == "Welkom Fenna, fijn dat je er bent!"
    )

    # An unknown name sends nothing and says which names exist.
    await command(anna, room, "#bestaatniet", "niets verstuurd", "#groet", "#spreekuur")
    await command(anna, room, "#groet en meer", "Niets verstuurd")
    await nothing_new_for(visitor, anna, room, "Eerste controlebericht voor de bezoeker.")

    # Hostile templates are refused when saved, in plain words, and nothing is stored.
    for i, template in enumerate(HOSTILE):
        body = await command(anna, room, f"!canned add boos{i} {template}", "niet opgeslagen")
        assert "Traceback" not in body and "jinja2" not in body
    await command(anna, room, "!canned add kapot Hoi {{ bezoeker", "opmaak klopt niet")
    await command(admin, control, "!canned add cfg alle {{ config }}", "geen bekende variabele")
    names = {a.name for a in await team.laura.store.canned.all()}
    assert not {n for n in names if n.startswith(("boos", "kapot", "cfg"))}, names
    # One slipped into the database past the command (an operator's SQL, say) is checked again
    # when sent: nothing goes out, the reply says why.
    await team.laura.store.canned.add("huisarts", "sluip", "{{ self }}", "@operator:x")
    await command(anna, room, "#sluip", "niet verstuurd", "geen bekende variabele")
    await nothing_new_for(visitor, anna, room, "Tweede controlebericht voor de bezoeker.")
    for body in staff_messages(visitor):
        assert not any(marker in body for marker in INTERNALS), body

    # `!canned save` as a reply to her own message keeps that message's text.
    own_text = "Ik zoek het even voor je uit, een ogenblik geduld alsjeblieft."
    own = await anna.send(room, own_text)
    await visitor.wait_for(lambda e: e["type"] == "message" and e.get("body") == own_text)
    save = {
        "msgtype": "m.text",
        "body": "!canned save geduld",
        "m.relates_to": {"m.in_reply_to": {"event_id": own}},
    }
    saved = await anna.send_raw(room, "m.room.message", save)
    assert saved
    assert "#geduld opgeslagen" in await reply_to(anna, room, saved, "save")
    stored = await team.laura.store.canned.get_by_name("geduld", "huisarts")
    assert stored and stored.text == own_text and stored.created_by == anna.user_id
    # Not a reply; a reply to someone else's message (the visitor's): refused, nothing saved.
    await command(anna, room, "!canned save los", "als antwoord (reply)")
    await visitor.say("Dit is een vraag van de bezoeker zelf.")
    theirs = await anna.wait_for(is_msg(room, body_has="vraag van de bezoeker zelf"))
    save = {**save, "body": "!canned save hunne"}
    save["m.relates_to"] = {"m.in_reply_to": {"event_id": theirs["event_id"]}}
    refused = await anna.send_raw(room, "m.room.message", save)
    assert refused
    assert "eigen berichten" in await reply_to(anna, room, refused, "save of theirs")
    assert await team.laura.store.canned.get_by_name("hunne", "huisarts") is None

    # Remove: the department's in the consult room, shared ones in the control room.
    await command(anna, room, "!canned remove groet", "#groet verwijderd")
    await command(anna, room, "!canned remove groet", "niets verwijderd")
    await command(anna, room, "!canned remove welkom", "niets verwijderd")  # not hers to remove
    await command(admin, control, "!canned remove welkom alle", "#welkom verwijderd")
    listing = await command(anna, room, "#", "#geduld", "#spreekuur")
    assert "#groet" not in listing and "#welkom" not in listing
    await command(anna, room, "#groet", "niets verstuurd")

    # After the end nothing is sent.
    await command(anna, room, "!close", "gesloten")
    await visitor.wait_status("ended")
    before = len(staff_messages(visitor))
    await command(anna, room, "#geduld", "beëindigd", "niet verstuurd")
    await visitor.poll(timeout=1)
    assert len(staff_messages(visitor)) == before


@pytest.mark.synapse
@ON_POSTGRES
async def test_help_lists_the_canned_commands(team: Team) -> None:
    _, room = await team.connected("Gijs")
    help_text = await command(team["anna"], room, "!help", "#, #naam", "!canned")
    assert "standaardantwoorden" in help_text
    await command(team["admin"], team.rooms["control"], "!help", "!canned")
