"""Config: the example is complete and valid; bad values name the key and the fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from laura_bot.config import EXAMPLE, Config
from laura_bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def load(tmp_path: Path, **changes: object) -> Config:
    yaml = YAML()
    data = yaml.load(EXAMPLE.read_text())
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})  # texts: {} in the example: the language is added
        node[last] = value
    path = tmp_path / "config.yaml"
    with path.open("w") as f:
        yaml.dump(data, f)
    config = Config(path)
    config.load_and_update()
    return config


def test_example_is_valid_and_secrets_are_generated(tmp_path: Path) -> None:
    config = load(tmp_path)
    config.validate()
    assert len(config["appservice.as_token"]) >= 32
    assert config["appservice.as_token"] != config["appservice.hs_token"]
    # Saved back, so the registration and Laura keep agreeing after a restart.
    again = Config(tmp_path / "config.yaml")
    again.load_and_update()
    assert again["appservice.as_token"] == config["appservice.as_token"]
    assert (ROOT / "config.example.yaml").read_text() == EXAMPLE.read_text()


@pytest.mark.parametrize(
    "key,value,names",
    [
        ("homeserver__address", "matrix.example.org", "homeserver.address"),
        ("database__url", "mysql://x", "database.url"),
        ("web__port", "eighty", "web.port"),
        ("laura__admins", ["admin"], "laura.admins"),
        ("laura__settings__dispatch_timeout", "soon", "laura.settings.dispatch_timeout"),
        ("laura__departments", [{"id": "Bad Id", "label": "x"}], "laura.departments[0].id"),
        ("laura__languages", ["fr"], "laura.languages"),
        ("appservice__bot_localpart", "Laura Bot", "appservice.bot_localpart"),
        ("web__portal_secret", "too-short", "web.portal_secret"),
        ("web__portal_required", True, "web.portal_required"),  # without a secret
        ("web__max_stream_time", 0, "web.max_stream_time"),
        ("web__allowed_origins", ["https://zorg.example.org/chat"], "web.allowed_origins"),
        ("web__allowed_origins", ["https://a.example; script-src *"], "web.allowed_origins"),
        ("widget__color", "blue", "widget.color"),
        ("widget__position", "top", "widget.position"),
        ("widget__logo_url", "javascript:alert(1)", "widget.logo_url"),
        ("widget__texts", {"nl": {"send": "Weg ermee"}}, "widget.texts.nl.send"),
        ("widget__texts", {"fr": {"launcher": "Parlez-nous"}}, "widget.texts.fr"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, key: str, value: object, names: str) -> None:
    config = load(tmp_path, **{key: value})
    with pytest.raises(ConfigError) as exc:
        config.validate()
    assert names in str(exc.value)


def test_cli_reports_bad_config_and_exits_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    shutil.copy(EXAMPLE, bad)
    bad.write_text(bad.read_text().replace("url: sqlite:laura.db", "url: mysql://nope"))
    proc = subprocess.run(
        [sys.executable, "-m", "laura_bot", "run", "-c", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "database.url" in proc.stderr and "Traceback" not in proc.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "laura_bot", "run", "-c", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_generate_registration(tmp_path: Path) -> None:
    config = load(tmp_path)
    out = tmp_path / "registration.yaml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "laura_bot",
            "generate-registration",
            "-c",
            str(tmp_path / "config.yaml"),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    reg = YAML().load(out.read_text())
    assert reg["as_token"] == config["appservice.as_token"]
    assert reg["rate_limited"] is False and reg["receive_ephemeral"] is True
    users = reg["namespaces"]["users"][0]
    assert users["exclusive"] is True
    import re

    assert re.match(users["regex"], "@laura_visitor_abc123:example.org")
    assert not re.match(users["regex"], "@anna:example.org")


def test_a_widget_colour_too_light_for_white_text_is_refused_with_its_contrast(
    tmp_path: Path,
) -> None:
    from laura_bot.config import contrast_with_white

    assert round(contrast_with_white("#0f5c8c"), 1) == 7.2  # the default
    assert contrast_with_white("#000000") == pytest.approx(21)
    assert contrast_with_white("#ffffff") == pytest.approx(1)
    config = load(tmp_path, widget__color="#4aa3df")  # a friendly light blue
    with pytest.raises(ConfigError) as exc:
        config.validate()
    assert "widget.color" in str(exc.value) and "2.8:1" in str(exc.value), exc.value
    assert "darker" in str(exc.value)


@pytest.mark.parametrize(
    "key,value,names,reason",
    [
        # A visitor text: exactly the variables of the built-in text for the same key.
        ("texts__nl__welcome", "{{ ''.__class__ }}", "texts.nl.welcome", "only text"),
        ("texts__en__consent", "{{ self }}", "texts.en.consent", "'self' is not a variable"),
        ("texts__nl__topic_chosen", "{{ position }}", "texts.nl.topic_chosen", "{{ topic }}"),
        ("texts__en__queue_position", "{{ lipsum() }}", "texts.en.queue_position", "only text"),
        ("texts__nl__staff_joined", "{{ name|center(9) }}", "texts.nl.staff_joined", "center"),
        ("texts__nl__idle_warning", "{{ minutes ", "texts.nl.idle_warning", "line 1"),
        # The welcome message's default in the config: no variables at all.
        ("laura__settings__welcome_message", "{{ topic }}", "laura.settings.welcome_message", ""),
        (
            "laura__settings__welcome_message",
            "{% for a in range(99999) %}x{% endfor %}",
            "laura.settings.welcome_message",
            "only text",
        ),
    ],
)
def test_text_templates_are_checked_at_start(
    tmp_path: Path, key: str, value: str, names: str, reason: str
) -> None:
    config = load(tmp_path, **{key: value})
    with pytest.raises(ConfigError) as exc:
        config.validate()
    assert f"'{names}'" in str(exc.value) and reason in str(exc.value), exc.value


def test_text_overrides_may_use_what_the_built_in_text_uses(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        texts__nl__topic_chosen="Over {{ topic|upper }}: {% if topic %}ja{% endif %}",
        texts__en__idle_warning="{{ minutes }} min",
        texts__en__welcome="Hi! {# a note #}",
        laura__settings__welcome_message="{% if true %}Welkom{% endif %}",
    )
    config.validate()
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, texts__en__idle_warning="{{ minutes }} {{ topic }}").validate()
    assert "texts.en.idle_warning" in str(exc.value) and "{{ minutes }}" in str(exc.value)
