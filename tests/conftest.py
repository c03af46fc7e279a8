"""Fixtures: one real Synapse per test session, Laura on SQLite or a fresh PostgreSQL database,
staff as matrix-nio clients, visitors over HTTP."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from laura_bot.app import Laura
from laura_bot.db import Store, create_database
from laura_bot.dev.demo import write_laura_config
from laura_bot.dev.synapse import Synapse, free_port
from laura_bot.logs import install as install_privacy_filter
from laura_bot.mail.catcher import MailCatcher
from tests.helpers import SECRETS, Staff, Visitor, is_msg

PG_DSN = os.environ.get("LAURA_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")
IN_CI = bool(os.environ.get("CI"))
USERS = ("admin", "anna", "bram", "carla", "outsider")
DEPARTMENTS = [
    {"id": "huisarts", "label": "Huisartsenpraktijk", "staff": ["anna", "bram"]},
    {"id": "thuiszorg", "label": "Thuiszorg", "staff": ["carla"]},
]


def password(user: str) -> str:
    return f"pw-{user}-7391"


async def _pg_ok() -> bool:
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=5)
    except Exception:
        return False
    await conn.close()
    return True


def _no_pg() -> None:
    msg = (
        f"PostgreSQL is not reachable at {PG_DSN}: the PostgreSQL half of the DB tests "
        "cannot run. Start PostgreSQL or set LAURA_TEST_PG."
    )
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


# The run's time budget: an integration test runs on one database where its database work
# is the same on both, the store's statements being tested on both by the DB tests and by
# the integration tests of what differs (races, restarts, files, erasure, retention). Those
# that run on one say which, spread over both.
ON_POSTGRES = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
ON_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'laura.db'}"
        return
    if not await _pg_ok():
        _no_pg()
    name = f"laura_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(PG_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = PG_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(PG_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest_asyncio.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """Laura's stores over a fresh database (SQLite or PostgreSQL), without Synapse."""
    db = create_database(db_url, {"min_size": 1, "max_size": 5} if "postgres" in db_url else {})
    await db.start()
    try:
        yield Store(db)
    finally:
        await db.stop()


@dataclass
class SynapseEnv:
    synapse: Synapse
    as_port: int
    as_token: str
    hs_token: str
    dir: Path
    # The SMTP server every test Laura sends its mail to (aiosmtpd, in this process).
    mail: MailCatcher = field(default_factory=MailCatcher)

    def mxid(self, user: str) -> str:
        return f"@{user}:localhost"

    async def stop(self) -> None:
        self.synapse.stop()
        await self.mail.stop()


def laura_overrides(env: SynapseEnv, db_url: str, web_port: int) -> dict[str, Any]:
    return {
        "homeserver.address": env.synapse.url,
        "homeserver.domain": "localhost",
        "appservice.port": env.as_port,
        "appservice.address": f"http://127.0.0.1:{env.as_port}",
        "appservice.as_token": env.as_token,
        "appservice.hs_token": env.hs_token,
        "database.url": db_url,
        "web.port": web_port,
        "web.public_url": f"http://127.0.0.1:{web_port}",
        "laura.admins": [env.mxid("admin")],
        "laura.departments": [
            {"id": d["id"], "label": d["label"], "staff": [env.mxid(u) for u in d["staff"]]}
            for d in DEPARTMENTS
        ],
        "laura.settings.dispatch_timeout": "5m",
        "laura.settings.queue_update_interval": "5m",
        "mail.host": "127.0.0.1",
        "mail.port": env.mail.port,
        "mail.security": "none",
        "mail.from": "afspraken@zorg.example",
        "appointments.default_location": "Praktijk, Dorpsstraat 1",
        # The team's dashboard costs a few requests per room at every start: only the tests
        # of the dashboard (and the operators' API fuzz) switch it on.
        "dashboard.enabled": False,
    }


async def start_synapse_env(d: Path) -> SynapseEnv:
    """A throwaway Synapse with Laura's registration (tokens and AS port chosen here) and the
    test users registered."""
    env = SynapseEnv(
        # Passwords hashed with 4 bcrypt rounds, as Synapse's own tests do: each staff
        # client's login (five in every team test) checks one, 0.3 s of CPU at the default 12.
        Synapse(d / "synapse", free_port(), "localhost", extra={"bcrypt_rounds": 4}),
        free_port(),
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(32),
        d,
    )
    await env.mail.start()
    config = write_laura_config(
        d / "reference.yaml", laura_overrides(env, "sqlite:unused.db", free_port())
    )
    registration = d / "registration.yaml"
    import json

    registration.write_text(json.dumps(config.generate_registration()))
    env.synapse.registrations = [registration]
    SECRETS.update((env.as_token, env.hs_token))
    await env.synapse.start()
    for user in USERS:
        await env.synapse.register(user, password(user), admin=(user == "admin"))
    await env.synapse.make_admin(
        config.bot_mxid, env.as_token, "admin", password("admin")
    )  # retention
    return env


@pytest_asyncio.fixture(scope="session")
async def synapse_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SynapseEnv]:
    env = await start_synapse_env(tmp_path_factory.mktemp("matrix"))
    yield env
    await env.stop()


def _with_port(value: Any, port: int) -> Any:
    return value.replace("{web_port}", str(port)) if isinstance(value, str) else value


@dataclass
class LauraHandle:
    env: SynapseEnv
    db_url: str
    dir: Path
    extra: dict[str, Any] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)
    laura: Laura | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/api/v1"

    async def start(self) -> Laura:
        # "{web_port}" in a string of the extra config: this Laura's web port (for origins).
        extra = {
            k: [_with_port(x, self.web_port) for x in v]
            if isinstance(v, list)
            else _with_port(v, self.web_port)
            for k, v in self.extra.items()
        }
        overrides = laura_overrides(self.env, self.db_url, self.web_port) | extra
        config = write_laura_config(self.dir / "config.yaml", overrides)
        self.laura = Laura(config, demo_pages=True)
        await self.laura.start()
        return self.laura

    async def stop(self) -> None:
        if self.laura:
            await self.laura.stop()
            self.laura = None


@pytest_asyncio.fixture
async def laura_handle(
    synapse_env: SynapseEnv, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[LauraHandle]:
    marker = request.node.get_closest_marker("laura_config")
    handle = LauraHandle(synapse_env, db_url, tmp_path, dict(marker.args[0]) if marker else {})
    await handle.start()
    try:
        yield handle
    finally:
        await handle.stop()


@dataclass
class Team:
    """The demo team, logged in and joined to Laura's rooms."""

    handle: LauraHandle
    members: dict[str, Staff]
    rooms: dict[str, str]  # huisarts / thuiszorg / control / contact → room id

    def __getitem__(self, user: str) -> Staff:
        return self.members[user]

    @property
    def laura(self) -> Laura:
        assert self.handle.laura
        return self.handle.laura

    async def visitor(self, topic: str | None = "huisarts", name: str | None = "Piet") -> Visitor:
        v = Visitor(self.handle.api)
        self._visitors.append(v)
        return await v.start(name=name, topic=topic)

    async def take(self, name: str, staff: str = "anna") -> str:
        """`staff` takes the huisarts request of the visitor called `name` (however that
        visitor came: HTTP or a browser) and joins its consult room, which is returned."""
        member = self[staff]
        dispatch = await member.wait_for(
            lambda e: (
                is_msg(self.rooms["huisarts"], body_has=f"van {name}", msgtype="m.text")(e)
                and "m.relates_to" not in e["content"]
            )
        )
        await member.react(self.rooms["huisarts"], dispatch["event_id"], "Ik!")
        consult = await member.wait_invite()
        await member.join(consult)
        return consult

    async def connected(self, name: str, staff: str = "anna") -> tuple[Visitor, str]:
        """A visitor of huisarts whose chat `staff` took and joined: (visitor, consult room)."""
        visitor = await self.visitor(name=name)
        consult = await self.take(name, staff)
        await visitor.wait_status("connected")
        session = await self.laura.store.sessions.get_by_id(visitor.session_id)
        assert session and session.conversation_id
        conv = await self.laura.store.conversations.get_by_id(session.conversation_id)
        assert conv and conv.room_id == consult
        return visitor, consult

    _visitors: list[Visitor] = field(default_factory=list)


@pytest_asyncio.fixture
async def team(laura_handle: LauraHandle) -> AsyncIterator[Team]:
    env = laura_handle.env
    laura = laura_handle.laura
    assert laura
    rooms = {d.id: d.room_id or "" for d in await laura.store.departments.all_active()}
    rooms["control"] = laura.bridge.control_room or ""
    rooms["contact"] = laura.bridge.contact_room or ""
    members: dict[str, Staff] = {}
    joins = {
        "admin": ["control", "contact"],
        "anna": ["huisarts", "contact"],
        "bram": ["huisarts", "contact"],
        "carla": ["thuiszorg", "contact"],
        "outsider": [],
    }

    async def member(user: str) -> None:
        staff = members[user] = Staff(env.synapse.url, env.mxid(user), password(user))
        await staff.start()
        await asyncio.gather(*(staff.join(rooms[key]) for key in joins[user]))

    # Together: each is a few requests the homeserver answers in turn, and they add up in
    # every test that has a team.
    results = await asyncio.gather(*(member(u) for u in joins), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        for staff in members.values():
            await staff.stop()
        raise failed[0]
    t = Team(laura_handle, members, rooms)
    try:
        yield t
    finally:
        for v in t._visitors:
            await v.close()
        for staff in members.values():
            await staff.stop()


class LogCapture(logging.Handler):
    """Everything Laura's process logs (Laura, mautrix, aiohttp, …) at every level, through the
    same privacy filter as `laura run` installs; the test clients' own loggers are left out."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("nio", "tests", "peewee", "playwright")):
            return
        self.lines.append(self.format(record))


LOG_CAPTURE = LogCapture()


@pytest.fixture(scope="session", autouse=True)
def whole_run_log_scan() -> Iterator[LogCapture]:
    """No chat text, contact detail or token in any log line at any level. Every
    token, chat text and contact detail the tests send is registered in helpers.SECRETS; at the
    end of the run the whole log output is searched for each of them."""
    root = logging.getLogger()
    install_privacy_filter(LOG_CAPTURE)
    root.addHandler(LOG_CAPTURE)
    levels = {}
    for name in ("laura_bot", "mau", "mautrix", "aiohttp"):
        levels[name] = logging.getLogger(name).level
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield LOG_CAPTURE
    root.removeHandler(LOG_CAPTURE)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    text = "\n".join(LOG_CAPTURE.lines)
    leaked = sorted(s for s in SECRETS if s in text)
    if leaked:
        where = [line for line in LOG_CAPTURE.lines if any(s in line for s in leaked)][:5]
        pytest.fail(f"{len(leaked)} secrets reached the log, e.g. in: {where}")


CHROMIUM = os.environ.get("LAURA_CHROMIUM", "/usr/bin/chromium")


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Real headless Chromium (Debian's package) driven by Playwright."""
    if not Path(CHROMIUM).exists():
        msg = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        await b.close()
