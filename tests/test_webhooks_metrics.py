"""Running Laura for real (#25): webhooks delivered from the outbox to real receivers (one down
for a while, one slow), signed by the Standard Webhooks scheme; Prometheus metrics scraped by
Debian's real `prometheus` server and read back through its query API."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks import Webhook

from laura_bot.config_ops import WEBHOOK_EVENTS, webhook_endpoints
from laura_bot.db import Store
from laura_bot.db.outbound import Happening, about_chat
from laura_bot.dev.synapse import free_port
from laura_bot.errors import ConfigError
from laura_bot.util import now_ms

from .conftest import IN_CI, Team
from .helpers import is_msg, reply_to

SECRET_FULL = "whsec_" + base64.b64encode(b"laura-test-webhook-secret-1").decode()
SECRET_SLOW = "whsec_" + base64.b64encode(b"laura-test-webhook-secret-22").decode()
FULL_PORT = free_port()
SLOW_PORT = free_port()
METRICS_PORT = free_port()
SLOW_SECONDS = 8.0  # at most: below Laura's 10 s timeout, and let go as soon as the test may
PROMETHEUS = os.environ.get(
    "LAURA_PROMETHEUS", shutil.which("prometheus") or "/usr/bin/prometheus"
)


@dataclass
class Receiver:
    """A webhook receiver in the test process: what reached it, and how it answers."""

    port: int
    secret: str
    delay: float = 0.0
    fail_first: int = 0  # answer 503 to this many requests first
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # webhook-ids answered with 2xx
    busy: int = 0  # requests being handled now
    held: asyncio.Event = field(default_factory=asyncio.Event)  # set: `delay` is over at once
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def hook(request: web.Request) -> web.Response:
            self.busy += 1
            try:
                self.got.append((dict(request.headers), await request.read()))
                if self.delay:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.held.wait(), self.delay)
                if self.fail_first > 0:
                    self.fail_first -= 1
                    return web.Response(status=503)
                self.answered.append(request.headers["webhook-id"])
                return web.Response(status=204)
            finally:
                self.busy -= 1

        app = web.Application()
        app.router.add_post("/hook", hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def events(self) -> list[dict[str, Any]]:
        """The bodies of the deliveries it accepted, each checked against its signature."""
        out: dict[str, dict[str, Any]] = {}
        for headers, body in self.got:
            payload = Webhook(self.secret).verify(body, headers)  # raises when forged
            if headers["webhook-id"] in self.answered:
                out[headers["webhook-id"]] = payload
        return list(out.values())

    def types(self) -> list[str]:
        return sorted(e["type"] for e in self.events())


CONFIG = {
    "metrics.enabled": True,
    "metrics.listen": f"127.0.0.1:{METRICS_PORT}",
    "webhooks": [
        {
            "url": f"http://127.0.0.1:{FULL_PORT}/hook",
            "secret": SECRET_FULL,
            "events": list(WEBHOOK_EVENTS),
            "content": True,
        },
        {
            "url": f"http://127.0.0.1:{SLOW_PORT}/hook",
            "secret": SECRET_SLOW,
            "events": ["chat.taken", "contact_request.created"],
        },
    ],
}


async def until(check: Any, what: str, timeout: float = 30) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"never saw {what} within {timeout:g}s") from None


async def start_prometheus(tmp: Path) -> Any:
    if not Path(PROMETHEUS).exists():
        msg = f"Prometheus is not installed at {PROMETHEUS} (apt-get install prometheus)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    port = free_port()
    (tmp / "prometheus.yml").write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "laura",
                        "static_configs": [{"targets": [f"127.0.0.1:{METRICS_PORT}"]}],
                    }
                ],
            }
        )
    )
    log = (tmp / "prometheus.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        PROMETHEUS,
        f"--config.file={tmp / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        stdout=log,
        stderr=log,
    )
    return proc, f"http://127.0.0.1:{port}"


async def query(http: aiohttp.ClientSession, base: str, promql: str) -> float | None:
    async with http.get(f"{base}/api/v1/query", params={"query": promql}) as resp:
        if resp.status != 200:
            return None
        result = (await resp.json())["data"]["result"]
    return sum(float(r["value"][1]) for r in result) if result else None


async def until_value(http: aiohttp.ClientSession, base: str, promql: str, want: float) -> None:
    """Until Prometheus has scraped Laura after the change and answers `want`."""
    seen: list[float | None] = []
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        try:
            value = await query(http, base, promql)
        except aiohttp.ClientError:
            value = None
        seen.append(value)
        if value == want:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{promql}: wanted {want}, Prometheus said {seen[-5:]}")


@pytest.mark.synapse
@pytest.mark.laura_config(CONFIG)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_webhooks_and_metrics(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    laura = team.laura
    laura.webhooks.first_retry_ms = 500
    # Retries at most 2 s apart: a receiver that was down for half a minute of a slow run
    # is still tried again within the wait below, not an hour later.
    monkeypatch.setattr("laura_bot.webhooks.LAST_RETRY_MS", 2_000)
    full = Receiver(FULL_PORT, SECRET_FULL, fail_first=1)  # down at first, then one 503
    slow = Receiver(SLOW_PORT, SECRET_SLOW, delay=SLOW_SECONDS)
    await slow.start()
    prometheus, prom = await start_prometheus(tmp_path)
    anna, bram = team["anna"], team["bram"]
    http = aiohttp.ClientSession()
    try:
        # A chat taken: the slow receiver holds its delivery for seconds, the chat goes on.
        visitor, consult = await team.connected("Wim")
        await until(lambda: slow.busy == 1, what="the slow receiver's first request")
        await visitor.say("Een vraag voor de webhooks")
        await anna.send(consult, "Een antwoord")
        await visitor.wait_for(lambda e: e.get("body") == "Een antwoord")
        assert slow.busy == 1 and not slow.answered, "the chat waited for a webhook"
        slow.held.set()
        await visitor.call("POST", f"/sessions/{visitor.session_id}/end", expect=200)

        # A chat nobody takes: missed (declined by all), then a contact request.
        second = await team.visitor(name="Door")
        request = await anna.wait_for(
            lambda e: (
                is_msg(team.rooms["huisarts"], body_has="van Door", msgtype="m.text")(e)
                and "m.relates_to" not in e["content"]
            )
        )
        for member in (anna, bram):
            await member.react(team.rooms["huisarts"], request["event_id"], "Ik kan nu niet")
        await second.wait_status("contact")
        await second.call(
            "POST",
            f"/sessions/{second.session_id}/contact-request",
            {"phone": "0612345678"},
            expect=201,
        )

        # The receiver that was down comes up (and fails once more): it gets everything,
        # each signed, the failed attempt and its retry under the same webhook-id.
        await asyncio.sleep(1)  # a few attempts meet a closed port
        await full.start()
        want = sorted(
            ["chat.started"] * 2
            + ["chat.taken", "chat.missed", "contact_request.created"]
            + ["chat.ended"] * 2
        )
        await until(lambda: full.types() == want, timeout=60, what="every event")
        first_id = full.got[0][0]["webhook-id"]
        assert full.got[1][0]["webhook-id"] == first_id and first_id in full.answered
        events = {e["type"]: e["data"] for e in full.events()}
        assert events["chat.missed"]["reason"] == "declined"
        assert events["chat.taken"]["staff"] == team.handle.env.mxid("anna")
        assert events["contact_request.created"]["phone"] == "0612345678"  # content: true
        assert {e["data"]["ended_by"] for e in full.events() if e["type"] == "chat.ended"} == {
            "visitor",
            "contact",
        }

        # The slow one gets its two, without content.
        await until(lambda: len(slow.answered) == 2, timeout=30, what="the slow ones")
        slow_events = {e["type"]: e["data"] for e in slow.events()}
        assert set(slow_events) == {"chat.taken", "contact_request.created"}
        assert "phone" not in slow_events["contact_request.created"]
        assert await laura.store.outbound.backlog() == 0

        # Admins see how it goes.
        admin = team["admin"]
        asked = await admin.send(team.rooms["control"], "!webhooks")
        answer = await reply_to(admin, team.rooms["control"], asked, "!webhooks")
        assert "127.0.0.1/hook" in answer and "0 " in answer

        # Prometheus scraped Laura: the figures of what happened, read back from Prometheus.
        for promql, want_value in (
            ('laura_chats_started_total{department="huisarts"}', 2.0),
            ('laura_chats_missed_total{department="huisarts",reason="declined"}', 1.0),
            ('laura_chat_take_seconds_count{department="huisarts"}', 1.0),
            ('laura_contact_requests_total{department="huisarts"}', 1.0),
            ('laura_messages_total{direction="from_visitor"}', 1.0),
            ('laura_visitors_waiting{department="huisarts"}', 0.0),
            ("laura_webhook_backlog", 0.0),
            ('up{job="laura"}', 1.0),
        ):
            await until_value(http, prom, promql, want_value)
        assert (await query(http, prom, "laura_matrix_request_seconds_count") or 0) > 0
        assert await query(http, prom, "laura_event_loop_lag_seconds_count") is not None
        # No label holds a user, a visitor or any text.
        async with http.get(f"http://127.0.0.1:{METRICS_PORT}/metrics") as resp:
            exposed = await resp.text()
        samples = [line for line in exposed.splitlines() if not line.startswith("#")]
        for private in ("Wim", "Door", "0612345678", "@anna", "!", "localhost"):
            assert not [line for line in samples if private in line], private
    finally:
        await http.close()
        prometheus.terminate()
        await prometheus.wait()
        await full.stop()
        await slow.stop()


async def test_the_outbox_records_in_the_transaction(store: Store) -> None:
    """An event recorded in a transaction that rolls back is not sent; one per endpoint that
    asked for its type; content only for an endpoint that asked for content."""
    config = {"webhooks": CONFIG["webhooks"]}
    store.outbound.endpoints = webhook_endpoints(config)
    happening = Happening("contact_request.created", "c1", "huisarts", {"chat_id": "c1"})
    happening.content["phone"] = "0611111111"
    try:
        async with store.db.acquire() as conn, conn.transaction():
            await store.outbound.record(conn, happening)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert await store.outbound.backlog() == 0
    async with store.db.acquire() as conn, conn.transaction():
        await store.outbound.record(conn, happening)
        await store.outbound.record(conn, Happening("chat.started", "c1", "huisarts", {}))
    rows = await store.db.fetch("SELECT endpoint, event_type, payload FROM webhook_outbox")
    by = {(r["endpoint"].split(":")[2], r["event_type"]): json.loads(r["payload"]) for r in rows}
    assert set(by) == {
        (f"{FULL_PORT}/hook", "contact_request.created"),
        (f"{SLOW_PORT}/hook", "contact_request.created"),
        (f"{FULL_PORT}/hook", "chat.started"),
    }
    assert by[(f"{FULL_PORT}/hook", "contact_request.created")]["data"]["phone"] == "0611111111"
    assert "phone" not in by[(f"{SLOW_PORT}/hook", "contact_request.created")]["data"]
    # Given up, then sent again on !webhooks retry, with the same id.
    due = await store.outbound.due(f"http://127.0.0.1:{FULL_PORT}/hook", 2**62)
    await store.outbound.give_up(due[0].id, 3, "HTTP 500")
    failed = {s.endpoint: s.failed for s in await store.outbound.states()}
    assert failed == {
        f"http://127.0.0.1:{FULL_PORT}/hook": 1,
        f"http://127.0.0.1:{SLOW_PORT}/hook": 0,
    }
    assert await store.outbound.retry_failed() == 1
    again = await store.outbound.due(f"http://127.0.0.1:{FULL_PORT}/hook", 2**62)
    assert due[0].id in [d.id for d in again]


async def test_an_event_waiting_for_its_retry_holds_back_later_ones(store: Store) -> None:
    """A receiver gets an endpoint's events in the order they happened: one recorded while an
    earlier one waits out its retry waits behind it (a CI run once saw the later one go
    first, the earlier one's retry after it)."""
    store.outbound.endpoints = webhook_endpoints({"webhooks": CONFIG["webhooks"]})
    url = f"http://127.0.0.1:{FULL_PORT}/hook"
    await store.outbound.record(None, Happening("chat.started", "c1", "huisarts", {}))
    [first] = await store.outbound.due(url, now_ms())
    retry_at = now_ms() + 60_000
    await store.outbound.retry_later(first.id, 1, retry_at, "HTTP 503")
    await asyncio.sleep(0.01)
    await store.outbound.record(None, Happening("chat.started", "c2", "huisarts", {}))
    assert await store.outbound.due(url, now_ms()) == []
    assert await store.outbound.next_due(url) == retry_at
    later = await store.outbound.due(url, retry_at)
    assert [d.id for d in later][0] == first.id and len(later) == 2
    # Within one millisecond too: a burst comes out in the order it was recorded.
    for d in later:
        await store.outbound.delivered(d.id)
    for n in range(12):
        await store.outbound.record(None, about_chat("chat.started", f"b{n}", "huisarts"))
    burst = await store.outbound.due(url, now_ms() + 1_000)
    assert [json.loads(d.payload)["data"]["chat_id"] for d in burst] == [
        f"b{n}" for n in range(12)
    ]


@pytest.mark.parametrize(
    ("item", "complaint"),
    [
        ({"url": "ftp://x", "secret": SECRET_FULL, "events": ["chat.taken"]}, "http(s)"),
        ({"url": "https://x.example", "secret": "plain", "events": ["chat.taken"]}, "whsec_"),
        ({"url": "https://x.example", "secret": "whsec_c2hvcnQ=", "events": ["chat.taken"]}, "24"),
        ({"url": "https://x.example", "secret": SECRET_FULL, "events": ["chat.eaten"]}, "known"),
        ({"url": "https://x.example", "secret": SECRET_FULL, "events": []}, "must list"),
        (
            {"url": "https://x.example", "secret_file": "/nonexistent", "events": ["chat.taken"]},
            "cannot be read",
        ),
    ],
)
def test_webhook_config_errors(item: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        webhook_endpoints({"webhooks": [item]})


def test_webhook_secret_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(SECRET_SLOW + "\n")
    [endpoint] = webhook_endpoints(
        {
            "webhooks": [
                {
                    "url": "https://crm.example/in",
                    "secret_file": str(path),
                    "events": ["case.saved"],
                    "content": True,
                }
            ]
        }
    )
    assert endpoint.secret == SECRET_SLOW and endpoint.content


def test_the_grafana_dashboard_uses_only_metrics_that_exist() -> None:
    """contrib/grafana-dashboard.json: every laura_ series its queries name is one Laura
    exposes (a renamed metric would leave a panel silently empty)."""
    from laura_bot.metrics import Metrics

    exposed: set[str] = set()
    for family in Metrics().registry.collect():
        suffixes = {
            "counter": ["_total"],
            "histogram": ["_bucket", "_count", "_sum"],
        }.get(family.type, [""])
        exposed |= {family.name + s for s in suffixes}
    dashboard = json.loads(
        (Path(__file__).parents[1] / "contrib" / "grafana-dashboard.json").read_text()
    )
    used: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            for token in expr.translate(str.maketrans("(){}[]", "      ")).split():
                if token.startswith("laura_"):
                    used.add(token)
    for variable in dashboard["templating"]["list"]:
        query = str(variable.get("query", ""))
        if query.startswith("label_values("):
            used.add(query.removeprefix("label_values(").split(",")[0])
    assert used, "no queries found"
    assert not used - exposed, f"the dashboard uses metrics Laura does not have: {used - exposed}"
    # And the families the issue names are all on the dashboard.
    for name in (
        "laura_visitors_waiting",
        "laura_chats_running",
        "laura_chat_take_seconds_bucket",
        "laura_chats_missed_total",
        "laura_messages_total",
        "laura_inbox_depth",
        "laura_inbox_oldest_age_seconds",
        "laura_inbox_dead_letters",
        "laura_matrix_outbox_backlog",
        "laura_erasure_backlog",
        "laura_mail_outbox_backlog",
        "laura_webhook_backlog",
        "laura_matrix_request_seconds_bucket",
        "laura_matrix_request_errors_total",
        "laura_event_loop_lag_seconds_bucket",
    ):
        assert name in used, name


async def test_a_webhook_given_up_after_a_day_tells_the_admins_once(store: Store) -> None:
    """A receiver down for more than a day: its events are given up (not retried for ever),
    admins hear of it once, and !webhooks retry sends them again."""
    from laura_bot.scheduler import Clock
    from laura_bot.webhooks import GIVE_UP_AFTER_MS, Webhooks

    url = f"http://127.0.0.1:{free_port()}/down"
    endpoints = webhook_endpoints(
        {"webhooks": [{"url": url, "secret": SECRET_FULL, "events": ["chat.started"]}]}
    )
    store.outbound.endpoints = endpoints
    for n in range(2):
        await store.outbound.record(None, about_chat("chat.started", f"c{n}", "huisarts"))
    await store.db.execute(
        "UPDATE webhook_outbox SET created_at = created_at - $1", GIVE_UP_AFTER_MS
    )
    told: list[tuple[str, int, str]] = []

    async def tell(host: str, attempts: int, error: str) -> None:
        told.append((host, attempts, error))

    clock = Clock()
    clock.start()
    hooks = Webhooks(store.outbound, endpoints, clock, tell)
    await hooks.start()
    try:
        await until(lambda: len(told) == 1, "the admins told")
        for _ in range(50):
            if [s.failed for s in await store.outbound.states()] == [2]:
                break
            await asyncio.sleep(0.1)
        [state] = await store.outbound.states()
        assert (state.failed, state.pending) == (2, 0)
        assert told == [("127.0.0.1", 1, "ClientConnectorError")]
        assert await hooks.retry_failed() == 2
        assert await store.outbound.backlog() == 2  # waiting again, a new day of tries
        again = await store.db.fetch(
            "SELECT payload, created_at FROM webhook_outbox ORDER BY created_at, id"
        )
        assert [json.loads(r["payload"])["data"]["chat_id"] for r in again] == ["c0", "c1"]
        assert min(r["created_at"] for r in again) > now_ms() - 60_000
    finally:
        await hooks.close()
        clock.stop()
