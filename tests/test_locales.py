"""The text catalogues (laura_bot/locales/<lang>.yaml, issue #23): one per language, each with
the same texts as Dutch (the default) in staff, visitor and widget, the same variables and
placeholders in each text, and templates that render. The languages Laura speaks are the
catalogues there are; the config may offer only those."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import StrictUndefined, meta
from jinja2.sandbox import SandboxedEnvironment
from ruamel.yaml import YAML

from laura_bot.config import WIDGET_TEXTS, Config
from laura_bot.config_texts import VISITOR_TEXT_OUTPUT, VISITOR_TEXT_SAMPLES
from laura_bot.dispatch.logic import DECLINE_KEY, TAKE_KEY
from laura_bot.errors import ConfigError
from laura_bot.templates import safe_render
from laura_bot.texts import (
    LOCALES,
    SECTIONS,
    STAFF,
    VISITOR,
    WIDGET,
    available_languages,
    language_name,
    staff_text,
)
from laura_bot.textsafety import imitates_marker, visitor_name
from laura_bot.weekly import describe, edit, parse_days
from tests.test_config import load

LANGUAGES = available_languages()
OTHERS = [lang for lang in LANGUAGES if lang != "nl"]
# What the templates are filled in with: a text, else a list where a filter joins one.
LISTS = {"rooms": ["in de controlekamer", "in een direct gesprek"]}
_strict = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def catalogue(lang: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((LOCALES / f"{lang}.yaml").read_text("utf-8"))
    return data


def variables(template: str) -> set[str]:
    return set(meta.find_undeclared_variables(_strict.parse(template)))


def placeholders(text: str) -> set[str]:
    """{name}-style placeholders (the widget's, and the PDF's page number), not {{ }}."""
    return set(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", text))


def commands(text: str) -> set[str]:
    """The commands a text names (!help, !take); a text's own "!" after a word is none."""
    return set(re.findall(r"(?<![\w!])!([a-z]+)", text))


def test_the_languages_are_the_catalogue_files_the_default_first() -> None:
    files = {path.stem for path in Path(LOCALES).glob("*.yaml")}
    assert set(LANGUAGES) == files and len(LANGUAGES) == len(files)
    assert LANGUAGES[0] == "nl" and list(LANGUAGES[1:]) == sorted(LANGUAGES[1:])
    assert {"nl", "en", "pl"} <= files
    assert [language_name(lang) for lang in ("nl", "en", "pl")] == [
        "Nederlands",
        "English",
        "Polski",
    ]


@pytest.mark.parametrize("lang", OTHERS)
def test_every_language_has_exactly_the_texts_of_dutch(lang: str) -> None:
    nl, own = catalogue("nl"), catalogue(lang)
    assert set(own) == set(nl) == {"name", *SECTIONS}
    for section in SECTIONS:
        missing = set(nl[section]) - set(own[section])
        extra = set(own[section]) - set(nl[section])
        assert not missing and not extra, (section, missing, extra)
        assert all(isinstance(v, str) and v.strip() for v in own[section].values()), section


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("section", ["staff", "visitor"])
def test_every_template_renders_with_the_variables_of_its_dutch_counterpart(
    lang: str, section: str
) -> None:
    texts = {"staff": STAFF, "visitor": VISITOR}[section]
    for name, template in texts[lang].items():
        dutch = texts["nl"][name]
        wanted = variables(dutch)
        assert variables(template) == wanted, (lang, name, variables(template) ^ wanted)
        assert placeholders(template) == placeholders(dutch), (lang, name)
        for sample in ("Anna", 1, 3, 5, 22):
            values = {v: LISTS.get(v, sample) for v in wanted}
            rendered = _strict.from_string(template).render(**values)
            assert rendered.strip(), (lang, name)
            assert "{{" not in rendered or "{{" in _strict.from_string(dutch).render(**values)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_visitor_texts_are_in_the_language_an_organisation_writes_its_own_in(lang: str) -> None:
    """Laura's own visitor texts keep to the restricted language (templates.py) the config's
    overrides are checked against: they are the examples an organisation starts from."""
    for name, template in VISITOR[lang].items():
        allowed = variables(VISITOR["nl"][name])
        values = {v: VISITOR_TEXT_SAMPLES.get(v, "Anna") for v in allowed}
        assert safe_render(template, values, VISITOR_TEXT_OUTPUT), (lang, name)


@pytest.mark.parametrize("lang", OTHERS)
def test_widget_placeholders_and_named_commands_are_those_of_dutch(lang: str) -> None:
    for name, text in WIDGET[lang].items():
        assert placeholders(text) == placeholders(WIDGET["nl"][name]), (lang, name)
    for name, text in STAFF[lang].items():
        assert commands(text) == commands(STAFF["nl"][name]), (lang, name)


@pytest.mark.parametrize("lang", OTHERS)
def test_the_reactions_staff_answer_with_are_named_as_they_are(lang: str) -> None:
    """“Ik!” and “Ik kan nu niet” are Laura's fixed reaction keys in every language."""
    for name, text in STAFF["nl"].items():
        for key in (TAKE_KEY, DECLINE_KEY):
            if key in text:
                assert key in STAFF[lang][name], (lang, name, key)


def test_the_texts_an_organisation_may_word_are_widget_texts() -> None:
    for lang in LANGUAGES:
        assert set(WIDGET_TEXTS) <= set(WIDGET[lang])


def test_polish_says_a_count_in_the_form_it_needs() -> None:
    """A count inside a Polish sentence takes its form with {% if %}: "w ciągu najbliższej
    minuty" for one, "najbliższych N minut" (the genitive, every other number) else."""
    warning = VISITOR["pl"]["idle_warning"]
    assert "najbliższej minuty" in safe_render(warning, {"minutes": 1}, 500)
    for n in (2, 5, 12, 22):
        assert f"najbliższych {n} minut " in safe_render(warning, {"minutes": n}, 500)


def test_schedules_in_polish() -> None:
    assert parse_days("pn-pt") == frozenset(range(5))
    assert parse_days("sob,nd") == parse_days("za,zo") == frozenset({5, 6})
    assert parse_days("Środa") == parse_days("śr") == parse_days("sr") == frozenset({2})
    week = edit({}, "robocze", ["09:00-17:00"])
    assert describe(edit(week, "sob", ["10-12"]), "pl") == "pn–pt 09:00–17:00; sob 10:00–12:00"
    assert describe(edit(week, "pt", ["wolne"]), "pl") == "pn–czw 09:00–17:00"
    assert describe(None, "pl") == "zawsze"


def test_no_day_name_means_two_days() -> None:
    seen: dict[str, int] = {}
    for lang in LANGUAGES:
        groups = STAFF[lang]["schedule_day_names"].lower().split(";")
        assert len(groups) == 7 and len(STAFF[lang]["schedule_days_short"].split()) == 7
        for day, group in enumerate(groups):
            for name in group.split():
                assert seen.setdefault(name, day) == day, (lang, name)


@pytest.mark.parametrize(
    "name",
    [
        "Zofia Nowak",
        "Jan Kowalski",
        "Małgorzata Wiśniewska",
        "Krzysztof Wójcik",
        "Łukasz Dąbrowski",
        "Agnieszka Kowalczyk-Zielińska",
        "Grzegorz Brzęczyszczykiewicz",
        "Przemysław Portka",
        "Żaneta Szczęsna",
        "Ola",
    ],
)
def test_polish_names_are_names(name: str) -> None:
    assert visitor_name(name) == name


@pytest.mark.parametrize("name", ["Jan Zalogowano", "Anna ✔️ portal", "Ewa w Portalu"])
def test_the_polish_portal_statement_is_no_name(name: str) -> None:
    assert imitates_marker(name)
    assert imitates_marker(staff_text("pl", "verified_name", name="Jan"))


# -- the config ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key,value,names",
    [
        ("laura__languages", ["nl", "xx"], "laura.languages"),
        ("laura__languages", ["nl", "nl"], "laura.languages"),
        ("laura__staff_language", "xx", "laura.staff_language"),
    ],
)
def test_languages_without_a_catalogue_are_refused(
    tmp_path: Path, key: str, value: object, names: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, **{key: value}).validate()
    assert f"'{names}'" in str(exc.value)
    assert ", ".join(LANGUAGES) in str(exc.value)


def test_polish_may_be_offered_and_spoken_to_staff(tmp_path: Path) -> None:
    config = load(tmp_path, laura__languages=["pl", "nl"], laura__staff_language="pl")
    config.validate()
    assert config.text("pl", "welcome") == VISITOR["pl"]["welcome"]


def test_a_visitor_text_is_the_organisations_else_lauras_in_that_language_else_dutch(
    tmp_path: Path,
) -> None:
    config = load(tmp_path, texts__nl__welcome="Hallo daar!")
    config.validate()
    assert config.text("nl", "welcome") == "Hallo daar!"
    assert config.text("pl", "welcome") == VISITOR["pl"]["welcome"]  # not the nl override
    assert config.text("en", "welcome") == VISITOR["en"]["welcome"]
    assert config.text("xx", "queue_position") == VISITOR["nl"]["queue_position"]


def test_the_widget_texts_are_lauras_with_the_organisations_wording(tmp_path: Path) -> None:
    config = load(tmp_path, widget__texts={"en": {"launcher": "Talk to us"}})
    config.validate()
    assert config.widget_texts("en")["launcher"] == "Talk to us"
    assert config.widget_texts("en")["send"] == WIDGET["en"]["send"]
    assert config.widget_texts("pl") == dict(WIDGET["pl"])


def test_a_config_with_every_text_copied_in_keeps_only_its_own_wording(tmp_path: Path) -> None:
    """Earlier versions wrote every visitor text into the config: a copy of Laura's own text
    goes on the next start (it would hide later improvements); the organisation's wording
    stays."""
    copied = {lang: dict(VISITOR[lang]) for lang in ("nl", "en")}
    copied["nl"]["welcome"] = "Welkom bij de praktijk!"
    config = load(tmp_path, texts=copied)
    config.validate()
    assert dict(config["texts"]) == {"nl": {"welcome": "Welkom bij de praktijk!"}}
    assert config.text("nl", "welcome") == "Welkom bij de praktijk!"
    assert config.text("nl", "consent") == VISITOR["nl"]["consent"]
    again = Config(tmp_path / "config.yaml")
    again.load_and_update()
    assert dict(again["texts"]) == {"nl": {"welcome": "Welkom bij de praktijk!"}}
    # And a config without overrides keeps the example's empty mapping.
    (tmp_path / "fresh").mkdir()
    fresh = load(tmp_path / "fresh", laura__organization="Zorg")
    assert dict(fresh["texts"]) == {}


def test_the_widget_uses_only_texts_laura_has_and_carries_none_of_its_own() -> None:
    source = (Path(__file__).parents[1] / "widget" / "laura-widget.js").read_text()
    used = set(re.findall(r"\bT\.(\w+)", source)) | set(re.findall(r"\bt\(\"(\w+)\"", source))
    assert len(used) > 50
    assert used <= set(WIDGET["nl"]), used - set(WIDGET["nl"])
    for text in ('"Verstuur"', '"Send"', '"Wyślij"', "languageName"):
        assert text not in source, text
