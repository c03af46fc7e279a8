"""The vocabulary of a conversation's states (no I/O: the pure rules and the database share it)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a conversation is; stored as its value, and the widget API's `status`."""

    CHOOSING = "choosing"  # the visitor has not picked a topic yet
    WAITING = "waiting"  # in a department's queue, offered to staff
    CONNECTED = "connected"  # taken: staff are in the consult room
    CONTACT = "contact"  # nobody could take it; the visitor is asked for contact details
    ENDED = "ended"
