"""The config's `metrics:` and `webhooks:` sections: kept on update, checked at start."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mautrix.util.config import ConfigUpdateHelper
from yarl import URL

from .errors import ConfigError

# What a webhook can be told of (the payloads: docs/production.md, "Webhooks").
WEBHOOK_EVENTS = (
    "chat.started",
    "chat.taken",
    "chat.ended",
    "chat.missed",
    "contact_request.created",
    "case.saved",
    "appointment.booked",
    "appointment.changed",
    "appointment.cancelled",
)
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class Endpoint:
    """One configured webhook: where, its signing secret, the events it gets, and whether
    payloads carry content (contact details, case notes) or only ids, times and status."""

    url: str
    secret: str
    events: frozenset[str]
    content: bool


def update_ops(helper: ConfigUpdateHelper) -> None:
    for key in (
        "metrics.enabled",
        "metrics.listen",
        "webhooks",
        "dashboard.enabled",
        "dashboard.frame_ancestors",
    ):
        helper.copy(key)


def metrics_listen(value: Any) -> tuple[str, int]:
    """metrics.listen ("127.0.0.1:9108", "[::1]:9108") as (host, port)."""
    if not isinstance(value, str) or ":" not in value:
        raise ValueError("give host:port, like 127.0.0.1:9108")
    host, _, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if host != "localhost":
        ipaddress.ip_address(host)  # a ValueError says what is wrong
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("the port must be a number from 1 to 65535")
    return host, int(port)


def _secret(item: dict[str, Any], where: str) -> str:
    secret = item.get("secret") or ""
    if item.get("secret_file"):
        try:
            secret = Path(str(item["secret_file"])).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(
                f"config key '{where}.secret_file' names {item['secret_file']}, which cannot "
                f"be read ({type(e).__name__})"
            ) from None
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ConfigError(
            f"config key '{where}.secret' must be a Standard Webhooks secret: whsec_ and the "
            'base64 of at least 24 random bytes (make one with: python3 -c "import base64, '
            "os; print('whsec_' + base64.b64encode(os.urandom(32)).decode())\")"
        )
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) < 24:
        raise ConfigError(
            f"config key '{where}.secret' is not whsec_ and the base64 of at least 24 bytes"
        )
    return secret


def webhook_endpoints(config: Any) -> list[Endpoint]:
    """The webhooks: list, checked; ConfigError names the first bad entry and how to fix it."""
    items = config["webhooks"] or []
    if not isinstance(items, list):
        raise ConfigError("config key 'webhooks' must be a list of endpoints (or [])")
    endpoints: list[Endpoint] = []
    for i, item in enumerate(items):
        where = f"webhooks[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"config key '{where}' must have url, secret and events")
        url = URL(str(item.get("url") or ""))
        if url.scheme not in ("https", "http") or not url.host:
            raise ConfigError(f"config key '{where}.url' must be an http(s) address")
        events = item.get("events")
        if not isinstance(events, list) or not events:
            raise ConfigError(
                f"config key '{where}.events' must list some of: {', '.join(WEBHOOK_EVENTS)}"
            )
        unknown = [e for e in events if e not in WEBHOOK_EVENTS]
        if unknown:
            raise ConfigError(
                f"config key '{where}.events' has {unknown[0]!r}; known are: "
                f"{', '.join(WEBHOOK_EVENTS)}"
            )
        if any(e.url == str(url) for e in endpoints):
            raise ConfigError(f"config key '{where}.url' is listed twice")
        endpoints.append(
            Endpoint(str(url), _secret(item, where), frozenset(events), bool(item.get("content")))
        )
    return endpoints


def validate_ops(config: Any, need: Callable[[str, bool, str], None]) -> None:
    need("metrics.enabled", isinstance(config["metrics.enabled"], bool), "give true or false")
    try:
        metrics_listen(config["metrics.listen"])
    except ValueError as e:
        need("metrics.listen", False, str(e))
    webhook_endpoints(config)
    need("dashboard.enabled", isinstance(config["dashboard.enabled"], bool), "give true or false")
    ancestors = config["dashboard.frame_ancestors"]
    need(
        "dashboard.frame_ancestors",
        isinstance(ancestors, list) and all(_is_origin(a) for a in ancestors),
        "list the origins of the Matrix clients that may show the dashboard, like "
        "[https://app.element.io, vector://vector]",
    )


def _is_origin(value: Any) -> bool:
    """An origin for CSP frame-ancestors: scheme://host[:port], nothing more (no path, no
    wildcard but a leading *. in the host, no quotes or spaces that would break the header)."""
    if not isinstance(value, str) or any(c in value for c in " ;,'\"\n"):
        return False
    url = URL(value)
    host = url.host or ""
    return (
        bool(url.scheme)
        and bool(host)
        and url.path in ("", "/")
        and not url.query_string
        and "*" not in host.removeprefix("*.")
    )
