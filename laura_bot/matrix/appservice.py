"""mautrix's AppService with a durable inbox and the spec's authentication answers.

Stock mautrix answers 200 even when a handler fails and keeps its txn dedupe set in memory, so a
crash loses events. Here every PDU is committed to the inbox table (deduplicated on event_id)
*before* the transaction is answered; if the commit fails Synapse gets a 500 and retries.

mautrix still keeps its state store up to date, but it only ever sees events that deserialize:
on a malformed one it would log the whole event, content included, and that is health data.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import web
from mautrix.appservice import AppService
from mautrix.types import EphemeralEvent, Event

from ..faults import describe

log = logging.getLogger(__name__)

# Synapse's requests to these paths must carry the hs_token; the probes need none.
_OPEN_PATHS = ("/_matrix/mau/",)


def _error(status: int, errcode: str, message: str) -> web.Response:
    return web.json_response({"errcode": errcode, "error": message}, status=status)


def room_key(event: dict[str, Any]) -> str:
    """The room an inbox event is filed under ("" when it has none: it is malformed)."""
    room_id = event.get("room_id")
    return room_id if isinstance(room_id, str) else ""


def _deserializes(cls: Any, raw: Any) -> bool:
    try:
        cls.deserialize(raw)
        return True
    except Exception:
        return False


class InboxAppService(AppService):
    def __init__(
        self,
        *args: Any,
        persist: Callable[[list[dict[str, Any]]], Awaitable[object]],
        is_own_user: Callable[[str], bool],
        on_stored: Callable[[set[str]], None],
        on_presence: Callable[[str, str], None] | None = None,
        on_typing: Callable[[str, list[str]], None] | None = None,
        on_transaction: Callable[[str, bool], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._persist = persist
        self._is_own_user = is_own_user
        self._on_stored = on_stored
        self._on_presence = on_presence
        self._on_typing = on_typing
        self._on_transaction = on_transaction
        self.app.middlewares.append(self._guard)

    # Authentication and error shape ---------------------------------------------------------

    def _auth_error(self, request: web.Request) -> web.Response | None:
        """Spec: no credentials → 401 M_UNAUTHORIZED; wrong ones → 403 M_FORBIDDEN. A token in
        the query string is refused too: Synapse sends the header, and URLs end up in logs."""
        header = request.headers.get("Authorization")
        if header is None:
            if "access_token" in request.rel_url.query:
                return _error(403, "M_FORBIDDEN", "Send the hs_token in the Authorization header")
            return _error(401, "M_UNAUTHORIZED", "Missing the Authorization header")
        scheme, _, token = header.strip().partition(" ")
        # aiohttp decodes header bytes with surrogateescape: encode the same way, so that
        # garbage in the header is a wrong token (403), not an encoding error (500).
        given = token.strip().encode("utf-8", "surrogateescape")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given, self.hs_token.encode()):
            return _error(403, "M_FORBIDDEN", "Invalid auth token")
        return None

    @web.middleware
    async def _guard(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if not request.path.startswith(_OPEN_PATHS):
            refused = self._auth_error(request)
            if refused is not None:
                log.info("Refused %s %s: %s", request.method, request.path, refused.status)
                return refused
        try:
            return await handler(request)
        except web.HTTPException as e:
            if e.status < 400:
                raise
            if e.content_type == "application/json":
                raise
            code = {404: "M_UNRECOGNIZED", 405: "M_UNRECOGNIZED"}.get(e.status, "M_UNKNOWN")
            return _error(e.status, code, e.reason)
        except Exception as e:
            log.error(
                "Appservice request %s %s failed: %s", request.method, request.path, describe(e)
            )
            return _error(500, "M_UNKNOWN", "Internal appservice error")

    async def _read_json(self, request: web.Request) -> Any:
        try:
            return json.loads(await request.read())
        except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, int limits
            raise web.HTTPBadRequest(
                content_type="application/json",
                text=json.dumps({"errcode": "M_NOT_JSON", "error": "Body is not JSON"}),
            ) from None

    async def _http_ping(self, request: web.Request) -> web.Response:
        data = await self._read_json(request)
        if not isinstance(data, dict):
            return _error(400, "M_BAD_JSON", "Body must be a JSON object")
        log.info("Ping from the homeserver")
        return web.json_response({})

    # Transactions ---------------------------------------------------------------------------

    async def _http_handle_transaction(self, request: web.Request) -> web.Response:
        txn_id = request.match_info["transaction_id"]
        data = await self._read_json(request)
        if not isinstance(data, dict) or not isinstance(data.get("events", []), list):
            return _error(400, "M_BAD_JSON", "Body must be an object with an events list")
        events = data.pop("events", [])
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
        except Exception as e:
            log.error(
                "Could not store transaction %s (%s); asking the homeserver to retry",
                txn_id,
                describe(e),
            )
            if self._on_transaction:
                self._on_transaction(txn_id, False)
            return _error(500, "M_UNKNOWN", "Could not store the events; retry later")
        log.debug("Stored transaction %s (%d of %d events)", txn_id, len(keep), len(events))
        # The state store (and any ephemeral handler) still runs through mautrix, but only on
        # what deserializes: mautrix would log the content of anything else.
        ephemeral = (
            self._get_with_fallback(data, "ephemeral", "de.sorunome.msc2409")
            if self.ephemeral_events
            else None
        )
        if not isinstance(ephemeral, list):
            ephemeral = []
        state_events = [
            e
            for e in events
            if isinstance(e, dict) and "state_key" in e and _deserializes(Event, dict(e))
        ]
        edus = [e for e in ephemeral if isinstance(e, dict) and _deserializes(EphemeralEvent, e)]
        try:
            await self.handle_transaction(
                txn_id,
                events=cast(Any, state_events),
                extra_data=cast(Any, data),
                ephemeral=cast(Any, edus),
            )
        except Exception as e:
            log.warning("State store update failed for transaction %s: %s", txn_id, describe(e))
        if self._on_transaction:
            self._on_transaction(txn_id, True)  # may hold the router: a transaction was lost
        if keep:
            self._on_stored({room_key(e) for e in keep})
        for edu in ephemeral:
            user, presence = self._presence_of(edu)
            if self._on_presence and user and presence and not self._is_own_user(user):
                self._on_presence(user, presence)
            room_id, typing = self._typing_of(edu)
            if self._on_typing and room_id is not None and typing is not None:
                self._on_typing(room_id, typing)
        return web.json_response({})

    @staticmethod
    def _typing_of(edu: Any) -> tuple[str | None, list[str] | None]:
        """(room, users typing) of an m.typing EDU; (None, None) for anything else."""
        if not isinstance(edu, dict) or edu.get("type") != "m.typing":
            return None, None
        content, room_id = edu.get("content"), edu.get("room_id")
        users = content.get("user_ids") if isinstance(content, dict) else None
        if not isinstance(room_id, str) or not isinstance(users, list):
            return None, None
        return room_id, [u for u in users if isinstance(u, str)][:50]

    @staticmethod
    def _presence_of(edu: Any) -> tuple[str | None, str | None]:
        """(user, presence) of an m.presence EDU; (None, None) for anything else or malformed.
        Synapse combines the presence of all of a user's devices: offline means every client
        of theirs is gone."""
        if not isinstance(edu, dict) or edu.get("type") != "m.presence":
            return None, None
        content = edu.get("content")
        sender = edu.get("sender")
        presence = content.get("presence") if isinstance(content, dict) else None
        if not isinstance(sender, str) or presence not in ("online", "unavailable", "offline"):
            return None, None
        return sender, presence
