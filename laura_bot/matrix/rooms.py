"""Room templates: who may do what. Room v12: the creator (bot) must not be listed in users."""

from __future__ import annotations

from typing import Any

LOCKED_STATE = (
    "m.room.name",
    "m.room.topic",
    "m.room.avatar",
    "m.room.power_levels",
    "m.room.history_visibility",
    "m.room.encryption",
    "m.room.retention",
    "m.room.join_rules",
    "m.room.guest_access",
    "im.vector.modular.widgets",
    "io.element.widgets.layout",
    "m.room.tombstone",
    "m.room.server_acl",
)


def consult_power_levels(ghost: str) -> dict[str, Any]:
    """A consult room: as power_levels, but staff (everyone invited besides the ghost) may add
    and remove widgets, so that Element's own video call button works there; the visitor's
    ghost may not, and nobody but Laura may redact what others wrote."""
    levels = power_levels({ghost: 0})
    levels["users_default"] = 50
    levels["redact"] = 100
    levels["events"].update({"im.vector.modular.widgets": 50, "io.element.widgets.layout": 50})
    return levels


def power_levels(users: dict[str, int] | None = None) -> dict[str, Any]:
    """Staff and ghosts may talk and react; nobody but Laura changes state, invites or kicks."""
    return {
        "users": dict(users or {}),
        "users_default": 0,
        "events_default": 0,
        "state_default": 100,
        "invite": 100,
        "kick": 100,
        "ban": 100,
        "redact": 50,
        "events": dict.fromkeys(LOCKED_STATE, 100) | {"m.reaction": 0, "m.room.redaction": 0},
        "notifications": {"room": 100},
    }


def private_state() -> list[dict[str, Any]]:
    """Invite only, and history shared with members, so a taker or colleague reads what came
    before. Made with the public_chat preset (whose join rule this replaces): it is the one
    preset that sends no guest_access event, so guests are refused by the spec's default
    (forbidden) at one event less per room than private_chat, which allows them and needs a
    second event to refuse them."""
    return [
        {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "invite"}},
        {
            "type": "m.room.history_visibility",
            "state_key": "",
            "content": {"history_visibility": "shared"},
        },
    ]
