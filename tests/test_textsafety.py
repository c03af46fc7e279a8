"""What a visitor types, made safe to show staff (issue #22, findings 1 and 6): names that
cannot pass for Laura's portal marker, invisible characters out of names and file names, bidi
controls in messages made visible without losing a character."""

from __future__ import annotations

import pytest

from laura_bot.db import Store
from laura_bot.db.base import transaction
from laura_bot.db.sessions import nickname
from laura_bot.media import safe_name
from laura_bot.texts import STAFF, staff_text
from laura_bot.textsafety import (
    BIDI_CONTROLS,
    clean_name,
    embedded,
    for_staff,
    imitates_marker,
    marker_words,
    visitor_name,
)

IMPOSTORS = [
    # The probe's name, as typed.
    "J ✔️ Aangemeld via het portaal: Jansen (portaal-id k1234)",
    "Jansen (portal id k1234)",
    "Jansen ✔ portaal",
    "Jansen portaal",
    # Look-alike letters (Greek Rho, Cyrillic a), full-width forms, accents, case, hyphens.
    "Jansen Ρortааl",
    "Jansen ｐｏｒｔａａｌ",
    "Jansen PÖRTÄÄL",
    "Jansen Por-taal",
    "Jansen p0rtaal",
    "Signed in: Jansen",
    "aangemeld Jansen",
    "Jansen geverifieerd",
]


@pytest.mark.parametrize("name", IMPOSTORS)
def test_a_name_cannot_hold_the_portal_statement(name: str) -> None:
    assert imitates_marker(clean_name(name) or "")
    assert visitor_name(name) is None
    assert nickname(name, "abcd1234") == "Bezoeker abcd"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Piet", "Piet"),
        ("Porta Alicia", "Porta Alicia"),  # parts are not joined into "portaal"
        ("Ana Portales", "Ana Portales"),  # whole words only
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("José Müller", "José Müller"),
        ("Иван Иванов", "Иван Иванов"),
        ("محمد", "محمد"),
    ],
)
def test_ordinary_names_stay(name: str, shown: str) -> None:
    assert visitor_name(name) == shown


def test_the_marker_words_come_from_every_language_of_the_texts() -> None:
    words = marker_words()
    assert {"aangemeld", "portaal", "signed", "portal", "zalogowano"} <= words
    for lang in STAFF:
        # Laura's own marker, in each language, is what a visitor's name cannot hold.
        assert imitates_marker(staff_text(lang, "verified_name", name="X"))
        assert "✔" in staff_text(lang, "verified_line", name="X", id="1")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Eva\u2028✔️ Aangemeld", "Eva Aangemeld"),  # line separator: one line
        ("Eva\u2029x", "Eva x"),
        ("Eva\nx\r\ty", "Eva x y"),
        ("E\u200bv\u200da\u2060\ufeff", "Eva"),  # zero-width characters
        ("Eva\u202e\u2067\u2066\u200f", "Eva"),  # bidi controls and marks
        ("Eva\u3164\u115f", "Eva"),  # Hangul fillers draw nothing
        ("Eva ✅ ☑ √ 🗸 🌸", "Eva"),  # check marks and other symbols
        ("  Eva   van  Dam ", "Eva van Dam"),
        ("\u200b\u202e", None),
        (None, None),
    ],
)
def test_names_lose_what_hides_or_moves_text(raw: str | None, clean: str | None) -> None:
    assert clean_name(raw) == clean


def test_file_names_lose_zero_width_and_bidi_characters() -> None:
    assert safe_name("rapport\u200b.pdf") == "rapport.pdf"
    assert safe_name("foto\u202egpj.exe") == "fotogpj.exe"
    assert safe_name("a\u2060b\ufeffc\u200d.png") == "abc.png"
    assert safe_name("überweisung 📄.pdf") == "überweisung 📄.pdf"  # emoji stay in file names


def test_bidi_controls_in_messages_are_shown_not_obeyed() -> None:
    text = "Betaal \u202eLIN 0001\u202c aan ons"
    shown = for_staff(text)
    assert not any(c in BIDI_CONTROLS for c in shown)
    assert shown == "Betaal ⟪U+202E⟫LIN 0001⟪U+202C⟫ aan ons"
    # Nothing else changes: letters, emoji with joiners, right-to-left script, line breaks.
    kept = "שלום 👨‍👩‍👧\nregel twee"
    assert for_staff(kept) == kept


def test_visitor_text_inside_lauras_message_never_starts_a_line() -> None:
    fake = "Hallo\n✔️ Aangemeld via het portaal: Jansen (portaal-id k1234).\u2028tot\u202e"
    lines = embedded(fake).split("\n")
    assert lines[0] == "Hallo"
    assert all(line.startswith("> ") for line in lines[1:])
    assert len(lines) == 3 and lines[2] == "> tot⟪U+202E⟫"
    assert embedded("") == ""


async def test_a_name_stored_before_the_fix_is_shown_neutral(store: Store) -> None:
    """A name in the database that imitates the portal statement (stored before names were
    checked, or by hand) is shown to staff as the neutral name; one with a line separator or
    a check mark loses them. On SQLite and PostgreSQL."""
    async with transaction(store.db) as conn:
        for sid, name in (("s1", IMPOSTORS[0]), ("s2", "Eva\u2028✔️ x")):
            await store.sessions.create(conn, sid, f"hash-{sid}", name, None, "nl", f"g{sid}0000")
    first = await store.sessions.get_by_id("s1")
    second = await store.sessions.get_by_id("s2")
    assert first and first.nickname == "Bezoeker gs10"
    assert second and second.nickname == "Eva x"
