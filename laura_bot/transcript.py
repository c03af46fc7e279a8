"""Conversation transcripts: a PDF (fpdf2) and a zip holding it with the exchanged files.

Nearly everything in a transcript was typed by someone, most of it by an anonymous visitor, so
every string goes through one cleaning step before fpdf2 sees it: control and bidi-override
characters are dropped, characters no font can draw become a visible "[not shown: U+....]"
marker instead of a silent empty box, and text is always printed literally (no markdown, HTML,
links or page-number aliases). Lines are broken here rather than by ``multi_cell``: fpdf2's
line breaker re-measures (and with text shaping re-shapes) the line for every character it
adds, which made 5,000 lines take tens of seconds. HarfBuzz shaping and the bidi algorithm are
switched on only for paragraphs whose script needs them (Arabic, Hebrew, Indic ...).
"""

from __future__ import annotations

import io
import logging
import re
import time
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.bidi import auto_detect_base_direction
from fpdf.enums import TextDirection, XPos, YPos

from .resources import resource

log = logging.getLogger(__name__)

FONT_DIR = resource("fonts")
REGULAR_FONT = str(FONT_DIR / "DejaVuSans.ttf")
BOLD_FONT = str(FONT_DIR / "DejaVuSans-Bold.ttf")


DEFAULT_LABELS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Gespreksverslag",
        "organization": "Organisatie",
        "topic": "Onderwerp",
        "conversation": "Gesprek",
        "participants": "Deelnemers",
        "started": "Begonnen",
        "ended": "Beëindigd",
        "still_open": "nog open",
        "generated": "Gemaakt op",
        "page": "Pagina {page} van {pages}",
        "not_shown": "niet weer te geven",
    },
    "en": {
        "title": "Chat transcript",
        "organization": "Organisation",
        "topic": "Topic",
        "conversation": "Conversation",
        "participants": "Participants",
        "started": "Started",
        "ended": "Ended",
        "still_open": "still open",
        "generated": "Generated",
        "page": "Page {page} of {pages}",
        "not_shown": "cannot be displayed",
    },
}
LABEL_KEYS = tuple(DEFAULT_LABELS["en"])


@dataclass
class Line:
    ts: int  # milliseconds since the epoch
    kind: str  # "message" | "system" (joined, left, chat ended ...) | "file"
    sender: str  # "visitor" | "staff" | "bot"
    name: str  # the name shown for the sender, as typed (any Unicode)
    text: str  # the message; for "file" the file name and the size text


@dataclass
class TranscriptInfo:
    organization: str
    topic: str
    conversation_id: str
    participants: list[str]
    started_at: int | None  # ms
    ended_at: int | None  # ms; None while the chat is open
    timezone: str  # IANA name; every time in the PDF is shown in this zone
    labels: dict[str, str]  # LABEL_KEYS in the reader's language; missing ones fall back to en


# -- text cleaning -------------------------------------------------------------------------------

# Embeddings, overrides and isolates let a visitor make text read differently from what was typed
# ("Trojan Source"); the bidi algorithm orders text correctly without them.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Every other way to say "new line" (VT, FF, NEL, LS, PS) becomes \n.
_NEWLINES = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
# C0 except \t and \n, DEL and C1: never meaningful in chat text.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile("\n{4,}")  # more than two empty lines in a row only waste pages
# More combining marks on one letter than any script needs ("Zalgo") would pile up over the
# neighbouring lines and hide them.
_MAX_MARKS = 6
_MAX_CLUSTER = 16  # a longer run of joined characters may still be cut at the line's end
_SHOWN_CODEPOINTS = 8  # a marker lists at most this many code points, then a count
_NAME_CHARS = 200  # a longer nickname is cut, with "…"
# ZWNJ/ZWJ shape Persian and emoji; LRM/RLM/ALM are how RTL writers place punctuation.
_KEEP_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u061c")
# Scripts whose letters change shape with their neighbours or run right to left: these
# paragraphs go through HarfBuzz and the bidi algorithm, everything else is drawn glyph by glyph.
_COMPLEX = re.compile(
    "[\u0300-\u036f\u0590-\u1cff\u1dc0-\u1dff\u200c-\u200f\u20d0-\u20ff\ua800-\uabff"
    "\ufb1d-\ufdff\ufe20-\ufe2f\ufe70-\ufeff\U00010800-\U00011fff\U0001e800-\U0001efff]"
)


def _clean(text: str) -> str:
    """Text as it will be printed, before font coverage: no controls, \\n for every line break."""
    # A lone surrogate cannot be encoded; U+FFFD shows that something was there.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = _NEWLINES.sub("\n", text).replace("\t", "    ")
    text = _BIDI_CONTROLS.sub("", _CONTROLS.sub("", text))
    text = _BLANK_LINES.sub("\n\n\n", unicodedata.normalize("NFC", text))
    out: list[str] = []
    marks = 0
    for char in text:
        marks = marks + 1 if unicodedata.category(char) in ("Mn", "Me") else 0
        if marks <= _MAX_MARKS:
            out.append(char)
    return "".join(out)


def _one_line(text: str) -> str:
    return " ".join(_clean(text).split("\n")).strip()


def _ignorable(char: str) -> bool:
    """Invisible formatting characters: dropped rather than marked, they show nothing anyway."""
    cp = ord(char)
    return char not in _KEEP_FORMAT and (
        unicodedata.category(char) == "Cf"
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0x180B <= cp <= 0x180F
        or cp == 0x034F
    )


def _never_shown(char: str) -> bool:
    """Unassigned, private-use and noncharacter code points have no agreed look."""
    return unicodedata.category(char) in ("Cn", "Co", "Cs")


def _clusters(word: str) -> Iterator[str]:
    """``word`` in pieces that may be put on different lines: a letter stays with its accents,
    an emoji with its joiners."""
    start = 0
    for i in range(1, len(word)):
        joined = (
            unicodedata.category(word[i]) in ("Mn", "Mc", "Me")
            or word[i] == "\u200d"
            or word[i - 1] == "\u200d"
        )
        if not joined or i - start >= _MAX_CLUSTER:
            yield word[start:i]
            start = i
    yield word[start:]


@lru_cache(maxsize=16)
def _coverage(path: str) -> frozenset[int]:
    """The code points a font file has glyphs for (read once per process)."""
    number = 0 if path.lower().endswith((".ttc", ".otc")) else -1
    with TTFont(path, fontNumber=number, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


# -- PDF -----------------------------------------------------------------------------------------

_MARGIN = 15.0  # mm
_TIME_W = 13.0  # the time column
_SIZE = 9.5  # pt
_SMALL = 8.0
_LINE_H = 4.6  # mm
_BLACK = (20, 20, 20)
_GREY = (110, 110, 110)
_LIGHT = (170, 170, 170)
_NAME_COLOURS = {"visitor": (22, 78, 160), "staff": (18, 112, 70), "bot": _GREY}
_FILE_MARK = "\u21e9 "  # ⇩, a glyph DejaVu has
_FONT_FILES = (".ttf", ".otf", ".ttc", ".otc")


class _Renderer:
    """One PDF being written: the fpdf2 document, the fonts it may use and width caches."""

    def __init__(self, info: TranscriptInfo, fallback_fonts: Sequence[str]) -> None:
        self.info = info
        given = {key: value for key, value in info.labels.items() if value}
        self.labels = {k: _one_line(v) for k, v in {**DEFAULT_LABELS["en"], **given}.items()}
        try:
            self.zone = ZoneInfo(info.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("Transcript time zone %r unknown, using UTC", info.timezone)
            self.zone = ZoneInfo("UTC")
        self.regular = _coverage(REGULAR_FONT)
        self.bold = _coverage(BOLD_FONT)
        self.fallbacks: list[tuple[str, frozenset[int]]] = []
        for path in map(str, fallback_fonts):
            try:
                if not path.lower().endswith(_FONT_FILES):
                    raise ValueError("not a .ttf, .otf, .ttc or .otc file")
                self.fallbacks.append((path, _coverage(path)))
            except Exception as exc:  # noqa: BLE001 - a bad configured font must not stop exports
                log.warning("Transcript fallback font %s unusable: %s", path, exc)
        self.needed: set[str] = set()  # font files some text needs beyond the primary one
        self.widths: dict[tuple[str, float, str], float] = {}
        self.pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        # No "{nb}" alias: a visitor typing "{nb}" must see "{nb}" (see footers()).
        self.pdf.alias_nb_pages(None)  # type: ignore[arg-type]

    # -- strings

    def display(self, text: str, bold: bool = False) -> str:
        """``text`` cleaned, with every run of characters no font has replaced by a marker."""
        primary = self.bold if bold else self.regular
        out: list[str] = []
        missing: list[str] = []
        for char in _clean(text):
            if _ignorable(char):
                continue
            if unicodedata.category(char) == "Zs" and ord(char) not in primary:
                char = " "  # an ideographic or other space DejaVu lacks
            if self.shown(char, primary, bold):
                if missing:
                    out.append(self.marker(missing))
                    missing = []
                out.append(char)
            else:
                missing.append(char)
        if missing:
            out.append(self.marker(missing))
        return "".join(out)

    def shown(self, char: str, primary: frozenset[int], bold: bool) -> bool:
        """Whether some font draws ``char``; remembers which extra font that takes."""
        cp = ord(char)
        if _never_shown(char):
            return False
        if char in "\n " or cp in primary:
            return True
        if bold and cp in self.regular:  # DejaVu Bold lacks some Arabic forms Book has
            self.needed.add(REGULAR_FONT)
            return True
        for path, coverage in self.fallbacks:
            if cp in coverage:
                self.needed.add(path)
                return True
        return False

    def marker(self, chars: list[str]) -> str:
        codes = " ".join(f"U+{ord(c):04X}" for c in chars[:_SHOWN_CODEPOINTS])
        if len(chars) > _SHOWN_CODEPOINTS:
            codes += f" … ({len(chars)})"
        return f"[{self.labels['not_shown']}: {codes}]"

    def when(self, ts: int | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if ts is None:
            return "–"
        try:
            return datetime.fromtimestamp(ts / 1000, tz=self.zone).strftime(fmt)
        except (OverflowError, OSError, ValueError):
            return "--:--"

    def zoned(self, ts: int | None) -> str:
        return "–" if ts is None else f"{self.when(ts)} ({self.zone.key})"

    # -- fonts and measuring

    def setup_fonts(self) -> None:
        """Register the shipped fonts, and only those extra fonts some text needs (a CJK font
        is large to parse and to subset)."""
        pdf = self.pdf
        pdf.add_font("laura", "", REGULAR_FONT)
        pdf.add_font("laura", "B", BOLD_FONT)
        families = []
        for number, path in enumerate([REGULAR_FONT] + [path for path, _ in self.fallbacks]):
            if path in self.needed:
                pdf.add_font(f"extra{number}", "", path)
                families.append(f"extra{number}")
        if families:
            pdf.set_fallback_fonts(families, exact_match=False)

    def font(
        self, bold: bool = False, size: float = _SIZE, colour: tuple[int, ...] = _BLACK
    ) -> None:
        self.pdf.set_font("laura", "B" if bold else "", size)
        self.pdf.set_text_color(*colour)

    @contextmanager
    def shaping(self, on: bool, direction: TextDirection | None = None) -> Iterator[None]:
        if not on:
            yield
            return
        self.pdf.set_text_shaping(True, direction=direction)
        try:
            yield
        finally:
            self.pdf.set_text_shaping(False)

    def width(self, text: str, shaped: bool = False) -> float:
        """Width in mm. Unshaped text is the sum of its glyphs; shaped text is measured as a
        whole (HarfBuzz and bidi: worth caching, chat words repeat a lot)."""
        style, size = self.pdf.font_style, self.pdf.font_size_pt
        if shaped and text[:1] != " ":
            key = (style, size, text)
            if key not in self.widths:
                self.widths[key] = self.pdf.get_string_width(text)
            return self.widths[key]
        total = 0.0
        for char in text:
            key = (style, size, char)
            if key not in self.widths:
                self.widths[key] = self.pdf.get_string_width(char)
            total += self.widths[key]
        return total

    def wrap(self, paragraph: str, limit: float, shaped: bool) -> list[str]:
        """Greedy word wrap in linear time; a word wider than the line is cut between letters."""
        lines: list[str] = []
        current, current_w = "", 0.0
        for token in re.findall(r" +|[^ ]+", paragraph):
            token_w = self.width(token, shaped)
            if current_w + token_w <= limit:
                current, current_w = current + token, current_w + token_w
                continue
            if current.strip(" "):
                lines.append(current.rstrip(" "))
            current, current_w = "", 0.0
            if token[0] == " ":  # the spaces at a line's end are not printed
                continue
            pieces = [token] if token_w <= limit else self.cut(token, limit, shaped)
            lines.extend(pieces[:-1])
            current, current_w = pieces[-1], self.width(pieces[-1], shaped)
        lines.append(current.rstrip(" "))
        return lines

    def cut(self, word: str, limit: float, shaped: bool) -> list[str]:
        """``word`` in line-wide pieces, cut between clusters."""
        clusters = list(_clusters(word))
        pieces: list[str] = []
        while clusters:
            count, piece_w = 0, 0.0
            for cluster in clusters:
                piece_w += self.width(cluster)
                if count and piece_w > limit:
                    break
                count += 1
            if shaped:  # joined letters are narrower than the separate ones just measured
                count = self.most_that_fit(clusters, count, limit)
            pieces.append("".join(clusters[:count]))
            clusters = clusters[count:]
        return pieces

    def most_that_fit(self, clusters: list[str], guess: int, limit: float) -> int:
        """How many of ``clusters``, shaped together, fit in ``limit`` (binary search)."""
        low, high = 1, min(len(clusters), guess * 3)
        while low < high:
            middle = (low + high + 1) // 2
            if self.pdf.get_string_width("".join(clusters[:middle])) <= limit:
                low = middle
            else:
                high = middle - 1
        return low

    def text_block(self, text: str, x: float, width: float) -> None:
        """Print displayable ``text`` at ``x``; right-to-left paragraphs align right."""
        pdf = self.pdf
        for paragraph in text.split("\n"):
            shaped = bool(_COMPLEX.search(paragraph))
            direction = auto_detect_base_direction(paragraph) if shaped else None
            align = "R" if direction == TextDirection.RTL else "L"
            with self.shaping(shaped, direction):
                for row in self.wrap(paragraph, width - 0.05, shaped):
                    pdf.set_x(x)
                    pdf.cell(width, _LINE_H, row, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # -- layout

    def render(self, lines: Sequence[Line], generated_ms: int) -> bytes:
        info, pdf, labels = self.info, self.pdf, self.labels
        ended = labels["still_open"] if info.ended_at is None else self.zoned(info.ended_at)
        header = [
            (self.display(labels[key], bold=True), self.display(value))
            for key, value in (
                ("organization", info.organization),
                ("topic", info.topic),
                ("conversation", info.conversation_id),
                ("participants", "\n".join(_one_line(p) for p in info.participants)),
                ("started", self.zoned(info.started_at)),
                ("ended", ended),
                ("generated", self.zoned(generated_ms)),
            )
        ]
        title = self.display(labels["title"], bold=True)
        footer = self.display(f"{labels['title']} · {info.conversation_id}")
        prepared = [self.prepare(line) for line in lines]
        self.setup_fonts()

        pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        pdf.set_auto_page_break(True, margin=_MARGIN + 5)
        pdf.c_margin = 0
        topic = _one_line(info.topic)
        pdf.set_title(f"{labels['title']} – {topic}" if topic else labels["title"])
        pdf.set_creator("Laura")
        pdf.set_producer("Laura")
        pdf.set_creation_date(datetime.fromtimestamp(generated_ms / 1000, tz=UTC))
        pdf.add_page()

        self.font(bold=True, size=15)
        self.text_block(title, _MARGIN, pdf.epw)
        pdf.ln(2)
        self.font(bold=True)
        label_w = min(60.0, max(self.width(key) for key, _ in header) + 4)
        for key, value in header:
            y = pdf.get_y()
            self.font(bold=True, colour=_GREY)
            pdf.set_x(_MARGIN)
            pdf.cell(label_w, _LINE_H, key)
            pdf.set_y(y)
            self.font()
            self.text_block(value or "–", _MARGIN + label_w, pdf.epw - label_w)
        pdf.ln(2)
        pdf.set_draw_color(*_LIGHT)
        pdf.set_line_width(0.2)
        pdf.line(_MARGIN, pdf.get_y(), _MARGIN + pdf.epw, pdf.get_y())
        pdf.ln(2)

        previous_day = ""
        for line, name, text in prepared:
            day = self.when(line.ts, "%Y-%m-%d")
            if day != previous_day:
                self.day(day)
                previous_day = day
            self.line(line, name, text)
        self.footers(footer)
        return bytes(pdf.output())

    def prepare(self, line: Line) -> tuple[Line, str, str]:
        name = _one_line(line.name)
        if len(name) > _NAME_CHARS:
            name = name[:_NAME_CHARS] + "…"
        text = self.display(line.text.strip("\r\n"))
        if line.kind == "file":
            text = _FILE_MARK + text
        return line, self.display(name, bold=True), text

    def day(self, day: str) -> None:
        """The date, with a rule, before the first line of each day."""
        pdf = self.pdf
        if pdf.will_page_break(_LINE_H * 3 + 2):
            pdf.add_page()
        pdf.ln(1)
        self.font(bold=True, size=_SMALL, colour=_GREY)
        pdf.set_x(_MARGIN)
        pdf.cell(None, _LINE_H, day)
        y = pdf.get_y() + _LINE_H / 2
        pdf.line(pdf.get_x() + 2, y, _MARGIN + pdf.epw, y)
        pdf.ln(_LINE_H + 1)

    def line(self, line: Line, name: str, text: str) -> None:
        """Time, then the sender's name in the sender's colour and the text under it; system
        lines are one grey text."""
        pdf = self.pdf
        system = line.kind == "system"
        if pdf.will_page_break(_LINE_H * (1 if system else 2)):
            pdf.add_page()
        y = pdf.get_y()
        self.font(size=_SMALL, colour=_GREY)
        pdf.set_x(_MARGIN)
        pdf.cell(_TIME_W, _LINE_H, self.when(line.ts, "%H:%M"))
        pdf.set_y(y)
        x, width = _MARGIN + _TIME_W, pdf.epw - _TIME_W
        if not system:
            self.font(bold=True, colour=_NAME_COLOURS.get(line.sender, _BLACK))
            self.text_block(name or "–", x, width)
        grey = system or line.kind == "file" or line.sender == "bot"
        self.font(colour=_GREY if grey else _BLACK)
        self.text_block(text, x, width)
        pdf.ln(1.2)

    def footers(self, left: str) -> None:
        """Page numbers, written once the total is known."""
        pdf = self.pdf
        pdf.set_auto_page_break(False)
        total = pdf.pages_count
        for number in range(1, total + 1):
            pdf.page = number
            # fpdf2 remembers the font set on "the" page; this page's stream ends elsewhere.
            pdf.current_font_is_set_on_page = False
            self.font(size=_SMALL, colour=_GREY)
            page = self.labels["page"].replace("{page}", str(number))
            page = self.display(page.replace("{pages}", str(total)))
            page_w = self.width(page) + 1
            y = pdf.h - _MARGIN
            pdf.set_xy(_MARGIN, y)
            row = self.wrap(left, pdf.epw - page_w - 5, False)[0]
            with self.shaping(bool(_COMPLEX.search(row))):
                pdf.cell(pdf.epw - page_w, _LINE_H, row)
            pdf.set_xy(_MARGIN + pdf.epw - page_w, y)
            pdf.cell(page_w, _LINE_H, page, align="R")


def render_pdf(
    info: TranscriptInfo,
    lines: list[Line],
    fallback_fonts: Sequence[str] = (),
    *,
    generated_at: int | None = None,
) -> bytes:
    """The transcript as an A4 PDF. ``fallback_fonts`` are font files for scripts DejaVu lacks
    (a CJK font, say); ``generated_at`` (ms, default now) makes the output reproducible."""
    generated_ms = int(time.time() * 1000) if generated_at is None else generated_at
    return _Renderer(info, fallback_fonts).render(lines, generated_ms)


# -- zip -----------------------------------------------------------------------------------------

_UNSAFE_NAME = re.compile('[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069<>:"|?*]')
_WINDOWS_DEVICE = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)", re.IGNORECASE)
_MAX_NAME = 100


def _split_ext(name: str) -> tuple[str, str]:
    ext = PurePosixPath(name).suffix
    return (name[: -len(ext)], ext) if 1 < len(ext) <= 16 else (name, "")


def _fit(stem: str, ext: str) -> str:
    return stem[: _MAX_NAME - len(ext)].rstrip(". ") + ext


def safe_file_name(name: str, default: str = "bestand") -> str:
    """A name that is safe to unpack anywhere: no folders, no hidden file, nothing Windows
    refuses, at most 100 characters with the extension kept."""
    name = name.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", _UNSAFE_NAME.sub("", name))
    name = name.strip().lstrip(".").strip().rstrip(". ")
    if not name:
        return default
    stem, ext = _split_ext(name)
    if _WINDOWS_DEVICE.fullmatch(stem):
        stem = "_" + stem
    return _fit(stem, ext) if stem.rstrip(". ") else default


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name (2).ext``, ``name (3).ext`` ... (case-insensitively, for the file
    systems that are)."""
    stem, ext = _split_ext(name)
    candidate, number = name, 1
    while candidate.lower() in used:
        number += 1
        suffix = f" ({number})"
        candidate = _fit(stem[: _MAX_NAME - len(ext) - len(suffix)] + suffix, ext)
    used.add(candidate.lower())
    return candidate


def bundle(
    pdf_name: str,
    pdf: bytes,
    files: Sequence[tuple[str, bytes]],
    *,
    folder: str = "bestanden",
) -> bytes:
    """A zip with the PDF at the top and every exchanged file under ``folder/``."""
    buffer = io.BytesIO()
    stamp = time.localtime()[:6]

    def write(archive: zipfile.ZipFile, path: str, data: bytes) -> None:
        entry = zipfile.ZipInfo(path, date_time=stamp)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = 0o644 << 16  # rw-r--r-- when unpacked on Unix
        archive.writestr(entry, data)

    folder = safe_file_name(folder, "files")
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        write(archive, safe_file_name(pdf_name, "transcript.pdf"), pdf)
        used: set[str] = set()
        for name, data in files:
            write(archive, f"{folder}/{_unique(safe_file_name(name), used)}", data)
    return buffer.getvalue()
