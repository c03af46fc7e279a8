"""Templates that people write: canned answers (staff), the welcome message (admins, !set) and the
visitor texts of the config (the organisation). One restricted language for all of them.

A template may hold only text, the variables its place offers, if/else, comparisons, `~` and a
few plain filters: no attributes, no calls, no loops, no arithmetic, no assignments, no globals
such as `self`, `range` or `lipsum`. It is checked when it is saved (or, for the config, at
start) and again whenever it is rendered, in Laura's sandbox (texts.py), with a cap on what it
may produce. So a template can never reach Laura's internals, print a Python object, take long
to render, or blow up into a huge text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from .texts import render_parts

FILTERS = ("upper", "lower", "capitalize", "title", "trim", "default", "d")
_ALLOWED = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
    nodes.Filter,
)
_parser = SandboxedEnvironment()  # only parses; rendering is texts.py's sandbox


class TemplateRefused(Exception):
    """Why a template cannot be used. kind is one of: syntax (values: message, line),
    construct, variable (values: name), filter (values: name), runtime, too_long (values:
    limit). Each place that takes templates words these for its own readers."""

    def __init__(self, kind: str, **values: Any) -> None:
        super().__init__(kind)
        self.kind = kind
        self.values = values


@lru_cache(maxsize=512)
def _verdict(text: str, allowed: frozenset[str]) -> tuple[str, tuple[tuple[str, Any], ...]] | None:
    """None for a template in the language with only allowed variables, else (kind, values).
    Cached: a stored template is checked again each time it is rendered."""
    try:
        tree = _parser.parse(text)
    except TemplateSyntaxError as e:
        return "syntax", (("message", (e.message or "").rstrip(".")), ("line", e.lineno))
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED):
            return "construct", ()
        if isinstance(node, nodes.Name) and (node.ctx != "load" or node.name not in allowed):
            return "variable", (("name", node.name[:40]),)
        if isinstance(node, nodes.Filter) and node.name not in FILTERS:
            return "filter", (("name", node.name[:40]),)
    return None


def check_template(text: str, allowed: Iterable[str]) -> None:
    """Raises TemplateRefused unless text is a template in the restricted language that uses
    no variable outside allowed (an empty set: none at all)."""
    verdict = _verdict(text, frozenset(allowed))
    if verdict is not None:
        kind, values = verdict
        raise TemplateRefused(kind, **dict(values))


def variables_of(text: str) -> frozenset[str]:
    """The variables a (trusted, built-in) template uses."""
    return frozenset(meta.find_undeclared_variables(_parser.parse(text)))


def safe_render(template: str, variables: Mapping[str, Any], max_chars: int) -> str:
    """The template filled in with variables, which are also the only names it may use;
    TemplateRefused when it is not in the restricted language, fails to render, or would be
    longer than max_chars.

    Time is bounded by the template's length: the language has no loops, calls or arithmetic,
    so rendering is one pass over the (checked) template. The output is bounded too (text,
    constants and variables, each at most once per place it is written), and capped here
    besides: rendering stops as soon as it passes max_chars."""
    check_template(template, variables.keys())
    parts: list[str] = []
    length = 0
    try:
        for part in render_parts(template, **variables):
            length += len(part)
            if length > max_chars:
                raise TemplateRefused("too_long", limit=max_chars)
            parts.append(part)
    except TemplateRefused:
        raise
    except Exception as e:  # whatever a checked template still trips over is a refusal
        raise TemplateRefused("runtime") from e
    return "".join(parts)
