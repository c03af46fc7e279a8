"""Rate limits of the widget API: how often one network address, and one chat, may do something.

Laura runs as one process, so the counters live in that process's memory (the `limits`
package's MemoryStorage with a moving window). A restart forgets them, which only ever errs on
the visitor's side. Addresses are kept in memory only, never stored or logged (health data:
who chatted from where is personal data); what the database keeps is a keyed hash
(Session.client_key).

Several visitors may share one address (a care home's network, a hospital's guest Wi-Fi, a
mobile carrier's NAT), so the per-address limits are set well above what one person does; the
per-chat limits are what stops a script inside one chat.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from aiohttp import web
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from ..errors import TooManyRequests

log = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The actions with limits, and the scopes each one is counted in (config web.rate_limits).
ACTIONS: dict[str, tuple[str, ...]] = {
    "sessions": ("per_address",),
    "messages": ("per_session", "per_address"),
    "topic": ("per_session", "per_address"),
    "contact": ("per_session", "per_address"),
    "uploads": ("per_session", "per_address"),
    "typing": ("per_session", "per_address"),
    "transcripts": ("per_session", "per_address"),
    "dashboard": ("per_address",),
}

_MESSAGES = {
    "sessions": "Too many new chats were started from your network. Please try again later.",
    "messages": "You are sending messages faster than we can take them. Please wait a moment.",
    "topic": "Too many attempts to choose a topic. Please wait a moment.",
    "contact": "Too many contact requests. Please wait a while before trying again.",
    "uploads": "Too many files were sent. Please wait a while before sending another.",
    "typing": "Too many typing updates. Please wait a moment.",
    "transcripts": "Too many transcript downloads. Please wait a while before trying again.",
    "dashboard": "Too many sign-ins to the dashboard from your network. Please wait a moment.",
}


def parse_limit(value: Any) -> list[RateLimitItem]:
    """A config value ('30/minute', '20/10 minutes; 100/day', or '' for none) → its limits.
    ValueError when it cannot be read."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a text")
    items = list(parse_many(value))
    if any(item.amount < 1 for item in items):
        raise ValueError("a limit of 0 would refuse everything")
    return items


def parse_networks(values: Iterable[Any]) -> list[IPNetwork]:
    """Trusted proxies: IP addresses or CIDR ranges. ValueError for anything else."""
    return [ipaddress.ip_network(str(v).strip(), strict=False) for v in values]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    # Some proxies add a port: 203.0.113.7:5123 or [2001:db8::1]:5123.
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def address_key(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """What counts as one address: an IPv4 address, or an IPv6 /64 (one household or phone
    gets a whole /64 and could otherwise pick a fresh address for every request)."""
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


_warned = False


def _warn_untrusted_proxy() -> None:
    """Once per process: behind an unlisted reverse proxy every visitor counts as the proxy's
    address, so the per-address limits would hit everyone together."""
    global _warned
    if not _warned:
        _warned = True
        log.warning(
            "Requests carry X-Forwarded-For from a peer that is not in web.trusted_proxies; "
            "the header is ignored. If Laura is behind a reverse proxy, list it there, or all "
            "visitors share one address for the rate limits."
        )


def client_address(request: web.BaseRequest, trusted: list[IPNetwork]) -> str:
    """The visitor's address. X-Forwarded-For counts only when the direct peer is a trusted
    proxy; then the right-most address in it that is not a trusted proxy is the client (the
    part left of it was written by the client and can be anything)."""
    peer = _ip(request.remote or "")
    if peer is None:
        return "unknown"
    if not any(peer in net for net in trusted):
        if "X-Forwarded-For" in request.headers:
            _warn_untrusted_proxy()
        return address_key(peer)
    hops = [h for v in request.headers.getall("X-Forwarded-For", []) for h in v.split(",")]
    client = peer
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break  # a broken chain: only what the proxies wrote so far is trustworthy
        client = ip
        if not any(ip in net for net in trusted):
            break
    return address_key(client)


class RateLimiter:
    """Counts tries per action and scope; hit() raises TooManyRequests when one is used up."""

    def __init__(self, config: Mapping[str, Mapping[str, Any]]) -> None:
        self._limits: dict[tuple[str, str], list[RateLimitItem]] = {
            (action, scope): parse_limit((config.get(action) or {}).get(scope))
            for action, scopes in ACTIONS.items()
            for scope in scopes
        }
        self._window = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, action: str, address: str, session_id: str | None = None) -> None:
        """Count one try of `action` by this address (and chat). A refused try is not counted,
        so a visitor who waits the Retry-After time gets through."""
        checks = [
            (item, scope, who)
            for scope, who in (("per_session", session_id), ("per_address", address))
            if who is not None
            for item in self._limits.get((action, scope), [])
        ]
        for item, scope, who in checks:
            if not await self._window.test(item, action, scope, who):
                await self._refuse(action, item, scope, who)
        for item, scope, who in checks:
            if not await self._window.hit(item, action, scope, who):
                await self._refuse(action, item, scope, who)  # a concurrent try came first

    async def _refuse(self, action: str, item: RateLimitItem, scope: str, who: str) -> NoReturn:
        stats = await self._window.get_window_stats(item, action, scope, who)
        raise TooManyRequests(
            _MESSAGES[action], retry_after=math.ceil(stats.reset_time - time.time())
        )
