"""Sending: the one place Laura's messages go to the homeserver, each once (the send ledger)."""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from mautrix.api import Method, Path
from mautrix.appservice import AppService, IntentAPI
from mautrix.types import EventType, FileInfo, RoomID, Serializable

from ..db import Store
from . import content as c

log = logging.getLogger(__name__)

# Every event Laura sends with a stored txn id carries it under this key, so that a send can be
# recognised in the room after Synapse forgot the txn id (it keeps them in memory only).
TXN_KEY = "org.laura.txn_id"
LOOKBACK = 100  # how many of the sender's recent events of that type are searched

Content = Serializable | dict[str, Any]


class Sender:
    def __init__(self, store: Store, az: AppService) -> None:
        self.store = store
        self.az = az

    @property
    def bot(self) -> IntentAPI:
        return self.az.intent

    async def send(
        self,
        room_id: str,
        content: Content,
        txn_id: str | None = None,
        intent: IntentAPI | None = None,
        event_type: EventType = EventType.ROOM_MESSAGE,
    ) -> str:
        """Send once. With a txn id the event carries it (TXN_KEY) and the send is noted in
        the ledger first. A send the homeserver confirmed before is not sent again; one that
        was tried without an answer (a crash, a lost answer, a Synapse restart that forgot the
        txn id) is looked up among the sender's recent events in the room first."""
        intent = intent or self.bot
        data = content.serialize() if isinstance(content, Serializable) else dict(content)
        if txn_id is None:
            return await intent.send_message_event(RoomID(room_id), event_type, cast(Any, data))
        data[TXN_KEY] = txn_id
        tried, confirmed = await self.store.sends.note(txn_id, room_id)
        if confirmed:
            return confirmed
        if tried:
            found = await self.find_sent(room_id, intent.mxid, event_type, txn_id)
            if found:
                log.info("Send %s was already in %s as %s", txn_id, room_id, found)
                await self.store.sends.confirm(txn_id, found)
                return found
        event_id = await intent.send_message_event(
            RoomID(room_id), event_type, cast(Any, data), txn_id=txn_id
        )
        await self.store.sends.confirm(txn_id, event_id)
        return event_id

    async def find_sent(
        self, room_id: str, sender: str, event_type: EventType, txn_id: str
    ) -> str | None:
        """The event id of an earlier send with this txn id among the sender's recent events
        in the room (read as the bot, which is in every room Laura sends to)."""
        filter_json = {"senders": [sender], "types": [str(event_type)], "limit": LOOKBACK}
        resp = await self.bot.api.request(
            Method.GET,
            Path.v3.rooms[room_id].messages,
            query_params={"dir": "b", "limit": str(LOOKBACK), "filter": json.dumps(filter_json)},
        )
        for evt in resp.get("chunk") or []:
            content = evt.get("content") if isinstance(evt, dict) else None
            if isinstance(content, dict) and content.get(TXN_KEY) == txn_id:
                return str(evt["event_id"])
        return None

    async def send_file(
        self,
        room_id: str,
        data: bytes,
        mime: str,
        name: str,
        txn_id: str,
        *,
        purpose: str,
        conversation_id: str | None = None,
    ) -> str:
        """A file of Laura's own (a transcript, an export) as an m.file in the room. The upload
        carries no file name: mautrix would log it with the URL. It is noted before it is sent,
        for retention to delete with the chat (purpose "chat") or the case ("cases")."""
        mxc = await self.bot.upload_media(data, mime_type=mime)
        await self.store.privacy.record_upload(str(mxc), room_id, conversation_id, purpose)
        content = c.file(name, str(mxc), FileInfo(mimetype=mime, size=len(data)))
        return await self.send(room_id, content, txn_id)

    async def notice(
        self, room_id: str, text: str, txn_id: str | None = None, reply_to: str | None = None
    ) -> str:
        return await self.send(room_id, c.notice(text, reply_to), txn_id)
