"""The command framework: what a command gets (Services, Context), the registry, and how a
command line is split. The commands themselves are in the modules beside this one."""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from mautrix.errors import MatrixError
from mautrix.types import EventID, RoomID

if TYPE_CHECKING:
    from ..appointments.service import Appointments
    from ..config import Config
    from ..conversation import Conversations, Lifecycle, StaffActions
    from ..dashboard.room import DashboardRooms
    from ..db import Store
    from ..dispatch.answers import Dispatch
    from ..dispatch.routing import Routing
    from ..exports import Transcripts
    from ..matrix.bridge import MatrixBridge
    from ..matrix.monitor import Monitors
    from ..settings import Settings
    from ..video import Video

CONTROL, DISPATCH, CONSULT, OTHER = "control", "dispatch", "consult", "other"
ANY_ROOM = (CONTROL, DISPATCH, CONSULT, OTHER)  # each staff member's own commands
MXID = re.compile(r"^@[^:\s]+:\S+$")  # a Matrix user id as typed in a command

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What commands may use; the composition root (app.py) hands it over."""

    config: Config
    store: Store
    bridge: MatrixBridge
    settings: Settings
    conversations: Conversations
    staff_actions: StaffActions
    lifecycle: Lifecycle
    dispatch: Dispatch
    routing: Routing
    commands: Registry
    kick_rooms: Callable[[list[str]], None]  # handle a room's pending inbox events now
    video: Video
    transcripts: Transcripts
    monitors: Monitors
    appointments: Appointments
    dashboard: DashboardRooms | None = None  # the team's dashboard widget in the rooms


@dataclass
class Context:
    """One command call: the services, and where and by whom it was given."""

    services: Services
    room_id: str
    room_kind: str
    sender: str
    event_id: str
    args: list[str]

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def bridge(self) -> MatrixBridge:
        return self.services.bridge

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def conversations(self) -> Conversations:
        return self.services.conversations

    @property
    def staff_actions(self) -> StaffActions:
        return self.services.staff_actions

    @property
    def lifecycle(self) -> Lifecycle:
        return self.services.lifecycle

    @property
    def dispatch(self) -> Dispatch:
        return self.services.dispatch

    @property
    def routing(self) -> Routing:
        return self.services.routing

    @property
    def commands(self) -> Registry:
        return self.services.commands


Handler = Callable[[Context], Awaitable[str]]
# A step of a dialogue: Laura asked something, and a staff member answered by replying to it.
ReplyHandler = Callable[[Context, str], Awaitable[str]]


@dataclass
class Command:
    """A command; its usage and help are staff texts (cmd_<name>_usage, cmd_<name>_help), in
    the configured staff language, with help_values filled in."""

    name: str
    rooms: tuple[str, ...]
    handler: Handler
    admin: bool = False
    help_values: dict[str, str] = field(default_factory=dict)


@dataclass
class Registry:
    commands: dict[str, Command] = field(default_factory=dict)
    # Laura's open questions (by their event id) and what handles the reply to each. Kept in
    # memory: after a restart a reply to an old question is held back and explained.
    replies: dict[str, ReplyHandler] = field(default_factory=dict)
    # Other words for a command (the English `!appointment` for `!afspraak`).
    aliases: dict[str, str] = field(default_factory=dict)

    def expect_reply(self, question_event_id: str, handler: ReplyHandler) -> None:
        self.replies[question_event_id] = handler

    def register(
        self,
        name: str,
        rooms: tuple[str, ...],
        admin: bool = False,
        aliases: tuple[str, ...] = (),
        **help_values: str,
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.commands[name] = Command(name, rooms, fn, admin, help_values)
            self.aliases.update(dict.fromkeys(aliases, name))
            return fn

        return deco

    def get(self, word: str) -> Command | None:
        return self.commands.get(self.aliases.get(word, word))

    def for_room(self, kind: str) -> list[Command]:
        return [c for c in self.commands.values() if kind in c.rooms]


registry = Registry()


def split(text: str) -> tuple[str, list[str]]:
    """'!staff add @a:b x' → ('staff', ['add', '@a:b', 'x'])."""
    head, _, rest = text[1:].strip().partition(" ")
    try:
        args = shlex.split(rest)
    except ValueError:
        args = rest.split()
    return head.lower(), args


async def typed_text(ctx: Context, words: tuple[str, ...]) -> str:
    """What followed the command word, exactly as typed. ctx.args went through shlex, which
    eats quotes and backslashes (`"Spoed" recept` would lose its quotes), so the event is read
    back."""
    body = None
    try:
        event = await ctx.bridge.bot.get_event(RoomID(ctx.room_id), EventID(ctx.event_id))
        body = getattr(event.content, "body", None)
    except (MatrixError, aiohttp.ClientError, TimeoutError) as e:
        log.warning("Could not read back command event %s: %s", ctx.event_id, type(e).__name__)
    if isinstance(body, str):
        pattern = r"^\s*!(?:" + "|".join(map(re.escape, words)) + r")(?:\s+|$)"
        if match := re.match(pattern, body, re.IGNORECASE):
            return body[match.end() :].strip()
    return " ".join(ctx.args)
