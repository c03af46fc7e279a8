"""Conversations: the domain rules, decided in the database.

lifecycle.py holds the moves every side shares (queue, end, ask for contact details, hand
back); visitor.py what a visitor does through the widget API, staff.py what staff do in Matrix,
timers.py the deadlines. Token checks and event streams are the web layer's (web/auth.py,
web/stream.py)."""

from .lifecycle import Lifecycle
from .staff import StaffActions
from .timers import Timers
from .visitor import Conversations, hash_token

__all__ = ["Conversations", "Lifecycle", "StaffActions", "Timers", "hash_token"]
