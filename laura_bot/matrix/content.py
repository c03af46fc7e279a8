"""The content of every message Laura sends, built with mautrix's types and relation helpers
(set_reply, set_thread_parent, set_edit, trim_reply_fallback).

What mautrix 0.21 has no field for is added here, and only here: `m.mentions`. Laura always
says whom a message notifies: nobody (`{}`) unless people are named (`{"user_ids": [...]}`),
so that nothing a visitor wrote can ping anyone. mautrix's set_reply (this version) adds the
relation only, no quoted fallback: Laura's messages never quote the message they answer.
"""

from __future__ import annotations

import html
from typing import TypeVar

from mautrix.types import (
    ContentURI,
    EventID,
    FileInfo,
    Format,
    ImageInfo,
    MediaMessageEventContent,
    MessageType,
    ReactionEventContent,
    RelatesTo,
    RelationType,
    TextMessageEventContent,
)

MENTIONS = "m.mentions"
C = TypeVar("C", bound=TextMessageEventContent)


def _mentions(content: C, people: list[str] | None = None) -> C:
    """Who the message notifies: exactly these people, or nobody."""
    content[MENTIONS] = {"user_ids": people} if people is not None else {}
    return content


def pill(user_id: str) -> str:
    return f'<a href="https://matrix.to/#/{html.escape(user_id)}">{html.escape(user_id)}</a>'


def text(body: str, formatted: str | None = None) -> TextMessageEventContent:
    """An m.text that notifies nobody (with an HTML version when given)."""
    content = TextMessageEventContent(msgtype=MessageType.TEXT, body=body)
    if formatted is not None:
        content.format, content.formatted_body = Format.HTML, formatted
    return _mentions(content)


def notice(body: str, reply_to: str | None = None) -> TextMessageEventContent:
    """An m.notice (never notifies), as a reply when reply_to is given."""
    content = _mentions(TextMessageEventContent(msgtype=MessageType.NOTICE, body=body))
    if reply_to:
        content.set_reply(EventID(reply_to))
    return content


def mention(body: str, people: list[str], reply_to: str | None = None) -> TextMessageEventContent:
    """An m.text that notifies these people (named below the text, as pills in the HTML)."""
    formatted = html.escape(body)
    if people:
        body += "\n" + ", ".join(people)
        formatted += "<br>" + ", ".join(pill(p) for p in people)
    content = TextMessageEventContent(
        msgtype=MessageType.TEXT, body=body, format=Format.HTML, formatted_body=formatted
    )
    if reply_to:
        content.set_reply(EventID(reply_to))
    return _mentions(content, people)


def in_thread(root: str, body: str) -> TextMessageEventContent:
    """An m.text in the thread of root (falling back to a reply to it for older clients)."""
    content = text(body)
    content.set_thread_parent(EventID(root))
    return content


def edit(of: str, body: str, msgtype: MessageType = MessageType.TEXT) -> TextMessageEventContent:
    """A replacement of event `of` by this text (`* ` before the body, the new content in
    m.new_content): an edit never notifies anyone."""
    content = _mentions(TextMessageEventContent(msgtype=msgtype, body=body))
    content.set_edit(EventID(of))
    return content


def reaction(event_id: str, key: str) -> ReactionEventContent:
    return ReactionEventContent(
        relates_to=RelatesTo(rel_type=RelationType.ANNOTATION, event_id=EventID(event_id), key=key)
    )


def file(
    name: str, url: str, info: FileInfo | ImageInfo, image: bool = False
) -> MediaMessageEventContent:
    """An m.file (or m.image) that notifies nobody."""
    content = MediaMessageEventContent(
        msgtype=MessageType.IMAGE if image else MessageType.FILE,
        body=name,
        filename=name,
        url=ContentURI(url),
        info=info,
    )
    return _mentions(content)


def trim_reply_fallback(body: str, reply_to: str) -> str:
    """The text of a reply without the quote older clients put before it ("> <@anna:x> …",
    then a blank line): mautrix's trim_reply_fallback, on the body alone."""
    content = TextMessageEventContent(msgtype=MessageType.TEXT, body=body)
    content.set_reply(EventID(reply_to))
    content.trim_reply_fallback()
    return content.body
