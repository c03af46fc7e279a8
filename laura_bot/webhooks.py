"""Delivering the webhooks' outbox (db/outbound.py): signed POSTs, at least once, per endpoint.

Each endpoint has its own runner, so a receiver that is down or slow delays only its own
events; a chat never waits for a webhook (an event is one row written with its change). Every
attempt sends the event's own webhook-id and a fresh webhook-timestamp, signed by the Standard
Webhooks scheme (v1: HMAC-SHA256 of id.timestamp.body). Any 2xx answer is taken; anything else
(or no answer within TIMEOUT) is tried again after FIRST_RETRY, doubling up to an hour, for a
day (GIVE_UP_AFTER); then the event is given up and admins are told in the control room once
(`!webhooks` lists, `!webhooks retry` sends the given-up events again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
from standardwebhooks import Webhook
from yarl import URL

from . import __version__
from .config_ops import Endpoint
from .db.outbound import Delivery, OutboundStore
from .scheduler import Clock
from .tasks import KeyedRunner
from .util import now_ms

log = logging.getLogger(__name__)

TIMEOUT = 10.0
LAST_RETRY_MS = 3_600_000
GIVE_UP_AFTER_MS = 86_400_000
KEEP_DELIVERED_MS = 86_400_000


class Webhooks:
    def __init__(
        self,
        outbound: OutboundStore,
        endpoints: list[Endpoint],
        clock: Clock,
        tell_admins: Callable[[str, int, str], Awaitable[None]],
    ) -> None:
        """tell_admins(endpoint's host, events given up, last error)."""
        self.outbound = outbound
        self.endpoints = {e.url: e for e in endpoints}
        self.clock = clock
        self.tell_admins = tell_admins
        self.first_retry_ms = 10_000  # the tests make it shorter
        self.runner = KeyedRunner("webhooks", self._pass)
        self._signers = {e.url: Webhook(e.secret) for e in endpoints}
        self._http: aiohttp.ClientSession | None = None
        self._told: set[str] = set()  # endpoints whose giving up admins heard of (this run)
        outbound.endpoints = endpoints
        outbound.wake = self.kick_all

    def kick_all(self) -> None:
        for url in self.endpoints:
            # After the recording transaction commits: the row is there when the pass reads.
            asyncio.get_running_loop().call_later(0.05, self.runner.kick, url)

    async def start(self) -> None:
        if not self.endpoints:
            return
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT),
            headers={"User-Agent": f"Laura/{__version__} (webhooks)"},
        )
        for url in self.endpoints:
            self.runner.kick(url)

    async def _pass(self, url: str) -> None:
        assert self._http is not None
        while batch := await self.outbound.due(url, now_ms()):
            for delivery in batch:
                if await self._deliver(url, delivery) is not None:
                    # The receiver is down or slow: the rest wait with it (no hammering,
                    # and no TIMEOUT spent on each of them in a row), as `due` holds them
                    # back behind the event waiting out its retry.
                    break
            else:
                continue
            break
        await self.outbound.prune(now_ms() - KEEP_DELIVERED_MS)
        next_at = await self.outbound.next_due(url)
        if next_at is not None:
            self.clock.at(f"webhook:{url}", next_at, self._wake, url)

    async def _wake(self, url: str) -> None:
        self.runner.kick(url)

    async def _deliver(self, url: str, d: Delivery) -> int | None:
        """None: delivered or given up; else when to try again."""
        assert self._http is not None
        now = datetime.now(UTC)
        body = d.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "webhook-id": d.id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signers[url].sign(d.id, now, body),
        }
        try:
            async with self._http.post(url, data=body, headers=headers) as resp:
                await resp.read()
                if 200 <= resp.status < 300:
                    await self.outbound.delivered(d.id)
                    self._told.discard(url)
                    log.debug("Webhook %s delivered to %s", d.id, URL(url).host)
                    return None
                error = f"HTTP {resp.status}"
        except TimeoutError:
            error = f"no answer within {TIMEOUT:.0f} s"
        except aiohttp.ClientError as e:
            error = type(e).__name__
        attempts = d.attempts + 1
        if now_ms() - d.created_at >= GIVE_UP_AFTER_MS:
            await self.outbound.give_up(d.id, attempts, error)
            log.warning("Webhook %s to %s given up after %d tries: %s", d.id, url, attempts, error)
            if url not in self._told:
                self._told.add(url)
                await self.tell_admins(str(URL(url).host), attempts, error)
            return None
        delay = min(self.first_retry_ms * 2 ** (attempts - 1), LAST_RETRY_MS)
        retry_at = now_ms() + delay
        await self.outbound.retry_later(d.id, attempts, retry_at, error)
        log.info(
            "Webhook %s to %s failed (%s); try %d in %d s",
            d.id,
            url,
            error,
            attempts + 1,
            delay // 1000,
        )
        return retry_at

    async def retry_failed(self) -> int:
        n = await self.outbound.retry_failed()
        self._told.clear()
        for url in self.endpoints:
            self.runner.kick(url)
        return n

    async def close(self) -> None:
        await self.runner.close()
        if self._http:
            await self._http.close()
