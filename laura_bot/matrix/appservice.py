"""mautrix's AppService with a durable inbox.

Stock mautrix answers 200 even when a handler fails and keeps its txn dedupe set in memory, so a
crash loses events. Here every PDU is committed to the inbox table (deduplicated on event_id)
*before* the transaction is answered; if the commit fails Synapse gets a 500 and retries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import web
from mautrix.appservice import AppService

log = logging.getLogger("laura.as")


def _error(status: int, errcode: str, message: str) -> web.Response:
    return web.json_response({"errcode": errcode, "error": message}, status=status)


class InboxAppService(AppService):
    def __init__(
        self,
        *args: Any,
        persist: Callable[[list[dict[str, Any]]], Awaitable[None]],
        is_own_user: Callable[[str], bool],
        on_stored: Callable[[], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._persist = persist
        self._is_own_user = is_own_user
        self._on_stored = on_stored

    async def _http_handle_transaction(self, request: web.Request) -> web.Response:
        if not self._check_token(request):
            return _error(403, "M_FORBIDDEN", "Invalid auth token")
        txn_id = request.match_info["transaction_id"]
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "M_NOT_JSON", "Body is not JSON")
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            return _error(400, "M_BAD_JSON", "Missing events list in body")
        events = data.pop("events")
        keep = [
            e
            for e in events
            if isinstance(e, dict)
            and isinstance(e.get("event_id"), str)
            and not self._is_own_user(str(e.get("sender", "")))
        ]
        try:
            if keep:
                await self._persist(keep)
        except Exception:
            log.exception("Could not store transaction %s; asking the homeserver to retry", txn_id)
            return _error(500, "M_UNKNOWN", "Could not store the events; retry later")
        log.debug("Stored transaction %s (%d of %d events)", txn_id, len(keep), len(events))
        # The state store and ephemeral handlers still run through mautrix.
        ephemeral = (
            self._get_with_fallback(data, "ephemeral", "de.sorunome.msc2409")
            if self.ephemeral_events
            else None
        )
        try:
            await self.handle_transaction(
                txn_id, events=events, extra_data=cast(Any, data), ephemeral=ephemeral
            )
        except Exception:
            log.exception("State store update failed for transaction %s", txn_id)
        if keep:
            self._on_stored()
        return web.json_response({})
