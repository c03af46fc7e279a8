"""What kind of failure an exception is, and how to name it without leaking content.

Transient failures (the homeserver or the database is unreachable, a 5xx or 429) are worth
retrying for a long time: the same event will succeed once the other side is back. Anything else
is a bug or a poison event: retried a few times, then moved aside so it cannot stall the rest.
"""

from __future__ import annotations

import asyncio
import sqlite3
import traceback
from pathlib import Path

from aiohttp import ClientError, ClientResponseError
from mautrix.errors import MatrixConnectionError, MatrixRequestError

try:  # asyncpg is a declared dependency, but keep this module importable without it
    from asyncpg import InterfaceError, PostgresConnectionError
    from asyncpg.exceptions import CannotConnectNowError, TooManyConnectionsError

    _PG_TRANSIENT: tuple[type[BaseException], ...] = (
        PostgresConnectionError,
        InterfaceError,
        CannotConnectNowError,
        TooManyConnectionsError,
    )
except ImportError:  # pragma: no cover
    _PG_TRANSIENT = ()


def is_transient(e: BaseException) -> bool:
    if isinstance(e, MatrixRequestError):
        status = getattr(e, "http_status", 0)
        return status >= 500 or status in (0, 429)
    if isinstance(e, ClientResponseError):  # a refusal (4xx) stays a refusal when retried
        return e.status >= 500 or e.status == 429
    if isinstance(e, ClientError | MatrixConnectionError | OSError | asyncio.TimeoutError):
        return True
    if isinstance(e, sqlite3.OperationalError):
        return "locked" in str(e) or "busy" in str(e)
    return isinstance(e, _PG_TRANSIENT)


def describe(e: BaseException) -> str:
    """The exception's class and where it was raised (file:line in function), without its
    message: messages can quote event content or visitor input."""
    frames = traceback.extract_tb(e.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" at {Path(last.filename).name}:{last.lineno} in {last.name}"
    code = ""
    if isinstance(e, MatrixRequestError):
        code = f" {getattr(e, 'http_status', '?')} {getattr(e, 'errcode', '?')}"
    return f"{type(e).__name__}{code}{where}"
