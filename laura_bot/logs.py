"""Logging set-up with a privacy filter: no chat text, contact detail or token in any log line.

Laura's own code logs ids and state changes only. Libraries are less careful: mautrix logs the
JSON body of every request it sends at DEBUG (chat text, for a message) and the whole event when
one does not deserialize; aiohttp can log request details with tracebacks. The filter sits on the
handlers, so it sees every record from every logger at every level, and rewrites those.
"""

from __future__ import annotations

import logging
import logging.config
import re
import traceback
from typing import Any

import pythonjsonlogger.json

_THIRD_PARTY = ("mau", "mautrix", "aiohttp", "asyncio", "apscheduler")
# A token in a query string (a request line in an access log, a URL in an error).
_QUERY_TOKEN = re.compile(r"((?:access_token|token)=)[^&\s\"']+")


def _scrub(value: Any) -> Any:
    """Structured values (event content, request bodies) are replaced; plain scalars stay."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return f"<{type(value).__name__} hidden>"


def traceback_without_messages(exc: BaseException) -> str:
    """Where an exception (and what caused it) was raised, frame by frame, with the exception
    classes but not their messages: a message can quote the value it choked on (asyncpg does,
    for one), and that value can be a visitor's words."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{type(current).__name__}")
        current = current.__cause__ or current.__context__
    return "\n\nwhile handling, or caused by:\n".join(reversed(parts))


class PrivacyFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Any logger, Laura's own included: keep the frames, drop the messages.
            record.exc_text = traceback_without_messages(record.exc_info[1])
        request = getattr(record, "matrix_http_request", None)
        if isinstance(request, dict):
            # mautrix's "req #N: PUT <url> <json body>": keep the request line, drop the body.
            record.msg = "req #%s: %s %s"
            record.args = (request.get("req_id"), request.get("method"), request.get("url"))
            record.matrix_http_request = {k: request.get(k) for k in ("req_id", "method", "url")}
            return True
        if not record.name.startswith(_THIRD_PARTY):
            return True
        if "token=" in str(record.msg) or any("token=" in str(a) for a in record.args or ()):
            record.msg = _QUERY_TOKEN.sub(r"\1<hidden>", record.getMessage())
            record.args = ()
        if isinstance(record.args, dict):
            record.args = {k: _scrub(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_scrub(a) for a in record.args)
        msg = record.msg if isinstance(record.msg, str) else str(record.msg)
        if "{" in msg and record.name.startswith(("mau", "mautrix")):
            # A message with JSON already formatted in (an f-string): keep what precedes it.
            record.msg = msg.split("{", 1)[0].rstrip() + " <content hidden>"
            record.args = ()
        return True


def install(handler: logging.Handler) -> None:
    if not any(isinstance(f, PrivacyFilter) for f in handler.filters):
        handler.addFilter(PrivacyFilter())


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object a line (for Loki, Elasticsearch, journald's JSON export). A traceback
    is the privacy filter's: frames and exception classes, never their messages."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return traceback_without_messages(ei[1]) if ei and ei[1] is not None else ""


FORMATS = ("text", "json")


def setup(level: str = "INFO", fmt: str = "text") -> None:
    """Laura's logging, through dictConfig: one handler on stderr, text or JSON, with the
    privacy filter on it."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"privacy": {"()": PrivacyFilter}},
            "formatters": {
                "text": {"()": TextFormatter},
                "json": {"()": JsonFormatter},
            },
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": fmt if fmt in FORMATS else "text",
                    "filters": ["privacy"],
                }
            },
            "root": {
                "level": getattr(logging, level.upper(), logging.INFO),
                "handlers": ["stderr"],
            },
        }
    )
    for handler in logging.getLogger().handlers:
        install(handler)
    for noisy in ("mau.as", "laura_bot.matrix.appservice", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
