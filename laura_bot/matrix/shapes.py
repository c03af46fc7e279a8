"""Shape checks for raw Matrix events: Synapse accepts content of any shape, so everything Laura
reads is checked, and what it cannot use raises Malformed (moved aside at once, never retried)."""

from __future__ import annotations

from typing import Any

from ..util import storable_text


class Malformed(Exception):
    """The event's content has a shape Laura cannot use; skipped at once, never retried."""

    def __init__(self, reason: str, notice: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.notice = notice  # staff text id for the sender, where a person is waiting


def obj(value: Any, what: str, notice: str | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not an object", notice)
    return value


def text(value: Any, what: str, notice: str | None = None) -> str:
    """A string the database can store: no NUL, no lone UTF-16 surrogate."""
    if not isinstance(value, str):
        raise Malformed(f"{what} is not a string", notice)
    if not storable_text(value):
        raise Malformed(f"{what} is not valid text", notice)
    return value
