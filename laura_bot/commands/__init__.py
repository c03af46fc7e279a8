"""Bot commands: `!name args` in a room with Laura. Each reply says what happened or why not.

The framework is in base.py; each module beside it registers its commands when imported, as
this package does here."""

from . import (  # noqa: F401
    appointment_admin,
    appointments,
    canned,
    cases,
    consult,
    control,
    dashboard,
    dispatch,
    help,
    personal,
    reports,
    supervise,
    webhooks,
)
from .base import (
    CONSULT,
    CONTROL,
    DISPATCH,
    OTHER,
    Command,
    Context,
    Handler,
    Registry,
    ReplyHandler,
    Services,
    registry,
    split,
)

__all__ = [
    "CONSULT",
    "CONTROL",
    "DISPATCH",
    "OTHER",
    "Command",
    "Context",
    "Handler",
    "Registry",
    "ReplyHandler",
    "Services",
    "registry",
    "split",
]
