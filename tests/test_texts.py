"""Every staff text, command replies and !help included, exists in both staff languages."""

from __future__ import annotations

import re
from pathlib import Path

from laura_bot.commands import registry
from laura_bot.texts import STAFF, staff_text


def test_both_languages_have_the_same_texts() -> None:
    assert set(STAFF["nl"]) == set(STAFF["en"])


def test_every_command_has_usage_and_help_in_both_languages() -> None:
    assert {"help", "close", "set", "staff", "deadletters"} <= set(registry.commands)
    for cmd in registry.commands.values():
        for lang in ("nl", "en"):
            usage = staff_text(lang, f"cmd_{cmd.name}_usage")
            help_text = staff_text(lang, f"cmd_{cmd.name}_help", **cmd.help_values)
            prefix = "#" if cmd.name == "#" else f"!{cmd.name}"  # canned answers: "#name"
            assert usage.startswith(prefix) and help_text, (lang, cmd.name)
            assert "{{" not in help_text


def test_the_widget_has_every_text_in_every_language() -> None:
    """The widget's texts live in one table per language (TEXTS in laura-widget.js); an
    organisation adding a language must give every text, and so must we."""
    source = (Path(__file__).parents[1] / "widget" / "laura-widget.js").read_text()
    table = source[
        source.index("var TEXTS = {") : source.index("\n  };", source.index("var TEXTS"))
    ]
    blocks = re.split(r"\n    ([a-z]{2}): \{", table)[1:]
    languages = dict(zip(blocks[::2], blocks[1::2], strict=True))
    assert set(languages) == {"nl", "en"}
    keys = {
        lang: set(re.findall(r"(?:^|[\s,{])([a-zA-Z]\w*): \"", body))
        for lang, body in languages.items()
    }
    assert len(keys["nl"]) > 50
    assert keys["nl"] == keys["en"], keys["nl"] ^ keys["en"]


def test_the_texts_an_organisation_may_word_are_the_same_in_laura_and_the_widget() -> None:
    from laura_bot.config import WIDGET_TEXTS

    source = (Path(__file__).parents[1] / "widget" / "laura-widget.js").read_text()
    listed = source[
        source.index("var BRANDABLE = [") : source.index("];", source.index("var BRANDABLE"))
    ]
    assert re.findall(r'"(\w+)"', listed) == list(WIDGET_TEXTS)
