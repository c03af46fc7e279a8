"""The organisation's own wording in the config: visitor texts (texts.<lang>.<name>) over
Laura's own (the catalogues, texts.py). How the config updater keeps them, and how they are
checked at start; config.py calls these."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from mautrix.util.config import ConfigUpdateHelper
from ruamel.yaml.comments import CommentedMap

from .errors import ConfigError
from .templates import FILTERS, TemplateRefused, safe_render, variables_of
from .texts import VISITOR, available_languages

# The visitor texts (texts.<lang>.<name>) are templates in the restricted language
# (templates.py), with the variables of Laura's text of the same name; for the check at start
# they are filled in with values of the kind Laura fills in (a number for these, a name for the
# others), to at most this many characters.
VISITOR_TEXT_SAMPLES: dict[str, object] = {"minutes": 5, "position": 2}
VISITOR_TEXT_OUTPUT = 4000


@cache
def builtin_texts() -> dict[str, dict[str, str]]:
    """Laura's own visitor texts, per language (the catalogues' visitor sections)."""
    return {lang: dict(VISITOR[lang]) for lang in available_languages()}


def languages() -> str:
    """The languages Laura has texts in, for a message: "nl, en, pl"."""
    return ", ".join(available_languages())


def template_fix(refused: TemplateRefused, allowed: frozenset[str]) -> str:
    """What is wrong with a template in the config, and how to put it right."""
    names = ", ".join(f"{{{{ {v} }}}}" for v in sorted(allowed))
    if refused.kind == "syntax":
        v = refused.values
        return f"the template is malformed ({v['message']}, line {v['line']})"
    if refused.kind == "variable":
        uses = f"it may use {names}" if names else "it has none (write it without {{ }})"
        return f"'{refused.values['name']}' is not a variable of this text: {uses}"
    if refused.kind == "filter":
        allowed_filters = ", ".join(f for f in FILTERS if f != "d")
        return f"the filter {refused.values['name']} is not allowed (these are: {allowed_filters})"
    if refused.kind == "too_long":
        return f"filled in, it is longer than {refused.values['limit']} characters"
    if refused.kind == "runtime":
        return "the template cannot be filled in"
    return (
        "only text, "
        + (f"the variables {names}, " if names else "")
        + "{% if %} and simple filters are allowed (no attributes, calls, loops, arithmetic "
        "or other statements)"
    )


def update_texts(helper: ConfigUpdateHelper) -> None:
    """texts.<lang>.<name>: the organisation's own wording, kept. A text that is Laura's own
    word for word is left out: earlier versions copied all of them into the config, where they
    would have hidden every later improvement of Laura's texts."""
    own = helper.source["texts"]
    if not isinstance(own, dict):
        helper.copy("texts")  # not a mapping: validate_texts says what is wrong
        return
    builtin = builtin_texts()
    kept = CommentedMap()
    for lang, names in own.items():
        if not isinstance(names, dict):
            kept[lang] = names
            continue
        mine = CommentedMap(
            (name, text)
            for name, text in names.items()
            if text is not None and text != builtin.get(str(lang), {}).get(str(name))
        )
        if mine:
            kept[lang] = mine
    if kept:
        helper.base["texts"] = kept


def validate_texts(texts: Any, need: Callable[[str, bool, str], None]) -> None:
    """texts.<lang>.<name>: templates in the restricted language (templates.py), each with
    exactly the variables Laura's own text of that name uses."""
    builtin = builtin_texts()
    need("texts", isinstance(texts, dict), "use a mapping per language of names to texts")
    for lang, own in texts.items():
        need(f"texts.{lang}", isinstance(own, dict), "use a mapping of names to texts")
        for name, text in own.items():
            if text is None:  # left empty: Laura's own text
                continue
            key = f"texts.{lang}.{name}"
            need(key, isinstance(text, str), "use a text (in quotes)")
            allowed = frozenset(
                v for b in builtin.values() if name in b for v in variables_of(b[name])
            )
            values = {v: VISITOR_TEXT_SAMPLES.get(v, "Anna") for v in allowed}
            try:
                safe_render(text, values, VISITOR_TEXT_OUTPUT)
            except TemplateRefused as e:  # the key says which text: not the whole text
                fix = template_fix(e, allowed)
                raise ConfigError(f"config key '{key}' is invalid: {fix}") from None
