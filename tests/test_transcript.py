"""PDF transcripts and the zip around them: what a reader sees, and what a hostile visitor
cannot do to it. Text is checked the way a reader's tools see it: extracted with pypdf."""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from laura_bot.transcript import (
    DEFAULT_LABELS,
    LABEL_KEYS,
    Line,
    TranscriptInfo,
    bundle,
    render_pdf,
    safe_file_name,
)

WINTER_NOON = int(datetime(2025, 1, 15, 12, 0, tzinfo=UTC).timestamp() * 1000)  # 13:00 in NL
SUMMER_NOON = int(datetime(2025, 7, 15, 12, 0, tzinfo=UTC).timestamp() * 1000)  # 14:00 in NL
MINUTE = 60_000
MATH_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuMathTeXGyre.ttf")


def info(**changes: Any) -> TranscriptInfo:
    values: dict[str, Any] = {
        "organization": "Stichting Hulpverlening Noord",
        "topic": "Schulden en geldzaken",
        "conversation_id": "c-7f3a91",
        "participants": ["Bezoeker Sam (bezoeker)", "Anna (medewerker)"],
        "started_at": WINTER_NOON,
        "ended_at": WINTER_NOON + 30 * MINUTE,
        "timezone": "Europe/Amsterdam",
        "labels": dict(DEFAULT_LABELS["nl"]),
    }
    values.update(changes)
    return TranscriptInfo(**values)


def message(text: str, minute: int = 0, sender: str = "visitor", name: str = "Sam") -> Line:
    return Line(WINTER_NOON + minute * MINUTE, "message", sender, name, text)


def pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def text_of(pdf: bytes) -> str:
    return "\n".join(pages(pdf))


def render(lines: list[Line], fonts: Sequence[str] = (), **changes: Any) -> bytes:
    return render_pdf(info(**changes), lines, fonts, generated_at=WINTER_NOON + 45 * MINUTE)


def in_order(text: str, *parts: str) -> bool:
    position = 0
    for part in parts:
        position = text.find(part, position)
        if position < 0:
            return False
        position += len(part)
    return True


# -- what a reader sees ------------------------------------------------------------------------


def test_labels_cover_every_key_in_both_languages() -> None:
    assert LABEL_KEYS == (
        "title",
        "organization",
        "topic",
        "conversation",
        "participants",
        "started",
        "ended",
        "still_open",
        "generated",
        "page",
        "not_shown",
    )
    for language in ("nl", "en"):
        assert set(DEFAULT_LABELS[language]) == set(LABEL_KEYS)


def test_header_and_messages_in_order() -> None:
    lines = [
        Line(WINTER_NOON, "system", "bot", "Laura", "Sam is de chat binnengekomen"),
        message("Goedemiddag, ik heb een vraag over mijn rekening.", 1),
        message("Natuurlijk, waar gaat het over?", 2, "staff", "Anna"),
        message("Ik ben in paniek: de deurwaarder komt morgen.", 3),
        Line(WINTER_NOON + 4 * MINUTE, "file", "visitor", "Sam", "brief.pdf (120 kB)"),
        Line(WINTER_NOON + 5 * MINUTE, "message", "bot", "Laura", "De chat is beëindigd."),
    ]
    text = text_of(render(lines))
    assert in_order(
        text,
        "Gespreksverslag",
        "Organisatie",
        "Stichting Hulpverlening Noord",
        "Onderwerp",
        "Schulden en geldzaken",
        "Gesprek",
        "c-7f3a91",
        "Deelnemers",
        "Bezoeker Sam (bezoeker)",
        "Anna (medewerker)",
        "Begonnen",
        "2025-01-15 13:00 (Europe/Amsterdam)",
        "Beëindigd",
        "2025-01-15 13:30",
        "Gemaakt op",
        "2025-01-15 13:45",
    )
    assert in_order(
        text,
        "2025-01-15",
        "13:00",
        "Sam is de chat binnengekomen",
        "13:01",
        "Sam",
        "Goedemiddag, ik heb een vraag over mijn rekening.",
        "13:02",
        "Anna",
        "Natuurlijk, waar gaat het over?",
        "13:03",
        "de deurwaarder komt morgen.",
        "13:04",
        "brief.pdf (120 kB)",
        "13:05",
        "Laura",
        "De chat is beëindigd.",
        "Pagina 1 van 1",
    )


def test_open_chat_and_english_fallback_for_missing_labels() -> None:
    labels = {"title": "Gespreksverslag", "still_open": "nog open"}
    text = text_of(render([message("hoi")], ended_at=None, labels=labels))
    assert in_order(text, "Gespreksverslag", "Organisation", "Ended", "nog open", "Page 1 of 1")


def test_dutch_and_polish_diacritics_survive() -> None:
    dutch = "Beëindigd, café, naïef, ĳsje, IJmuiden, coördinatie"
    polish = "Zażółć gęślą jaźń, ĄĘŁŻŚĆŃÓ"
    text = text_of(render([message(dutch, name="Zoë"), message(polish, 1, "staff", "Łucja")]))
    assert in_order(text, "Zoë", dutch, "Łucja", polish)


def test_times_are_shown_in_the_configured_zone() -> None:
    late = int(datetime(2025, 1, 15, 23, 30, tzinfo=UTC).timestamp() * 1000)
    lines = [
        Line(WINTER_NOON, "message", "visitor", "Sam", "winter"),
        Line(late, "message", "visitor", "Sam", "after midnight in Amsterdam"),
        Line(SUMMER_NOON, "message", "visitor", "Sam", "summer"),
    ]
    text = text_of(render(lines))
    assert in_order(
        text,
        "2025-01-15",
        "13:00",
        "winter",
        "2025-01-16",  # the date shows again when the day changes
        "00:30",
        "after midnight",
        "2025-07-15",
        "14:00",
        "summer",
    )
    utc = text_of(render(lines, timezone="UTC"))
    assert in_order(utc, "12:00", "winter", "23:30", "after midnight", "12:00", "summer")


def test_unknown_zone_and_impossible_times_do_not_break_it() -> None:
    lines = [message("far future", 0), Line(10**18, "message", "visitor", "Sam", "bad ts")]
    text = text_of(render(lines, timezone="../../etc/passwd"))
    assert in_order(text, "(UTC)", "12:00", "far future", "--:--", "bad ts")


def test_metadata_is_set_and_output_reproducible() -> None:
    pdf = render([message("hoi")])
    assert pdf == render([message("hoi")])
    metadata = PdfReader(io.BytesIO(pdf)).metadata
    assert metadata is not None
    assert metadata.title == "Gespreksverslag – Schulden en geldzaken"
    assert metadata.producer == "Laura"
    assert metadata.creation_date == datetime(2025, 1, 15, 12, 45, tzinfo=UTC)
    assert b"/work" not in pdf and b"site-packages" not in pdf and b"fonts/" not in pdf


def test_page_numbers_look_the_same_on_every_page() -> None:
    pdf = render([message(f"bericht {i}", i) for i in range(150)])
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 2
    sizes = []
    for number, page in enumerate(reader.pages, 1):
        found: list[tuple[str, float, float]] = []

        def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
            if text.strip().startswith("Pagina"):
                found.append((text, size * tm[0], tm[4]))  # noqa: B023 - called right away

        page.extract_text(visitor_text=visit)
        assert [f[0].strip() for f in found] == [f"Pagina {number} van {len(reader.pages)}"]
        sizes.append(found[0][1:])
    assert len(set(sizes)) == 1, sizes


# -- hostile input -----------------------------------------------------------------------------


def test_a_10000_character_word_is_broken_over_lines() -> None:
    pdf = render([message("x" * 10_000), message("daarna", 1)])
    texts = pages(pdf)
    body = "".join(texts)
    assert body.count("x") == 10_000
    rows = [row for text in texts for row in text.splitlines() if "xxxx" in row]
    assert len(rows) > 100 and max(len(row) for row in rows) < 120
    assert "daarna" in texts[-1]


def test_markup_and_placeholders_are_printed_literally() -> None:
    hostile = [
        "<script>alert(1)</script> <b>vet</b> <img src=x onerror=alert(1)>",
        "**vet** __onderstreept__ --doorgestreept-- ~~weg~~ [klik](http://evil/)",
        "{nb} {page} {pages} %PDF-1.4 %%EOF \\(x\\) endstream endobj",
        "http://evil/ https://evil.example/x javascript:alert(document.cookie)",
        "file:///etc/passwd  /Launch /URI /JavaScript",
    ]
    pdf = render([message(text, i) for i, text in enumerate(hostile)])
    text = text_of(pdf)
    assert in_order(text, *hostile)
    assert "Pagina 1 van 1" in text
    for key in (b"/URI", b"/Launch", b"/JavaScript", b"/JS", b"/Annots", b"/AA", b"/GoToR"):
        assert key not in pdf
    assert b"/SubmitForm" not in pdf and b"/EmbeddedFile" not in pdf


def test_control_and_bidi_characters_are_removed() -> None:
    sneaky = "a\x00b\x07c\x1bd\x7fe\x85f\x9bg\u202eh\u202di\u2066j\u2069k\u202al"
    name = "\u202enimda\x00"
    text = text_of(render([message(sneaky, name=name), message("tab\there\r\nnew line", 1)]))
    assert "abcde" in text and "fghijkl" in text  # NEL (\x85) is a line break
    assert "nimda" in text
    assert "tab    here" in text and in_order(text, "tab    here", "\nnew line")
    for char in "\x00\x07\x1b\x7f\x9b\u202e\u202d\u2066\u2069\u202a":
        assert char not in text


def test_lone_surrogates_and_odd_unicode_do_not_break_it() -> None:
    lines = [
        message("half \ud800 emoji \udfff done"),
        message("Z" + "\u0301" * 500 + "algo", 1),  # combining marks pile up to a few
        message("\n" * 10_000 + "na veel witregels" + "\n" * 10_000, 2),
        message("a\u200db" * 3_000, 3),  # nowhere to break but between clusters
        message("private \ue000, unassigned \u0378, tag \U000e0041.", 4),
        Line(WINTER_NOON, "message", "visitor", "N" * 10_000, "lange naam"),
    ]
    pdf = render(lines)
    text = text_of(pdf)
    assert "half \ufffd emoji \ufffd done" in text
    assert "na veel witregels" in text
    assert len(pages(pdf)) < 10
    assert "private [niet weer te geven: U+E000], unassigned [niet weer te geven: U+0378]" in text
    assert "tag ." in text  # tag characters are invisible formatting: dropped
    assert "N" * 200 + "…" in text.replace("\n", "")


def test_5000_lines_render_quickly_and_completely() -> None:
    lines = [
        message(f"bericht-{i}-einde met een zin die lang genoeg is om echt te lijken", i // 3)
        for i in range(5_000)
    ]
    start = time.monotonic()
    pdf = render(lines)
    elapsed = time.monotonic() - start
    texts = pages(pdf)
    assert len(texts) > 50
    assert "bericht-0-einde" in texts[0] and "bericht-4999-einde" in texts[-1]
    found = [int(n) for n in re.findall(r"bericht-(\d+)-einde", "\n".join(texts))]
    assert found == list(range(5_000))
    assert f"Pagina {len(texts)} van {len(texts)}" in texts[-1]
    assert elapsed < 30, f"5,000 lines took {elapsed:.1f}s"


def test_right_to_left_text_is_shaped_without_errors() -> None:
    arabic = "مرحبا، كيف يمكنني مساعدتك اليوم؟"
    hebrew = "שלום, איך אפשר לעזור?"
    long_arabic = "مساعدتك" * 400  # one word wider than many lines
    pdf = render(
        [
            message(arabic, 0, "staff", "أحمد"),
            message(hebrew, 1),
            message(f"Mixed: {arabic} and back to English", 2),
            message(long_arabic, 3),
        ]
    )
    texts = pages(pdf)
    assert len(texts) >= 1
    text = "\n".join(texts)
    assert "Mixed:" in text and "and back to English" in text
    if "مرحبا" in text:  # pypdf's extraction of shaped Arabic is not guaranteed
        assert arabic in text
    if "שלום" in text:
        assert hebrew.rstrip("?") in text  # pypdf reads the final "?" (drawn at the left) first


def test_characters_no_font_has_get_a_marker() -> None:
    text = text_of(render([message("你好 world 𝐇i")]))
    assert "[niet weer te geven: U+4F60 U+597D] world [niet weer te geven: U+1D407]i" in text
    english = text_of(render([message("你好")], labels=DEFAULT_LABELS["en"]))
    assert "[cannot be displayed: U+4F60 U+597D]" in english
    many = text_of(render([message("你" * 50)]))
    assert "U+4F60 … (50)]" in many


def test_fallback_font_draws_what_dejavu_lacks() -> None:
    if not MATH_FONT.exists():
        pytest.skip("no DejaVu Math font on this machine")
    pdf = render([message("𝐇𝐞𝐥𝐥𝐨 你好")], fonts=[str(MATH_FONT)])
    text = text_of(pdf)
    assert "𝐇𝐞𝐥𝐥𝐨 [niet weer te geven: U+4F60 U+597D]" in text
    assert b"DejaVuMathTeXGyre" in pdf
    unused = render([message("gewoon")], fonts=[str(MATH_FONT)])
    assert b"DejaVuMathTeXGyre" not in unused  # only fonts some text needs are embedded


def test_cjk_fallback_font_when_the_machine_has_one() -> None:
    candidates = [
        path
        for pattern in ("**/*CJK*.tt[fc]", "**/*CJK*.otf", "**/NotoSansSC*.[ot]tf")
        for path in Path("/usr/share/fonts").glob(pattern)
    ]
    if not candidates:
        pytest.skip("no CJK font on this machine (the marker is tested without one)")
    text = text_of(render([message("你好 世界")], fonts=[str(candidates[0])]))
    assert "你好 世界" in text and "niet weer te geven" not in text


def test_unusable_fallback_fonts_are_skipped(tmp_path: Path) -> None:
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_text("not a font")
    fonts = [str(tmp_path / "missing.ttf"), str(not_a_font), "/etc/passwd"]
    text = text_of(render([message("你好")], fonts=fonts))
    assert "[niet weer te geven: U+4F60 U+597D]" in text


# -- the zip -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("scan.pdf", "scan.pdf"),
        ("../../etc/passwd", "passwd"),
        ("a\\b.png", "b.png"),
        ("C:\\Users\\sam\\brief.docx", "brief.docx"),
        (".hidden", "hidden"),
        ("...", "bestand"),
        ("", "bestand"),
        ("  ", "bestand"),
        ("dir/", "bestand"),
        ("na\x00me\x1b.txt", "name.txt"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ('a<b>c:d"e|f?g*.jpg', "abcdefg.jpg"),
        ("CON.txt", "_CON.txt"),
        ("rapport. ", "rapport"),
        ("foto \ud800.jpg", "foto \ufffd.jpg"),
    ],
)
def test_safe_file_name(name: str, expected: str) -> None:
    assert safe_file_name(name) == expected


def test_safe_file_name_limits_length_and_keeps_the_extension() -> None:
    long = safe_file_name("a" * 300 + ".pdf")
    assert len(long) == 100 and long.endswith("aaa.pdf")
    assert len(safe_file_name("b" * 300)) == 100
    assert safe_file_name("", default="file") == "file"


def test_bundle_holds_the_pdf_and_every_file_byte_for_byte() -> None:
    pdf = render([message("hoi")])
    files = [
        ("foto.jpg", b"\xff\xd8\xff" + bytes(range(256)) * 40),
        ("../../etc/passwd", b"root:x:0:0"),
        ("a\\b.png", b"\x89PNG"),
        (".hidden", b"hidden"),
        ("", b"nameless"),
        ("x" * 300 + ".txt", b"long"),
        ("foto.jpg", b"second photo"),
        ("FOTO.jpg", b"third photo"),
        ("foto (2).jpg", b"fourth photo"),
        ("", b"nameless too"),
    ]
    data = bundle("gesprek-c-7f3a91.pdf", pdf, files)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names[0] == "gesprek-c-7f3a91.pdf"
        assert archive.read(names[0]) == pdf
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
        stored = [archive.read(name) for name in names[1:]]
    assert names[1:] == [
        "bestanden/foto.jpg",
        "bestanden/passwd",
        "bestanden/b.png",
        "bestanden/hidden",
        "bestanden/bestand",
        "bestanden/" + "x" * 96 + ".txt",
        "bestanden/foto (2).jpg",
        "bestanden/FOTO (3).jpg",
        "bestanden/foto (2) (2).jpg",
        "bestanden/bestand (2)",
    ]
    assert stored == [content for _, content in files]
    for name in names:
        assert not name.startswith(("/", ".")) and ".." not in name and "\\" not in name


def test_bundle_with_hostile_pdf_name_and_no_files() -> None:
    data = bundle("../../x/../verslag.pdf", b"%PDF-", [], folder="files")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["verslag.pdf"]
    assert zipfile.ZipFile(io.BytesIO(bundle("", b"%PDF-", []))).namelist() == ["transcript.pdf"]


def test_empty_transcript_and_unknown_sender() -> None:
    empty = TranscriptInfo("", "", "", [], None, None, "Europe/Amsterdam", {})
    assert len(pages(render_pdf(empty, []))) == 1
    weird = [Line(WINTER_NOON, "other", "alien", "", "ideographic\u3000space")]
    text = text_of(render_pdf(empty, weird, generated_at=WINTER_NOON))
    assert in_order(text, "Chat transcript", "Topic –", "still open", "13:00", "ideographic space")
