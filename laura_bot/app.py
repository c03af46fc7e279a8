"""The composition root: wires config, database, appservice, bridge, web and clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import ClientError, web
from mautrix.api import Method, Path
from mautrix.errors import MatrixError

from . import __version__
from .appointments.parts import AppointmentParts
from .commands import Context, Registry, Services, registry
from .commands.runner import CommandRunner
from .config import Config
from .config_ops import metrics_listen, webhook_endpoints
from .conversation import Conversations, Lifecycle, StaffActions, Timers
from .dashboard.auth import DashboardAuth
from .dashboard.room import DashboardRooms
from .dashboard.view import DashboardView
from .db import Store, create_database
from .db.reports import ReportStore
from .dispatch.answers import Dispatch
from .dispatch.routing import Routing
from .exports import Transcripts
from .faults import describe
from .files import Files
from .matrix.appservice import InboxAppService
from .matrix.bridge import MatrixBridge
from .matrix.catchup import CatchUp
from .matrix.consult_room import ConsultRoom
from .matrix.dispatch_room import DispatchRoom
from .matrix.erasure import Eraser
from .matrix.monitor import Monitors
from .matrix.presence import Presence
from .matrix.router import Router
from .matrix.state_store import StateStore
from .matrix.typing import MatrixTyping
from .metrics import Metrics
from .notifier import Notifier
from .privacy import Retention
from .reports import Reports
from .scheduler import Clock
from .settings import Settings
from .tasks import KeyedRunner
from .typing_state import Typing
from .util import now_ms
from .video import Video
from .web.api import Media
from .web.auth import Authenticator
from .web.dashboard import Dashboard
from .web.server import LauraRunner, build_app
from .web.stream import EventStreams
from .webhooks import Webhooks

log = logging.getLogger(__name__)
REMEMBER_MS = 7 * 24 * 3600 * 1000  # how long sends and command runs are remembered
INBOX_STALLED_MS = 60_000  # an event unhandled this long makes Laura not ready (GET /ready)
MATRIX_CONCURRENCY = 16  # conversations whose Matrix side is brought up to date at once


class StartupError(Exception):
    """Laura cannot start; the message says why and what to do."""


class Laura:
    def __init__(self, config: Config, demo_pages: bool = False) -> None:
        """demo_pages: serve the demo pages (/ and /widget/demo*.html); only `laura dev` and the
        tests do. Not a config key: a production Laura never serves them."""
        self.config = config
        self.demo_pages = demo_pages
        self.db = create_database(config["database.url"], config["database.args"])
        self.store = Store(self.db)
        self.state_store = StateStore(self.db)
        self.notifier = Notifier()
        self.clock = Clock()
        self.settings = Settings(config, self.store.settings)
        self.commands: Registry = registry
        self._ready = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._web_runner: web.AppRunner | None = None
        self.web_port: int = config["web.port"]
        self.az = InboxAppService(
            server=config["homeserver.address"],
            domain=config["homeserver.domain"],
            as_token=config["appservice.as_token"],
            hs_token=config["appservice.hs_token"],
            bot_localpart=config["appservice.bot_localpart"],
            id=config["appservice.id"],
            state_store=self.state_store,
            ephemeral_events=True,
            log="mau.as",  # mautrix's own records: the privacy filter treats them as a library's
            aiohttp_params={"client_max_size": 32 * 1024 * 1024},
            persist=self.store.inbox.add_many,
            is_own_user=config.is_own_user,
            on_stored=self._on_inbox,
            on_presence=lambda user, presence: self.presence.changed(user, presence),
            on_typing=self._on_typing,
            on_transaction=lambda txn_id, stored: self.catch_up.transaction(txn_id, stored),
        )
        self.catch_up = CatchUp(
            self.az,
            self._served_rooms,
            config.is_own_user,
            self.store.inbox.add_many,
            lambda: self.router.hold(),  # the router is made below: it needs the domain
            lambda rooms: self.router.release(rooms),
            self._homeserver_back,
        )
        self.matrix_runner = KeyedRunner(
            "matrix",
            lambda conv_id: self.bridge.pump.sync_conversation(conv_id),  # the bridge is next
            on_transient=self.catch_up.suspect,
            limit=MATRIX_CONCURRENCY,
        )
        self.bridge = MatrixBridge(
            config,
            self.store,
            self.az,
            self.matrix_runner.kick_later,
            lambda conv: self.retention.deletion_date(conv),  # retention is made below
        )
        self.contact_runner = KeyedRunner(
            "contacts", self.bridge.contact_requests.post, on_transient=self.catch_up.suspect
        )
        self.routing = Routing(
            config,
            self.store,
            self.settings,
            self.clock,
            self.bridge.people.members_cached,
            self.matrix_runner.kick,
            lambda conv, reason: self.lifecycle.ask_contact(conv, reason),  # made next
        )
        kick_contacts = lambda: self.contact_runner.kick("contacts")  # noqa: E731
        self.presence = Presence(
            self.store,
            self.az,
            self.bridge.people.members,
            self.routing.kick_all,
            lambda: self._ready,
        )
        self.lifecycle = Lifecycle(
            config,
            self.store,
            self.settings,
            self.notifier,
            self.clock,
            self.matrix_runner.kick,
            self.routing,
            lambda conv_id: self.timers.schedule(conv_id),  # made next
        )
        self.timers = Timers(
            self.store,
            self.settings,
            self.notifier,
            self.clock,
            self.lifecycle,
            self.matrix_runner.kick,
            kick_contacts,
        )
        self.conversations = Conversations(
            config,
            self.store,
            self.settings,
            self.notifier,
            self.lifecycle,
            self.routing,
            self.matrix_runner.kick,
            kick_contacts,
        )
        self.staff_actions = StaffActions(
            self.store,
            self.notifier,
            self.lifecycle,
            self.routing,
            self.matrix_runner.kick,
            self.timers.schedule_idle,
        )
        self.dispatch = Dispatch(self.store, self.staff_actions, self.routing)
        kick = self.matrix_runner.kick
        self.files = Files(
            config, self.store, self.settings, self.notifier, self.conversations, kick
        )
        self.video = Video(config, self.store, self.notifier, self.conversations)
        self.typing = Typing(
            config,
            self.store,
            self.settings,
            self.notifier,
            self.conversations,
            MatrixTyping(self.store, self.bridge),
        )
        self.transcripts = Transcripts(config, self.store)
        self.eraser = Eraser(
            self.store, lambda: self.az.intent, self._not_admin, self.state_store.forget_room
        )
        self.erasure_runner = KeyedRunner("erasure", self.eraser.run)
        self.retention = Retention(
            config,
            self.store,
            self.settings,
            self.clock,
            lambda: self.erasure_runner.kick("all"),
            lambda session: self.conversations.end_by_visitor(session, None),
            self.timers.end_quiet,
            lambda: self.bridge.contact_room,
            lambda: self.bridge.control_room,
            self.notifier.end,
            lambda chats: self.appointments.service.cancel_coming(chats),
        )
        self._typing_latest: dict[str, list[str]] = {}
        self.typing_runner = KeyedRunner("typing", self._staff_typing)
        self.monitors = Monitors(config, self.store, self.bridge)
        self.notifier.listeners.append(self.monitors.on_event)
        self.lifecycle.after_end.append(self.monitors.chat_ended)
        self.lifecycle.after_visitor_message.append(self.typing.visitor_sent)
        self.lifecycle.after_end.append(self.typing.visitor_sent)
        self.appointments = AppointmentParts(
            config,
            self.store,
            self.settings,
            self.notifier,
            self.clock,
            self.bridge,
            self.routing.topic_availability,
            lambda session, dept, adviser: self.conversations.open_booked(session, dept, adviser),
        )
        self.dashboard_rooms = DashboardRooms(config, self.store, self.bridge)
        self.dashboard = Dashboard(
            config,
            DashboardAuth(config),
            DashboardView(
                config,
                self.store,
                self.bridge,
                self.routing,
                self.dispatch,
                self.appointments.service,
            ),
            Reports(ReportStore(self.store.db), str(config["laura.timezone"])),
        )
        self.store.outbound.observers.append(
            lambda h: self.dashboard.view.kick(h.department) if h.department else None
        )
        services = Services(
            config,
            self.store,
            self.bridge,
            self.settings,
            self.conversations,
            self.staff_actions,
            self.lifecycle,
            self.dispatch,
            self.routing,
            self.commands,
            lambda rooms: self.router.kick(rooms),
            self.video,
            self.transcripts,
            self.monitors,
            self.appointments.service,
            self.dashboard_rooms,
        )
        self.metrics = Metrics()
        self.store.outbound.observers.append(self.metrics.observe)
        self.webhooks = Webhooks(
            self.store.outbound, webhook_endpoints(config), self.clock, self._webhooks_failing
        )
        self._metrics_runner: web.AppRunner | None = None
        self.router = Router(
            config,
            self.store,
            self.bridge,
            DispatchRoom(self.store, self.bridge, self.dispatch, self.routing, self.staff_actions),
            ConsultRoom(self.store, self.bridge, self.staff_actions, self.files, self.video),
            CommandRunner(
                config,
                self.store,
                self.bridge,
                self.commands,
                lambda room_id, kind, sender, event_id, args: Context(
                    services, room_id, kind, sender, event_id, args
                ),
            ),
        )

    async def _served_rooms(self) -> list[str]:
        """Every room whose events Laura acts on."""
        rooms = [r for r in (self.bridge.control_room,) if r]
        rooms += [d.room_id for d in await self.store.departments.all_active() if d.room_id]
        return rooms + await self.store.conversations.open_rooms()

    async def _database_ok(self) -> bool:
        return await self.store.db.fetchval("SELECT 1") == 1

    async def _homeserver_ok(self) -> bool:
        await self.az.intent.api.request(Method.GET, Path.versions)
        return True

    async def _inbox_ok(self) -> bool:
        """Nothing has waited in the inbox for more than a minute (retries aside)."""
        oldest = await self.store.inbox.oldest_pending()
        return oldest is None or now_ms() - oldest < INBOX_STALLED_MS

    async def _webhooks_failing(self, host: str, attempts: int, error: str) -> None:
        if self.bridge.control_room:
            text = self.bridge.t("webhooks_given_up", host=host, attempts=attempts, error=error)
            await self.bridge.notice(self.bridge.control_room, text)

    async def _departments(self) -> list[str]:
        return [d.id for d in await self.store.departments.all_active()]

    async def _start_metrics(self) -> None:
        """The Matrix client's requests are timed from here on; the listener only if enabled."""
        session = self.az._http_session  # mautrix makes it without a way to pass trace configs
        if session is not None:
            session._trace_configs.append(self.metrics.trace_config())
        self.metrics.start_lag_probe()
        if not self.config["metrics.enabled"]:
            return
        host, port = metrics_listen(self.config["metrics.listen"])
        self._metrics_runner = web.AppRunner(
            self.metrics.app(self.store, self._departments), access_log=None
        )
        await self._metrics_runner.setup()
        await web.TCPSite(self._metrics_runner, host, port).start()
        log.info("Metrics for Prometheus on http://%s:%s/metrics", host, port)

    async def _not_admin(self) -> None:
        """Told once per run: deletions on the homeserver wait until Laura is a server admin."""
        if self.bridge.control_room:
            try:
                await self.bridge.notice(self.bridge.control_room, self.bridge.t("not_admin"))
            except Exception as e:
                log.warning("Could not tell the control room: %s", describe(e))

    async def _homeserver_back(self) -> None:
        """Flush Synapse's backoff towards us and retry pending sends now, not in 30 s."""
        try:
            await self.az.ping_self()
        except Exception as e:
            log.warning("Ping after the homeserver came back failed: %s", describe(e))
        self.matrix_runner.wake_all()
        self.contact_runner.wake_all()

    def _on_typing(self, room_id: str, user_ids: list[str]) -> None:
        """Who types in a room: one room at a time, and only its latest list counts (two
        quick updates handled at once could otherwise end in the older one)."""
        if self._ready:
            self._typing_latest[room_id] = user_ids
            self.typing_runner.kick(room_id)

    async def _staff_typing(self, room_id: str) -> None:
        user_ids = self._typing_latest.get(room_id)
        if user_ids is None:
            return
        await self.typing.staff_typing(room_id, user_ids)  # a failure is retried, with this list
        if self._typing_latest.get(room_id) is user_ids:
            del self._typing_latest[room_id]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)  # a task nobody holds may be collected before it ends
        task.add_done_callback(self._tasks.discard)

    def _on_inbox(self, room_ids: set[str]) -> None:
        if self._ready:
            self.router.kick(room_ids)

    async def start(self) -> None:
        await self.db.start()
        await self.state_store.upgrade_table.upgrade(self.db)
        await self.store.sends.prune(now_ms() - REMEMBER_MS)
        await self.store.commands.prune(now_ms() - REMEMBER_MS)
        await self.az.start(self.config["appservice.hostname"], self.config["appservice.port"])
        await self._start_metrics()
        await self._wait_for_homeserver()
        bot = self.az.intent
        await bot.set_displayname(self.config["appservice.bot_displayname"])
        await self.bridge.rooms.ensure_rooms()
        await self.bridge.rooms.reconcile_people()
        await self.dashboard_rooms.ensure()
        await self.presence.refresh()
        self._web_runner = LauraRunner(
            build_app(
                self.conversations,
                Authenticator(self.store),
                EventStreams(self.store, self.notifier),
                self.config,
                Media(self.files, self.video, self.typing, self.transcripts, self.retention),
                demo_pages=self.demo_pages,
                appointments=self.appointments,
                dashboard=self.dashboard if self.config["dashboard.enabled"] else None,
                health={
                    "database": self._database_ok,
                    "homeserver": self._homeserver_ok,
                    "inbox": self._inbox_ok,
                },
            ),
            access_log=None,
            shutdown_timeout=5,
        )
        await self._web_runner.setup()
        site = web.TCPSite(self._web_runner, self.config["web.hostname"], self.config["web.port"])
        await site.start()
        self.clock.start()
        await self.timers.restore()
        await self.routing.restore()
        await self.typing.restore()
        await self.monitors.restore()
        await self.appointments.start()
        self.retention.start()
        await self.webhooks.start()
        self._ready = True
        try:
            await self.az.ping_self()  # proves both directions and flushes Synapse's backoff
        except Exception as e:
            log.warning(
                "The homeserver could not reach Laura's appservice listener (%s). "
                "Check appservice.address in the config and the registration file.",
                e,
            )
        self.az.ready = True
        await self.catch_up.run()
        self.catch_up.recovering()  # Synapse is now resending what it held back
        self.catch_up.start_watching(self.config["homeserver.address"])
        log.info("Laura %s is running: widget API on port %s", __version__, self.web_port)

    async def _wait_for_homeserver(self, attempts: int = 30) -> None:
        for attempt in range(attempts):
            try:
                await self.az.intent.ensure_registered()
                return
            except (ClientError, OSError, MatrixError) as e:
                if isinstance(e, MatrixError) and getattr(e, "errcode", "") in (
                    "M_UNKNOWN_TOKEN",
                    "M_FORBIDDEN",
                ):
                    raise StartupError(
                        "The homeserver refused Laura's as_token. Is the registration file "
                        "(laura generate-registration) listed in app_service_config_files, "
                        "and was Synapse restarted after that?"
                    ) from e
                if attempt == attempts - 1:
                    raise StartupError(
                        f"Cannot reach the homeserver at {self.config['homeserver.address']}: {e}"
                    ) from e
                await asyncio.sleep(1)

    async def stop(self) -> None:
        self._ready = False
        await self.catch_up.stop()
        self.notifier.wake_all()
        if self._web_runner:
            await self._web_runner.cleanup()
        await self.router.close()
        await self.timers.close()
        await self.routing.close()
        await self.monitors.close()
        await self.appointments.close()
        await self.webhooks.close()
        await self.dashboard.auth.close()
        await self.metrics.close()
        if self._metrics_runner:
            await self._metrics_runner.cleanup()
        for runner in (
            self.matrix_runner,
            self.contact_runner,
            self.typing_runner,
            self.erasure_runner,
        ):
            await runner.idle(timeout=5)
            await runner.close()
        self.clock.stop()
        await self.az.stop()
        await self.db.stop()
        log.info("Laura stopped")
