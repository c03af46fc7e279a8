"""Every staff text, command replies and !help included, exists in every staff language (the
catalogues themselves, and the widget's texts: test_locales.py)."""

from __future__ import annotations

from laura_bot.commands import registry
from laura_bot.texts import STAFF, available_languages, staff_text


def test_every_language_has_the_same_staff_texts() -> None:
    for lang in available_languages():
        assert set(STAFF[lang]) == set(STAFF["nl"]), lang


def test_every_command_has_usage_and_help_in_every_language() -> None:
    assert {"help", "close", "set", "staff", "deadletters"} <= set(registry.commands)
    for cmd in registry.commands.values():
        for lang in available_languages():
            usage = staff_text(lang, f"cmd_{cmd.name}_usage")
            help_text = staff_text(lang, f"cmd_{cmd.name}_help", **cmd.help_values)
            prefix = "#" if cmd.name == "#" else f"!{cmd.name}"  # canned answers: "#name"
            assert usage.startswith(prefix) and help_text, (lang, cmd.name)
            assert "{{" not in help_text


def test_an_unknown_language_speaks_dutch() -> None:
    assert staff_text("xx", "waiting_none") == staff_text("nl", "waiting_none")
