"""Metrics for Prometheus, on a listener of their own (metrics.enabled, metrics.listen).

Counters and histograms are fed as things happen (the outbound happenings, the Matrix client's
requests, the event loop); queues and backlogs are counted in the database when Prometheus
asks. Labels are department ids, HTTP methods and fixed words only: no metric holds a user, a
visitor or any text. Each Laura has its own registry (several may share a test process).
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from . import __version__
from .db.gauges import read_backlogs
from .db.outbound import Happening
from .util import now_ms

log = logging.getLogger(__name__)

TAKE_BUCKETS = (5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
LAG_INTERVAL = 0.5


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        dept = ["department"]
        Gauge("laura_info", "Laura's version", ["version"], registry=r).labels(__version__).set(1)
        self.waiting = Gauge("laura_visitors_waiting", "Visitors waiting now", dept, registry=r)
        self.running = Gauge(
            "laura_chats_running", "Chats taken and running now", dept, registry=r
        )
        self.started = Counter(
            "laura_chats_started", "Chats that entered a queue (a topic chosen)", dept, registry=r
        )
        self.taken = Histogram(
            "laura_chat_take_seconds",
            "Time from entering the queue to a staff member taking the chat",
            dept,
            buckets=TAKE_BUCKETS,
            registry=r,
        )
        self.missed = Counter(
            "laura_chats_missed",
            "Chats nobody took: the visitor was asked for contact details (reason: timeout or "
            "declined)",
            ["department", "reason"],
            registry=r,
        )
        self.ended = Counter("laura_chats_ended", "Chats ended", dept, registry=r)
        self.messages = Counter(
            "laura_messages",
            "Chat messages (direction: from_visitor, from_staff)",
            ["direction"],
            registry=r,
        )
        self.contact_requests = Counter(
            "laura_contact_requests", "Contact requests left by visitors", dept, registry=r
        )
        self.inbox_depth = Gauge(
            "laura_inbox_depth", "Matrix events stored and not yet handled", registry=r
        )
        self.inbox_age = Gauge(
            "laura_inbox_oldest_age_seconds",
            "Age of the oldest Matrix event not yet handled (0 when none)",
            registry=r,
        )
        self.dead_letters = Gauge(
            "laura_inbox_dead_letters", "Matrix events set aside after failing", registry=r
        )
        self.outbox = Gauge(
            "laura_matrix_outbox_backlog",
            "Visitor messages and notices stored and not yet in Matrix",
            registry=r,
        )
        self.outbox_age = Gauge(
            "laura_matrix_outbox_oldest_age_seconds",
            "Age of the oldest message not yet in Matrix (0 when none)",
            registry=r,
        )
        self.erasure = Gauge(
            "laura_erasure_backlog", "Deletions on the homeserver still to do", registry=r
        )
        self.mail = Gauge("laura_mail_outbox_backlog", "Mails still to send", registry=r)
        self.webhooks = Gauge(
            "laura_webhook_backlog", "Webhook events still to deliver", registry=r
        )
        self.matrix_seconds = Histogram(
            "laura_matrix_request_seconds",
            "Laura's requests to the homeserver (method: the HTTP method)",
            ["method"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.matrix_errors = Counter(
            "laura_matrix_request_errors",
            "Requests to the homeserver that failed (kind: server for a 5xx answer, network "
            "for none)",
            ["method", "kind"],
            registry=r,
        )
        self.loop_lag = Histogram(
            "laura_event_loop_lag_seconds",
            f"How late a {LAG_INTERVAL} s timer of the event loop fires",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self._lag_task: asyncio.Task[None] | None = None

    # Fed as things happen ---------------------------------------------------------------------

    def observe(self, h: Happening) -> None:
        """db.outbound observer: told in the transaction of each change."""
        dept = h.department or "none"
        if h.type == "message.visitor":
            self.messages.labels("from_visitor").inc()
        elif h.type == "message.staff":
            self.messages.labels("from_staff").inc()
        elif h.type == "chat.started":
            self.started.labels(dept).inc()
        elif h.type == "chat.taken":
            self.taken.labels(dept).observe(float(h.data.get("waited_seconds", 0)))
        elif h.type == "chat.missed":
            self.missed.labels(dept, str(h.data.get("reason"))).inc()
        elif h.type == "chat.ended":
            self.ended.labels(dept).inc()
        elif h.type == "contact_request.created":
            self.contact_requests.labels(dept).inc()

    def trace_config(self) -> aiohttp.TraceConfig:
        """For the Matrix client's session: each request's time, and its failures."""
        trace = aiohttp.TraceConfig()

        async def start(_: Any, ctx: SimpleNamespace, params: Any) -> None:
            ctx.laura_start = time.monotonic()

        async def end(_: Any, ctx: SimpleNamespace, params: Any) -> None:
            method = params.method
            self.matrix_seconds.labels(method).observe(time.monotonic() - ctx.laura_start)
            if params.response.status >= 500:
                self.matrix_errors.labels(method, "server").inc()

        async def failed(_: Any, ctx: SimpleNamespace, params: Any) -> None:
            self.matrix_errors.labels(params.method, "network").inc()

        trace.on_request_start.append(start)
        trace.on_request_end.append(end)
        trace.on_request_exception.append(failed)
        trace.freeze()
        return trace

    def start_lag_probe(self) -> None:
        async def probe() -> None:
            loop = asyncio.get_running_loop()
            while True:
                before = loop.time()
                await asyncio.sleep(LAG_INTERVAL)
                self.loop_lag.observe(max(0.0, loop.time() - before - LAG_INTERVAL))

        self._lag_task = asyncio.create_task(probe())

    # Counted when asked -----------------------------------------------------------------------

    async def refresh(self, store: Any, departments: list[str]) -> None:
        b = await read_backlogs(store)
        now = now_ms()
        for d in set(departments) | {d for d, _ in b.by_department}:
            self.waiting.labels(d).set(b.by_department.get((d, "waiting"), 0))
            self.running.labels(d).set(b.by_department.get((d, "connected"), 0))
        self.inbox_depth.set(b.inbox)
        self.inbox_age.set((now - b.inbox_oldest) / 1000 if b.inbox_oldest else 0)
        self.dead_letters.set(b.dead_letters)
        self.outbox.set(b.matrix_outbox)
        self.outbox_age.set((now - b.matrix_outbox_oldest) / 1000 if b.matrix_outbox_oldest else 0)
        self.erasure.set(b.erasure)
        self.mail.set(b.mail)
        self.webhooks.set(b.webhooks)

    def app(self, store: Any, departments: Any) -> web.Application:
        """The listener's app: GET /metrics (departments: a coroutine giving their ids)."""

        async def get_metrics(_: web.Request) -> web.Response:
            try:
                await self.refresh(store, await departments())
            except Exception as e:  # the counters still answer; the gauges keep their values
                log.warning("Metrics: reading the database failed: %s", type(e).__name__)
            return web.Response(
                body=generate_latest(self.registry),
                headers={"Content-Type": CONTENT_TYPE_LATEST},
            )

        app = web.Application()
        app.router.add_get("/metrics", get_metrics)
        return app

    async def close(self) -> None:
        if self._lag_task:
            self._lag_task.cancel()
