"""Small helpers without I/O: durations, ids, time."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

# At most 9 digits before and 3 after the point: enough for any sane duration, and no float
# or integer overflow further on.
_DURATION = re.compile(r"^\s*(\d{1,9}(?:\.\d{1,3})?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: str | int | float) -> float:
    """``"30s"``, ``"5m"``, ``"2h"``, ``"30d"`` (or a bare number of seconds) → seconds."""
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, int | float):
        if not 0 <= value < 1e12:  # also refuses NaN and infinity
            raise ValueError("a duration must be a positive number of seconds")
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration; write it like 30s, 5m, 2h or 30d")
    return float(match.group(1)) * _UNIT[match.group(2)]


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


# One e-mail rule for every place a visitor gives an address: something@domain.tld, without
# spaces or characters that could break out of the text it is shown in.
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']+\.[^@\s<>\"']{2,}$")


def valid_email(value: str) -> bool:
    return len(value) <= 254 and bool(_EMAIL.match(value))


def storable_text(value: str) -> bool:
    """Text both databases can store: no NUL character (PostgreSQL refuses it) and no lone
    UTF-16 surrogate (a JSON escape like \\ud800 makes one; it is not Unicode text)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def now_ms() -> int:
    return int(time.time() * 1000)


def new_txn_id() -> str:
    """A transaction id for one send to Matrix, stored before the first try and reused on
    every retry (never for anything else)."""
    return f"laura.{secrets.token_hex(12)}"


def random_id(nbytes: int = 10) -> str:
    """A lowercase opaque id, safe for Matrix localparts and URLs."""
    return secrets.token_hex(nbytes)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600): the registration and the config hold the
    appservice tokens, and Laura's as_token has server-admin power once @laura is an admin."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)  # a file that existed keeps its mode through O_CREAT: set it
