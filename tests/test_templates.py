"""Templates admins and staff write (the welcome message, canned answers, the config's visitor
texts): one restricted language, checked when saved and again when rendered, with a cap on what
a template may produce. A welcome message that cannot be used never stops a chat from starting:
the visitor gets Laura's built-in welcome, and the log says so once."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ruamel.yaml import YAML

from laura_bot.commands import split
from laura_bot.commands.control import cmd_set
from laura_bot.config import EXAMPLE, Config
from laura_bot.conversation import Conversations, Lifecycle
from laura_bot.db import Store
from laura_bot.notifier import Notifier
from laura_bot.scheduler import Clock
from laura_bot.settings import SettingRefused, Settings
from laura_bot.texts import available_languages, staff_text

# The templates of the security finding: a 500 for every new chat, a Python object shown to the
# visitor, seconds of CPU per visitor, megabytes per visitor.
ATTACKS = (
    "{{ self.__init__.__globals__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ \"''\".format }}",
    "{% for a in range(99999) %}{% for b in range(999) %}x{% endfor %}{% endfor %}",
    "{{ 'x' * 5000000 }}",
)


def example_config(tmp_path: Path) -> Config:
    yaml = YAML()
    path = tmp_path / "config.yaml"
    with path.open("w") as f:
        yaml.dump(yaml.load(EXAMPLE.read_text()), f)
    config = Config(path)
    config.load_and_update()
    return config


class MemorySettings:
    """The setting table, in memory (for the checks that need no database)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        self.values[key] = value


def control_room(settings: Settings, lang: str) -> Any:
    """What !set needs of a command's context."""
    t = lambda text_id, **values: staff_text(lang, text_id, **values)  # noqa: E731
    return lambda args: SimpleNamespace(bridge=SimpleNamespace(t=t), args=args, settings=settings)


# !set welcome_message ----------------------------------------------------------------------------


@pytest.mark.parametrize("template", ATTACKS)
async def test_set_welcome_message_refuses_the_attacks_with_a_reason(
    tmp_path: Path, template: str
) -> None:
    memory = MemorySettings()
    settings = Settings(example_config(tmp_path), memory)  # type: ignore[arg-type]
    # The underlying check: the template exactly as given.
    with pytest.raises(SettingRefused) as refused:
        await settings.set("welcome_message", template)
    assert refused.value.text_id.startswith("set_template_")
    for lang in available_languages():
        reason = staff_text(lang, refused.value.text_id, **refused.value.values)
        assert "welcome_message" in reason and template not in reason, reason
    # The command as an admin types it (its words split as a command's are).
    context = control_room(settings, "en")
    _, args = split(f"!set welcome_message {template}")
    reply = await cmd_set(context(args))
    assert reply.startswith("Not changed: welcome_message"), reply
    assert memory.values == {}
    # A plain welcome, or one with {% if %}, is taken as before.
    assert "is now" in await cmd_set(context(["welcome_message", "Welkom", "bij", "Oost!"]))
    assert await settings.set("welcome_message", "{% if true %}Hallo{% endif %}!") == (
        "{% if true %}Hallo{% endif %}!"
    )


@pytest.mark.parametrize("lang", available_languages())
async def test_a_variable_in_the_welcome_message_is_refused_by_name(
    tmp_path: Path, lang: str
) -> None:
    """The welcome message gets no variables: {{ anything }} is refused, naming it."""
    settings = Settings(example_config(tmp_path), MemorySettings())  # type: ignore[arg-type]
    reply = await cmd_set(control_room(settings, lang)(["welcome_message", "Hoi", "{{ naam }}"]))
    assert "naam" in reply and "welcome_message" in reply, reply
    not_changed = staff_text(lang, "set_unknown", key="", keys="").split(":")[0]
    assert reply.startswith(not_changed), reply


# A welcome stored before the check (or by hand) --------------------------------------------------


async def test_a_stored_attack_welcome_still_starts_the_chat_with_the_built_in_welcome(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    config = example_config(tmp_path)
    settings, notifier = Settings(config, store.settings), Notifier()

    def kick(_conv_id: str, urgent: bool = False) -> None:
        pass

    async def schedule(_conv_id: str) -> None:
        pass

    # Starting a chat routes nothing: no routing.
    lifecycle = Lifecycle(
        config,
        store,
        settings,
        notifier,
        Clock(),
        kick,
        None,
        schedule,  # type: ignore[arg-type]
    )
    conversations = Conversations(
        config,
        store,
        settings,
        notifier,
        lifecycle,
        None,
        kick,
        lambda: None,  # type: ignore[arg-type]
    )
    caplog.set_level(logging.INFO, logger="laura_bot")
    for template in (*ATTACKS, ATTACKS[1]):  # the second one twice
        await store.settings.set("setting.welcome_message", template)
        for lang in ("nl", "en"):
            session, _ = await conversations.create_session("Pim", None, lang)
            events = await store.events.after(session.id, 0)
            bodies = [e.body for e in events if e.type == "message"]
            assert bodies == [config.text(lang, "welcome")], (template, bodies)
    # One line per distinct template, however many chats it spoiled; never the template itself.
    lines = [r.getMessage() for r in caplog.records if "welcome_message" in r.getMessage()]
    assert len(lines) == len(ATTACKS), lines
    assert not any(t in line for t in ATTACKS for line in lines)
    # A good welcome is used again at once.
    await store.settings.set("setting.welcome_message", "Welkom bij Zorggroep Oost!")
    session, _ = await conversations.create_session("Pim", None, "nl")
    assert [e.body for e in await store.events.after(session.id, 0) if e.type == "message"] == [
        "Welkom bij Zorggroep Oost!"
    ]


# The shared check and renderer -------------------------------------------------------------------


def test_safe_render_refuses_output_over_its_limit() -> None:
    from laura_bot.templates import TemplateRefused, safe_render

    assert safe_render("Hoi {{ naam|upper }}", {"naam": "Pim"}, 100) == "Hoi PIM"
    with pytest.raises(TemplateRefused) as refused:
        safe_render("{{ naam }}" * 10, {"naam": "x" * 50}, 400)
    assert refused.value.kind == "too_long"
    with pytest.raises(TemplateRefused) as refused:
        safe_render("{{ ander }}", {"naam": "Pim"}, 100)
    assert refused.value.kind == "variable" and refused.value.values["name"] == "ander"
    for template in ATTACKS:
        with pytest.raises(TemplateRefused):
            safe_render(template, {}, 4000)


def test_render_time_failures_are_refusals() -> None:
    """What the check lets through but cannot render (comparing a number with a text) is a
    refusal too, never an exception of Jinja's or Python's."""
    from laura_bot.templates import TemplateRefused, safe_render

    with pytest.raises(TemplateRefused) as refused:
        safe_render("{% if n > 'a' %}x{% endif %}", {"n": 3}, 100)
    assert refused.value.kind == "runtime"
