"""Privacy (C2, C3): proof of deletion, the visitor's own "delete my data", and the audit trail.

The canary test plants unique strings everywhere a chat leaves a trace (the visitor's name,
their message, a staff reply, a file's name and bytes in both directions, a transcript export,
a case, a contact request), lets a short retention pass and then looks for them:

- in Laura's database: on SQLite in the raw bytes of the file and its -wal (deleted pages are
  zeroed, the log is emptied); on PostgreSQL in every row of every table (bytea as hex);
- in Synapse's database, every row of every table (its own Synapse, so nothing else is there),
  and in every file of its media store;
- in Synapse's log, and (at the end of the run, see conftest.py) in every log line of the run.

These tests get a Synapse of their own: what is in its database must come from them alone.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from laura_bot.app import Laura
from laura_bot.db import Store
from laura_bot.db.base import transaction
from laura_bot.dev.synapse import free_port
from laura_bot.privacy import YEAR_MS
from laura_bot.util import now_ms
from tests.conftest import LauraHandle, SynapseEnv, password, start_synapse_env
from tests.helpers import SECRETS, Staff, Visitor, is_msg, minimal_pdf, reply_to

pytestmark = pytest.mark.synapse

FAST = {
    "laura.settings.retention": "10s",
    "laura.settings.contact_retention": "10s",
    "laura.settings.case_retention": "10s",
    "privacy.sweep_interval": "1s",
}


@pytest_asyncio.fixture(scope="module")
async def own_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SynapseEnv]:
    env = await start_synapse_env(tmp_path_factory.mktemp("privacy"))
    yield env
    await env.stop()


def canary(what: str) -> str:
    value = f"KANARIE{what}{secrets.token_hex(6)}"
    SECRETS.add(value)  # the whole run's log output is searched for it too
    return value


def pdf_with(text: str) -> bytes:
    return minimal_pdf(comment=text.encode())


async def staff(env: SynapseEnv, user: str) -> Staff:
    member = await Staff(env.synapse.url, env.mxid(user), password(user)).start()
    await asyncio.sleep(0.5)
    for room in list(member.invites | member.stale_invites):
        await member.join(room)
    return member


async def upload(visitor: Visitor, data: bytes, name: str, mime: str) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type=mime)
    _, body = await visitor.call(
        "POST", f"/sessions/{visitor.session_id}/attachments", data=form, expect=201
    )
    return dict(body)


async def request_for(member: Staff, nickname: str) -> dict[str, Any]:
    return await member.wait_for(
        lambda e: (
            is_msg(body_has=nickname, msgtype="m.text")(e) and "m.relates_to" not in e["content"]
        ),
        what=f"the request of {nickname}",
    )


async def nobody_can_take(visitor: Visitor, nick: str, text: str, *team: Staff) -> None:
    """The visitor asks; everyone declines; Laura asks for contact details."""
    await visitor.start(name=nick, topic="huisarts")
    await visitor.say(text)
    request = await request_for(team[0], nick)
    for member in team:
        await member.react(request["room_id"], request["event_id"], "Ik kan nu niet")
    await visitor.wait_status("contact")


async def wait_erased(
    laura: Laura, session_ids: list[str], timeout: float = 180, cases_kept: int = 0
) -> None:
    """Until every chat of these visitors is deleted and the homeserver's part is done
    (cases_kept: cases that stay, as they do when a visitor deletes their data); on a
    timeout, the failure names what was still there."""
    store = laura.store
    left: dict[str, object] = {}

    async def rows(query: str) -> list[tuple[object, ...]]:
        return [tuple(r) for r in await store.db.fetch(query)]

    try:
        async with asyncio.timeout(timeout):
            while True:
                erased = [await store.sessions.get_by_id(s) for s in session_ids]
                left = {
                    "chats": [s for s in session_ids if await store.privacy.chats_of(s)],
                    "named sessions": [s.id for s in erased if s and s.name is not None],
                    "erasures pending": await rows(
                        "SELECT kind, room_id, target, attempts, error FROM erasure"
                        " WHERE done_at IS NULL"
                    ),
                    "cases over": await store.db.fetchval("SELECT COUNT(*) FROM case_record")
                    - cases_kept,
                    "contact requests": await store.db.fetchval(
                        "SELECT COUNT(*) FROM contact_request"
                    ),
                    "appointments": await store.db.fetchval("SELECT COUNT(*) FROM appointment"),
                    "mails": await rows(
                        "SELECT kind, attempts, sent_at, last_error FROM mail_outbox"
                    ),
                }
                if not any(left.values()) and all(erased):
                    return
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise AssertionError(f"not erased after {timeout}s: {left}") from None


def hits_in_bytes(data: bytes, canaries: dict[str, str]) -> list[str]:
    return [k for k, v in canaries.items() if v.encode() in data]


async def laura_db_hits(db_url: str, canaries: dict[str, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if db_url.startswith("sqlite:"):
        base = Path(db_url.removeprefix("sqlite:"))
        for path in (base, base.with_name(base.name + "-wal")):
            if path.exists() and (hits := hits_in_bytes(path.read_bytes(), canaries)):
                found[path.name] = hits
        return found
    conn = await asyncpg.connect(db_url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='public'"
        )
        for t in tables:
            name = t["table_name"]
            rows = await conn.fetch(f'SELECT CAST(x AS text) AS row FROM "{name}" x')
            text = "\n".join(r["row"] for r in rows)
            hits = [
                k
                for k, v in canaries.items()
                if v in text or v.encode().hex() in text  # bytea is shown as hex
            ]
            if hits:
                found[name] = hits
    finally:
        await conn.close()
    return found


def synapse_hits(env: SynapseEnv, canaries: dict[str, str]) -> dict[str, list[str]]:
    """Every row of every table of Synapse's database, every file of its media store, and
    its log."""
    found: dict[str, list[str]] = {}
    d = env.synapse.dir
    db = sqlite3.connect(f"file:{d / 'homeserver.db'}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            blob = bytearray()
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, str):
                        blob += value.encode()
                    elif isinstance(value, bytes):
                        blob += value
            if hits := hits_in_bytes(bytes(blob), canaries):
                found[f"synapse table {table}"] = hits
    finally:
        db.close()
    for path in (d / "media_store").rglob("*"):
        if path.is_file() and (hits := hits_in_bytes(path.read_bytes(), canaries)):
            found[f"media {path.relative_to(d)}"] = hits
    log = d / "homeserver.log"
    if log.exists() and (hits := hits_in_bytes(log.read_bytes(), canaries)):
        found["homeserver.log"] = hits
    return found


async def test_canaries_are_gone_after_retention(
    own_env: SynapseEnv, db_url: str, tmp_path: Path
) -> None:
    c = {
        k: canary(k)
        for k in ("nick", "visitor", "staff", "file", "filename", "stafffile", "case")
        + ("nick2", "email", "note", "nick3", "walked")
        + ("appttitle", "apptplace", "apptremark", "apptinternal")
    }
    c["phone"] = "06" + "".join(secrets.choice("0123456789") for _ in range(8))
    SECRETS.add(c["phone"])
    # A webhook with content whose receiver never answers: its undelivered events hold the
    # contact details and the case, and retention deletes them with the chat.
    webhook = {
        "url": f"http://127.0.0.1:{free_port()}/never",
        "secret": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "events": ["contact_request.created", "case.saved", "appointment.booked"],
        "content": True,
    }
    handle = LauraHandle(own_env, db_url, tmp_path, FAST | {"webhooks": [webhook]})
    laura = await handle.start()
    anna = await staff(own_env, "anna")
    bram = await staff(own_env, "bram")
    admin = await staff(own_env, "admin")
    control = laura.bridge.control_room
    assert control
    first = Visitor(handle.api)
    second = Visitor(handle.api)
    third = Visitor(handle.api)
    try:
        # A chat with everything in it.
        await first.start(name=c["nick"], topic="huisarts")
        await first.say(f"Mijn vraag: {c['visitor']}")
        await upload(first, pdf_with(c["file"]), f"{c['filename']}.pdf", "application/pdf")
        request = await request_for(anna, c["nick"])
        await anna.react(request["room_id"], request["event_id"], "Ik!")
        consult = await anna.wait_invite()
        await anna.join(consult)
        await first.wait_status("connected")
        await anna.send(consult, f"Antwoord: {c['staff']}")
        mxc = await anna.upload(pdf_with(c["stafffile"]), "application/pdf", "brief.pdf")
        await anna.send_raw(
            consult,
            "m.room.message",
            {"msgtype": "m.file", "body": "brief.pdf", "url": mxc, "info": {"size": 200}},
        )
        await first.wait_for(lambda e: e.get("type") == "message" and "attachment" in e)
        await first.wait_for(lambda e: c["staff"] in str(e.get("body")))
        case = await anna.send(consult, f"!case {c['case']} | Medisch")
        await reply_to(anna, consult, case, "the case")
        # An appointment for the case: its texts, its mails and its reminders go with it.
        day = (datetime.now(UTC) + timedelta(days=3)).strftime("%d-%m-%Y")
        booked = await anna.send(
            consult,
            f"!afspraak intake {day} 10:00 | {c['appttitle']} | {c['apptplace']} | "
            f"{c['apptremark']} | {c['apptinternal']}",
        )
        assert "gepland op" in await reply_to(anna, consult, booked, "the appointment")
        pdf = await anna.send(consult, "!pdf")
        await reply_to(anna, consult, pdf, "the transcript")
        # The control room names visitors in command replies: it keeps no more than the
        # chats (Synapse keeps the last event before a purge's bound: here, !help's reply).
        listing = await admin.send(control, "!open 0s")
        assert c["nick"] in await reply_to(admin, control, listing, "!open")
        help_ = await admin.send(control, "!help")
        await reply_to(admin, control, help_, "!help")
        # Held for the receiver: the case and the appointment (counted while the chat is
        # open; once it ends, retention may erase it, with these, in 10 s).
        assert await laura.store.outbound.backlog() == 2
        await first.call("POST", f"/sessions/{first.session_id}/end", expect=200)
        notice = await anna.wait_for(
            is_msg(consult, body_has="wordt op"), what="the notice of the deletion date"
        )
        assert "bewaartermijn 10s" in notice["content"]["body"]

        # A contact request: nobody could take the chat.
        await nobody_can_take(second, c["nick2"], f"Bel mij: {c['note']}", anna, bram)
        await second.call(
            "POST",
            f"/sessions/{second.session_id}/contact-request",
            {"phone": c["phone"], "email": f"{c['email']}@example.org"},
            expect=201,
        )
        await anna.wait_for(is_msg(body_has=c["email"]), what="the contact request")
        held = await laura.store.db.fetchval(
            "SELECT COUNT(*) FROM webhook_outbox WHERE event_type='contact_request.created' "
            "AND delivered_at IS NULL"
        )
        assert held == 1, held

        # Asked for contact details, the visitor walks away and never comes back: the chat
        # stays open, and is closed and deleted once it has been quiet for the retention.
        await nobody_can_take(third, c["nick3"], f"Ik weet het niet: {c['walked']}", anna, bram)

        await wait_erased(laura, [first.session_id, second.session_id, third.session_id])
        assert await laura.store.outbound.backlog() == 0
        await asyncio.sleep(1.5)  # the last sweep's checkpoint
        laura_found = await laura_db_hits(db_url, c)
        synapse_found = synapse_hits(own_env, c)
        assert not laura_found, laura_found
        assert not synapse_found, synapse_found

        # The visitors' tokens are no more; the audit trail says who did what (and no more).
        status, _ = await first.call("GET", f"/sessions/{first.session_id}")
        assert status == 401
        walked = await laura.store.db.fetchrow(
            "SELECT status, ended_by FROM conversation WHERE session_id=$1", third.session_id
        )
        assert (walked["status"], walked["ended_by"]) == ("ended", "idle")  # closed, not left
        records = await laura.store.audit.of_actor("retention")
        assert {r.action for r in records} == {"deleted"} and len(records) == 3
        joined = await laura.store.audit.of_actor(own_env.mxid("anna"))
        assert {"joined", "exported", "case_saved"} <= {r.action for r in joined}
        # The consult room is gone from the homeserver for staff too.
        assert consult not in (await anna.client.joined_rooms()).rooms  # type: ignore[union-attr]
    finally:
        for member in (anna, bram, admin):
            await member.stop()
        for visitor in (first, second, third):
            await visitor.close()
        await handle.stop()


async def test_visitor_deletes_their_data(
    own_env: SynapseEnv, db_url: str, tmp_path: Path
) -> None:
    """DELETE /api/v1/sessions/{id} in the middle of a chat: it ends (staff are told), and
    everything about the visitor goes at once, retention or not."""
    handle = LauraHandle(own_env, db_url, tmp_path, {"privacy.sweep_interval": "1s"})
    laura = await handle.start()
    anna = await staff(own_env, "anna")
    bram = await staff(own_env, "bram")
    visitor = Visitor(handle.api)
    caller = Visitor(handle.api)
    c = {k: canary(k) for k in ("nick", "visitor", "staff")}
    try:
        await visitor.start(name=c["nick"], topic="huisarts")
        await visitor.say(c["visitor"])
        request = await request_for(anna, c["nick"])
        await anna.react(request["room_id"], request["event_id"], "Ik!")
        consult = await anna.wait_invite()
        await anna.join(consult)
        await anna.send(consult, c["staff"])
        await visitor.wait_for(lambda e: e.get("body") == c["staff"])
        conv_id = (await visitor.state())["conversation_id"]
        # An appointment still to come: the visitor's deletion cancels it first (the client's
        # calendar gets the CANCEL), then it goes with the rest.
        address = f"{c['nick'].lower()}@example.org"
        await laura.store.db.execute(
            "UPDATE session SET email=$2 WHERE id=$1", visitor.session_id, address
        )
        saved = await anna.send(consult, "!case Afspraak | Overig")
        await reply_to(anna, consult, saved, "the case")
        day = (datetime.now(UTC) + timedelta(days=3)).strftime("%d-%m-%Y")
        mails = len(own_env.mail.messages)
        booked = await anna.send(consult, f"!afspraak intake {day} 10:00 | {c['staff']}")
        assert "gepland op" in await reply_to(anna, consult, booked, "the appointment")
        await own_env.mail.wait_for(mails + 1)

        # Someone else's session: the same 404 as any unknown one.
        other = await Visitor(handle.api).start(name="Ander")
        status, body = await other.call(
            "DELETE", f"/sessions/{visitor.session_id}", headers=other.auth
        )
        assert status == 404 and body["error"]["code"] == "session_not_found"
        await other.close()

        async with visitor.http.delete(
            f"{handle.api}/sessions/{visitor.session_id}", headers=visitor.auth
        ) as resp:
            assert resp.status == 204
        status, body = await visitor.call("GET", f"/sessions/{visitor.session_id}")
        assert status == 401, body
        await wait_erased(laura, [visitor.session_id], cases_kept=1)
        assert not await laura_db_hits(db_url, c)
        assert not synapse_hits(own_env, c)
        to_client = [m for m in own_env.mail.messages if address in str(m["To"])]
        methods = [
            p.get_param("method")
            for m in to_client
            for p in m.walk()
            if p.get_content_type() == "text/calendar"
        ]
        assert methods == ["REQUEST", "CANCEL"], methods
        records = await laura.store.audit.of_conversation(conv_id)
        assert sorted(r.action for r in records if r.actor == "visitor") == [
            "appointment_cancelled",
            "deleted",
        ]
        assert any(r.action == "joined" and r.actor == own_env.mxid("anna") for r in records)

        # The consult room's events once more, as a catch-up that listed the room just before
        # the deletion reads them after it, or as the homeserver pushes one late: not taken in
        # again, and nothing they asked for comes back (a CI run once saw anna's !case and
        # !afspraak run a second time, after the deletion).
        old = [e for e in anna.events if e["room_id"] == consult and e["type"] == "m.room.message"]
        assert any(e["content"].get("body", "").startswith("!afspraak") for e in old), old
        assert await laura.store.inbox.add_many(old) == 0
        for event in old:
            await laura.router.handle(event)
        await wait_erased(laura, [visitor.session_id], timeout=5, cases_kept=1)
        assert not await laura_db_hits(db_url, c)

        # A visitor who left a contact request: it goes too, in Laura and in the room.
        c2 = {k: canary(k) for k in ("nick", "email")}
        await caller.start(name=c2["nick"], topic="huisarts")
        request = await request_for(anna, c2["nick"])
        await anna.react(request["room_id"], request["event_id"], "Ik kan nu niet")
        await bram.react(request["room_id"], request["event_id"], "Ik kan nu niet")
        await caller.wait_status("contact")
        await caller.call(
            "POST",
            f"/sessions/{caller.session_id}/contact-request",
            {"email": f"{c2['email']}@example.org"},
            expect=201,
        )
        await anna.wait_for(is_msg(body_has=c2["email"]), what="the contact request")
        async with caller.http.delete(
            f"{handle.api}/sessions/{caller.session_id}", headers=caller.auth
        ) as resp:
            assert resp.status == 204
        await wait_erased(laura, [caller.session_id], cases_kept=1)
        assert not await laura_db_hits(db_url, c2)
        assert not synapse_hits(own_env, c2)
    finally:
        await anna.stop()
        await bram.stop()
        await visitor.close()
        await caller.close()
        await handle.stop()


async def test_retention_commands(own_env: SynapseEnv, db_url: str, tmp_path: Path) -> None:
    """!set retention, per department, and the refusal of nonsense; !audit @user."""
    handle = LauraHandle(own_env, db_url, tmp_path)
    laura = await handle.start()
    admin = await staff(own_env, "admin")
    control = laura.bridge.control_room
    assert control
    try:

        async def command(text: str) -> str:
            event_id = await admin.send(control, text)
            return await reply_to(admin, control, event_id, text)

        assert "retention is nu 90d voor huisarts" in await command("!set retention 90d huisarts")
        reply = await command("!set retention 12h")
        assert "retention is nu 12h" in reply and "korter dan een dag" in reply
        assert await laura.settings.seconds_for("retention", "huisarts") == 90 * 86400
        assert await laura.settings.seconds_for("retention", "thuiszorg") == 12 * 3600
        assert "geen afdeling" in await command("!set retention 90d nergens")
        assert "tussen" in await command("!set retention 1s")
        assert "niet per afdeling" in await command("!set max_chats 3 huisarts")
        settings = await command("!settings")
        assert "retention (huisarts): 90d" in settings
        assert "volgt weer" in await command("!set retention - huisarts")
        assert await laura.settings.seconds_for("retention", "huisarts") == 12 * 3600
        await laura.store.audit.record("@anna:localhost", "joined", "abc123def456")
        reply = await command("!audit @anna:localhost")
        assert "abc123" in reply and "kwam in het gesprek" in reply
    finally:
        await admin.stop()
        await handle.stop()


async def set_admin(env: SynapseEnv, user_id: str, admin: bool) -> None:
    token = await env.synapse.login("admin", password("admin"))
    async with (
        aiohttp.ClientSession() as http,
        http.put(
            f"{env.synapse.url}/_synapse/admin/v2/users/{user_id}",
            json={"admin": admin},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()


# The homeserver's refusal and the erasure queue's wait: the same rows on both databases, and
# 20 s of waiting for the refusal; once, on PostgreSQL (the run's time budget).
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_without_server_admin_the_homeserver_part_waits(
    own_env: SynapseEnv, db_url: str, tmp_path: Path
) -> None:
    """Laura's own tables are cleared anyway; the homeserver's part waits, the control room
    is told once, and it is done as soon as Laura is made a server admin."""
    handle = LauraHandle(own_env, db_url, tmp_path, FAST)
    laura = await handle.start()
    bot = laura.config.bot_mxid
    admin = await staff(own_env, "admin")
    anna = await staff(own_env, "anna")
    visitor = Visitor(handle.api)
    nick = canary("nick")
    control = laura.bridge.control_room
    try:
        await set_admin(own_env, bot, False)
        await visitor.start(name=nick, topic="huisarts")
        await request_for(anna, nick)
        await visitor.call("POST", f"/sessions/{visitor.session_id}/end", expect=200)
        told = await admin.wait_for(
            is_msg(control, body_has="geen serverbeheerder"), timeout=60, what="not an admin"
        )
        assert told["content"]["msgtype"] == "m.notice"
        assert not await laura.store.privacy.chats_of(visitor.session_id)  # Laura's part
        assert await laura.store.erasure.count_pending() > 0
        assert synapse_hits(own_env, {"nick": nick})  # still on the homeserver
        await set_admin(own_env, bot, True)
        await wait_erased(laura, [visitor.session_id], timeout=90)
        assert not synapse_hits(own_env, {"nick": nick})
    finally:
        await set_admin(own_env, bot, True)
        await admin.stop()
        await anna.stop()
        await visitor.close()
        await handle.stop()


async def test_audit_trail_keeps_its_years(store: Store) -> None:
    """Audit records outlive the chats they speak of, for audit_years; older ones go. The
    records themselves are never changed."""
    now = now_ms()
    await store.audit.record("@anna:localhost", "joined", "c1")
    await store.db.execute(
        "INSERT INTO audit_log (ts, actor, action, conversation_id) VALUES ($1,$2,$3,$4)",
        now - 6 * YEAR_MS,
        "@bram:localhost",
        "joined",
        "c0",
    )
    async with transaction(store.db) as conn:
        assert await store.privacy.audit_before(conn, now - 5 * YEAR_MS) == 1
    assert [r.actor for r in await store.audit.of_conversation("c1")] == ["@anna:localhost"]
    assert await store.audit.of_conversation("c0") == []


async def test_which_chats_retention_looks_at(store: Store) -> None:
    """Ended chats by their end, chats never begun by their start, and chats still waiting or
    asked for contact details (a visitor who walked away) by their last activity; a connected
    chat is left to its inactivity timeout, a deleted one is not looked at again."""
    day = 24 * 3600 * 1000
    now = now_ms()
    await store.db.execute(
        "INSERT INTO session (id, token_hash, language, ghost_id, created_at) "
        "VALUES ('s', 'h', 'nl', 'g', $1)",
        now - 90 * day,
    )
    rows = [
        # id, status, created, queued, last activity, ended, purged
        ("ended-old", "ended", 90, 90, 89, 80, None),
        ("ended-new", "ended", 90, 90, 89, 2, None),
        ("choosing", "choosing", 60, None, None, None, None),
        ("walked", "contact", 60, 60, 59, None, None),
        ("spoke-lately", "contact", 60, 60, 1, None, None),
        ("waiting", "waiting", 50, 40, None, None, None),
        ("connected", "connected", 60, 60, 59, None, None),
        ("purged", "ended", 90, 90, 89, 80, 70),
    ]
    for cid, status, created, queued, last, ended, purged in rows:
        await store.db.execute(
            "INSERT INTO conversation (id, session_id, status, created_at, queued_at, "
            "last_activity_at, ended_at, purged_at) VALUES ($1, 's', $2, $3, $4, $5, $6, $7)",
            cid,
            status,
            *(None if d is None else now - d * day for d in (created, queued, last, ended)),
            None if purged is None else now - purged * day,
        )
    found = {d.id: d for d in await store.privacy.chats_not_purged(now - 30 * day)}
    assert set(found) == {"ended-old", "choosing", "walked", "spoke-lately", "waiting"}
    assert found["walked"].quiet_since == now - 59 * day
    assert found["spoke-lately"].quiet_since == now - 1 * day  # the sweep leaves it open
    assert found["waiting"].quiet_since == now - 40 * day  # entered the queue then
