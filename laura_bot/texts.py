"""Laura's texts: one catalogue per language (locales/<lang>.yaml), for all three audiences.

Each catalogue has its language's own name (name) and three sections: staff (Laura's messages
in Matrix rooms, in laura.staff_language), visitor (what Laura says to a visitor in the chat;
the organisation may word these itself in the config, texts.<lang>.<name>) and widget (the
chat widget's own texts, served by GET /api/v1/widget). The languages Laura speaks are the
catalogues there are: adding a language is adding a file. Dutch is the default, and the
fallback for a text a catalogue lacks.

Templates render in a Jinja2 sandbox as plain text: visitor input is never markup here, and the
HTML versions of staff messages escape every variable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from ruamel.yaml import YAML

from .resources import resource

LOCALES = resource("locales")
DEFAULT_LANGUAGE = "nl"
SECTIONS = ("staff", "visitor", "widget")

_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=256)
def _compile(source: str):  # type: ignore[no-untyped-def]
    return _env.from_string(source)


def render(source: str, **values: Any) -> str:
    return _compile(source).render(**values)


def render_parts(source: str, **values: Any) -> Iterator[str]:
    """The text in the pieces the template makes, so a caller can stop early (templates.py
    caps what a template written by people may produce)."""
    return _compile(source).generate(**values)


class CatalogueError(Exception):
    """A catalogue in locales/ that is not what Laura needs (a packaging mistake)."""


def _read(path: Path) -> dict[str, Any]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    where = f"{path.name}"
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise CatalogueError(f"{where}: a mapping with the language's name (name) is needed")
    for section in SECTIONS:
        texts = data.get(section)
        if not isinstance(texts, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in texts.items()
        ):
            raise CatalogueError(f"{where}: {section} must map text names to texts (in quotes)")
    return data


@cache
def _catalogues() -> dict[str, dict[str, Any]]:
    """Every catalogue, by language code: the default language first, then by code."""
    found = {path.stem: path for path in LOCALES.glob("*.yaml")}
    if DEFAULT_LANGUAGE not in found:
        raise CatalogueError(f"locales/{DEFAULT_LANGUAGE}.yaml (the default language) is missing")
    order = sorted(found, key=lambda code: (code != DEFAULT_LANGUAGE, code))
    return {code: _read(found[code]) for code in order}


def available_languages() -> tuple[str, ...]:
    """The languages Laura has texts in (a catalogue each): the default (nl) first, then the
    others by code."""
    return tuple(_catalogues())


def language_name(lang: str) -> str:
    """A language's name in that language ("Nederlands", "Polski")."""
    return str(_catalogues()[lang]["name"])


class _Section(Mapping[str, Mapping[str, str]]):
    """One section of every catalogue, by language: STAFF["en"]["taken"]. Read from the files
    the first time it is used."""

    def __init__(self, section: str) -> None:
        self.section = section

    def __getitem__(self, lang: str) -> Mapping[str, str]:
        texts: Mapping[str, str] = _catalogues()[lang][self.section]
        return texts

    def __iter__(self) -> Iterator[str]:
        return iter(_catalogues())

    def __len__(self) -> int:
        return len(_catalogues())


STAFF = _Section("staff")
VISITOR = _Section("visitor")
WIDGET = _Section("widget")


def text_in(section: Mapping[str, Mapping[str, str]], lang: str, name: str) -> str | None:
    """A text of a section in a language, else in the default language; None when neither has
    it."""
    own = section.get(lang) or {}
    value = own.get(name)
    if value is None:
        value = section[DEFAULT_LANGUAGE].get(name)
    return value


def staff_text(lang: str, text_id: str, /, **values: Any) -> str:
    source = text_in(STAFF, lang, text_id)
    if source is None:
        raise KeyError(text_id)
    return render(source, **values)


def dashboard_texts(lang: str) -> dict[str, str]:
    """The dashboard's texts (staff texts dashboard_*) in a language, each missing one in the
    default language."""
    merged = {**STAFF[DEFAULT_LANGUAGE], **(STAFF.get(lang) or {})}
    return {k: v for k, v in merged.items() if k.startswith("dashboard_")}


def widget_texts(lang: str) -> dict[str, str]:
    """The widget's texts in a language, each missing one in the default language."""
    return {**WIDGET[DEFAULT_LANGUAGE], **(WIDGET.get(lang) or {})}
