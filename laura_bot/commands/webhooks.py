"""`!webhooks` (admins, control room): how delivery to each configured endpoint goes, and
`!webhooks retry` to send the events given up on again."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from yarl import URL

from .base import CONTROL, Context, registry


def _where(url: str) -> str:
    """An endpoint as admins see it: host and path, never its query (it may hold a key)."""
    u = URL(url)
    return f"{u.host}{u.path if u.path != '/' else ''}"


@registry.register("webhooks", (CONTROL,), admin=True)
async def cmd_webhooks(ctx: Context) -> str:
    t = ctx.bridge.t
    outbound = ctx.store.outbound
    if ctx.args and ctx.args[0].lower() in ("retry", "opnieuw"):
        n = await outbound.retry_failed()
        outbound.wake()
        return t("webhooks_retrying", count=n)
    if not outbound.endpoints:
        return t("webhooks_none")
    states = {s.endpoint: s for s in await outbound.states()}
    zone = ZoneInfo(ctx.config["laura.timezone"])
    lines = [t("webhooks_title")]
    for endpoint in outbound.endpoints:
        state = states.get(endpoint.url)
        delivered = state.last_delivered if state else None
        lines.append(
            t(
                "webhooks_line",
                where=_where(endpoint.url),
                events=", ".join(sorted(endpoint.events)),
                content=endpoint.content,
                pending=state.pending if state else 0,
                failed=state.failed if state else 0,
                error=(state.last_error or "") if state else "",
                delivered=datetime.fromtimestamp(delivered / 1000, zone).strftime("%d-%m %H:%M")
                if delivered
                else "",
            )
        )
    return "\n".join(lines)
