"""Every staff text, command replies and !help included, exists in both staff languages."""

from __future__ import annotations

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
