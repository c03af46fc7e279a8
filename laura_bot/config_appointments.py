"""The config's `appointments:` and `mail:` sections: kept on update, checked at start."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mautrix.util.config import ConfigUpdateHelper

from .mail.addresses import BadAddress, check_address
from .util import parse_duration

TYPE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
TITLE_MAX = 120
OUTCOME_MAX = 60
MINUTES = (5, 720)
SECURITY = ("none", "starttls", "tls")

_KEYS = (
    "appointments.types",
    "appointments.default_location",
    "appointments.feed_details",
    "appointments.booking.offer",
    "appointments.booking.kinds",
    "appointments.booking.slot_minutes",
    "appointments.booking.lead_time",
    "appointments.booking.horizon_days",
    "mail.host",
    "mail.port",
    "mail.security",
    "mail.username",
    "mail.password",
    "mail.from",
    "mail.from_name",
    "mail.max_attempts",
    "mail.templates",
    "mail.reply_to",
)


def update_appointments(helper: ConfigUpdateHelper) -> None:
    for key in _KEYS:
        helper.copy(key)


def type_problem(name: Any, title: Any, minutes: Any, outcomes: Any) -> str | None:
    """What is wrong with an appointment type, or None (shared with !afspraaktype)."""
    if not isinstance(name, str) or not TYPE_NAME.match(name):
        return "name: use a-z, 0-9, - and _ (at most 32), starting with a letter or digit"
    if not isinstance(title, str) or not title.strip() or len(title) > TITLE_MAX:
        return f"title: use a text of 1 to {TITLE_MAX} characters"
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        return "minutes: use a whole number"
    if not MINUTES[0] <= minutes <= MINUTES[1]:
        return f"minutes: use {MINUTES[0]} to {MINUTES[1]}"
    if not isinstance(outcomes, list) or not all(
        isinstance(o, str) and o.strip() and len(o) <= OUTCOME_MAX and "|" not in o
        for o in outcomes
    ):
        return f"outcomes: use a list of texts of 1 to {OUTCOME_MAX} characters, without '|'"
    return None


def validate_appointments(config: Any, need: Callable[[str, bool, str], None]) -> None:
    """config: the Config (typed loosely: config.py imports this module)."""
    types = config["appointments.types"]
    need("appointments.types", isinstance(types, list), "use a list of types (see the example)")
    seen: set[str] = set()
    for i, kind in enumerate(types):
        key = f"appointments.types[{i}]"
        if not isinstance(kind, dict):
            need("appointments.types", False, f"{key} must be a mapping with name, title, ...")
            continue
        problem = type_problem(
            kind.get("name"), kind.get("title"), kind.get("minutes"), kind.get("outcomes", [])
        )
        need("appointments.types", problem is None, f"{key}.{problem}")
        need(
            "appointments.types",
            isinstance(kind.get("video", False), bool),
            f"{key}.video: write true or false",
        )
        need("appointments.types", kind["name"] not in seen, f"{key}: the name is used twice")
        seen.add(kind["name"])
    location = config["appointments.default_location"]
    need(
        "appointments.default_location",
        location in ("", None) or (isinstance(location, str) and len(location) <= 300),
        "use an address of at most 300 characters, or leave it empty",
    )
    need(
        "appointments.feed_details",
        isinstance(config["appointments.feed_details"], bool),
        "write true or false",
    )
    need(
        "appointments.booking.offer",
        config["appointments.booking.offer"] in ("always", "when_unavailable", "off"),
        "use always, when_unavailable or off",
    )
    kinds = config["appointments.booking.kinds"]
    need(
        "appointments.booking.kinds",
        isinstance(kinds, list) and all(k in ("chat", "phone", "video") for k in kinds),
        "use a list of chat, phone and video",
    )
    slot = config["appointments.booking.slot_minutes"]
    need(
        "appointments.booking.slot_minutes",
        isinstance(slot, int) and not isinstance(slot, bool) and 10 <= slot <= 240,
        "use a whole number of minutes from 10 to 240",
    )
    try:
        lead = parse_duration(config["appointments.booking.lead_time"])
    except ValueError:
        lead = -1.0
    need("appointments.booking.lead_time", 0 <= lead <= 30 * 86400, "use a duration, like 2h")
    horizon = config["appointments.booking.horizon_days"]
    need(
        "appointments.booking.horizon_days",
        isinstance(horizon, int) and not isinstance(horizon, bool) and 1 <= horizon <= 90,
        "use a whole number of days from 1 to 90",
    )
    host = config["mail.host"]
    need("mail.host", host in ("", None) or isinstance(host, str), "use a host name, or ''")
    port = config["mail.port"]
    need(
        "mail.port",
        isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536,
        "use a port number, like 587",
    )
    need("mail.security", config["mail.security"] in SECURITY, "use none, starttls or tls")
    attempts = config["mail.max_attempts"]
    need(
        "mail.max_attempts",
        isinstance(attempts, int) and not isinstance(attempts, bool) and 1 <= attempts <= 50,
        "use a whole number from 1 to 50",
    )
    folder = config["mail.templates"]
    need(
        "mail.templates",
        folder in ("", None) or (isinstance(folder, str) and Path(folder).is_dir()),
        "use the path of a folder laid out like laura_bot/mail/templates, or leave it empty",
    )
    if config["mail.reply_to"]:
        need(
            "mail.reply_to",
            _is_address(config["mail.reply_to"]),
            "use an e-mail address, or leave it empty",
        )
    if host:
        need(
            "mail.from",
            _is_address(config["mail.from"]),
            "use the organisation's address, like afspraken@example.org",
        )


def _is_address(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(check_address(value))
    except BadAddress:
        return False


def booking_offer(config: Any) -> dict[str, Any]:
    """What the widget is told of booking: when it is offered, and which kinds (video only
    with a Jitsi server)."""
    video = bool(config["video.jitsi_url"])
    kinds = [
        k
        for k in config["appointments.booking.kinds"]
        if k in ("chat", "phone", "video") and (video or k != "video")
    ]
    return {"offer": str(config["appointments.booking.offer"]), "kinds": kinds}
