"""What a visitor types, made safe to show to staff: names, file names and message bodies.

Staff trust what Laura herself says: above all that a visitor signed in on the organisation's
portal (the verified line, and the portal marker on that visitor's name). Visitor text must
never be able to look like it. So:

- A name (and a file name) loses what renders as nothing or moves text around: control and
  format characters (bidi overrides and isolates, zero-width characters, the BOM), line and
  paragraph separators, fillers that draw nothing. A name also loses symbols beyond ASCII
  (emoji, check marks, dingbats, maths): Laura's portal marker is one, and a name needs none.
- A name that holds the words of Laura's portal statement in any language (also spelt with
  look-alike letters from other scripts, with accents or in another case) is refused when it is
  given and shown as a neutral name if one is found in the database.
- A message body keeps every character the visitor typed, but bidi controls are shown as
  visible marks (as code hosts do against "Trojan Source"), so a message reads in staff's
  client as it is stored.
- Visitor text inside one of Laura's own messages (the request's thread, a contact request)
  never starts a line of its own: each further line is quoted.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

# Bidi embeddings, overrides and isolates (and their ends): they reorder what follows them.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
)
# Letters that draw nothing: Hangul fillers, the Khmer inherent vowels, the combining grapheme
# joiner, the Braille blank (a symbol, but drawn as a space).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u17b4\u17b5\u034f\u2800")
_INVISIBLE_CATEGORIES = frozenset(("Cc", "Cf", "Co", "Cs", "Cn"))
_SYMBOL_CATEGORIES = frozenset(("So", "Sm", "Sk"))
# Words of the portal statement beyond the catalogue's, in case a translation drops them.
_EXTRA_MARKER_WORDS = ("verified", "geverifieerd", "zweryfikowany")
# Look-alikes the confusables table leaves to digits and punctuation: 0 for o, 1 for l.
_DIGIT_LOOKALIKES = str.maketrans({"0": "o", "1": "l", "|": "l", "!": "l", "$": "s", "5": "s"})


def invisible(char: str) -> bool:
    """Whether a character renders as nothing (or reorders others) rather than as text."""
    code = ord(char)
    return (
        unicodedata.category(char) in _INVISIBLE_CATEGORIES
        or char in _BLANK_LETTERS
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
    )


def _is_space(char: str) -> bool:
    # Line and paragraph separators too: a name stays on one line.
    return char.isspace() or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def clean_name(value: str | None) -> str | None:
    """A name as others will see it: one line of letters, digits, punctuation and single
    spaces; None when nothing is left."""
    if value is None:
        return None
    kept: list[str] = []
    for char in unicodedata.normalize("NFC", value):
        if _is_space(char):
            kept.append(" ")
        elif invisible(char) or (
            not char.isascii() and unicodedata.category(char) in _SYMBOL_CATEGORIES
        ):
            continue  # (the few ASCII symbols, like + and <, draw as what they are)
        else:
            kept.append(char)
    name = " ".join("".join(kept).split())
    return name or None


def _skeleton(word: str) -> str:
    """A word as it reads: compatibility forms folded (ｐ → p), accents dropped, look-alike
    letters of other scripts read as the Latin ones (Cyrillic а → a), case folded."""
    folded = unicodedata.normalize("NFKD", word)
    out: list[str] = []
    for char in folded:
        if unicodedata.combining(char):
            continue
        if not char.isascii():
            found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True)
            if found:
                latin = [h["c"] for h in found[0]["homoglyphs"] if h["c"].isascii()]
                if latin:
                    char = latin[0]
        out.append(char)
    return "".join(out).casefold().translate(_DIGIT_LOOKALIKES)


@lru_cache(maxsize=1)
def marker_words() -> frozenset[str]:
    """The words of Laura's portal statement in every language of the staff texts (the
    statement's fixed text, not its values), four letters or more."""
    from .texts import STAFF

    words: set[str] = set(_EXTRA_MARKER_WORDS)
    for texts in STAFF.values():
        for key in ("verified_line", "verified_name"):
            template = texts.get(key, "")
            fixed = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", template)
            words.update(w for w in re.findall(r"[^\W\d_]+", _skeleton(fixed)) if len(w) >= 4)
    return frozenset(words)


def imitates_marker(name: str) -> bool:
    """Whether a name holds a word of the portal statement: a word of the name as it reads
    (_skeleton), or a space-separated part with its punctuation dropped ("Por-taal" reads
    "portaal"). Whole words only, and parts are not joined: "Portales", or the surname Porta
    before Alicia, is no "portaal"."""
    words = marker_words()
    for part in name.split():
        read = _skeleton(part)
        tokens = set(re.findall(r"[^\W\d_]+", read))
        tokens.add("".join(c for c in read if c.isalpha()))
        if tokens & words:
            return True
    return False


def visitor_name(value: str | None) -> str | None:
    """A visitor-chosen name fit to show staff, or None when there is none or it imitates
    Laura's portal statement (shown then as the neutral name)."""
    name = clean_name(value)
    if name is None or imitates_marker(name):
        return None
    return name


def for_staff(body: str) -> str:
    """A visitor's message as staff see it: every character kept, bidi controls shown as
    visible marks ("⟪U+202E⟫") so the text reads in logical order."""
    if not any(c in BIDI_CONTROLS for c in body):
        return body
    return "".join(f"⟪U+{ord(c):04X}⟫" if c in BIDI_CONTROLS else c for c in body)


def embedded(text: str) -> str:
    """Visitor text inside one of Laura's messages: for staff (for_staff), and every line after
    the first quoted ("> "), so no line of it can pass for a line of Laura's."""
    lines = for_staff(text).splitlines() or [""]
    return "\n".join([lines[0], *(f"> {line}" for line in lines[1:])])
