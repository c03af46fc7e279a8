"""Video calls (S6, V11): a Jitsi widget in the consult room, joined by the visitor in the chat.

Staff start a call with !video or with Element's own button; either way the room holds an
`im.vector.modular.widgets` state event of type jitsi, and the conversation remembers its
conference. The visitor is offered to join that same conference inside the chat widget. Only
staff can start one: the ghost lacks the power level for widgets, and the widget API has no call
that starts a call.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any
from urllib.parse import quote, urlsplit

import jwt

from .config import Config
from .conversation import Conversations
from .db import Store
from .db.base import transaction
from .db.conversations import Conversation
from .db.sessions import Session
from .errors import Conflict, ErrorCode
from .notifier import Notifier
from .status import Status

log = logging.getLogger(__name__)

WIDGET_TYPE = "im.vector.modular.widgets"
LAYOUT_TYPE = "io.element.widgets.layout"
JITSI_TYPES = ("jitsi", "m.jitsi")
TOKEN_LIFETIME = 2 * 3600  # seconds a participant's Jitsi token is valid


def jitsi_widget(
    domain: str, conference: str, widget_id: str, creator: str, name: str, room_name: str
) -> dict[str, Any]:
    """The widget's state content as Element Web writes it (WidgetUtils.addJitsiWidget).
    Element shows a Jitsi widget with its own Jitsi wrapper, from data.domain and
    data.conferenceId; the url (the conference on the Jitsi server) is for other clients."""
    url = f"https://{domain}/{quote(conference)}"
    return {
        "type": "jitsi",
        "url": url,
        "name": name,
        "data": {
            "domain": domain,
            "conferenceId": conference,
            "isAudioOnly": False,
            "roomName": room_name,
        },
        "id": widget_id,
        "creatorUserId": creator,
    }


def jitsi_of(content: Any) -> tuple[str, str] | None:
    """(domain, conference) of a Jitsi widget's state content; None for anything else (an
    empty content is a removed widget)."""
    if not isinstance(content, dict) or content.get("type") not in JITSI_TYPES:
        return None
    data = content.get("data")
    if not isinstance(data, dict):
        return None
    domain, conference = data.get("domain"), data.get("conferenceId")
    if not isinstance(domain, str) or not isinstance(conference, str):
        return None
    if not domain or len(domain) > 253 or not conference or len(conference) > 200:
        return None
    if any(c in domain for c in "/?#@ \\") or any(c in conference for c in "/?#\\"):
        return None
    return domain, conference


class Video:
    def __init__(
        self,
        config: Config,
        store: Store,
        notifier: Notifier,
        conversations: Conversations,
    ) -> None:
        self.config = config
        self.store = store
        self.notifier = notifier
        self.conversations = conversations

    @property
    def base_url(self) -> str:
        return str(self.config["video.jitsi_url"] or "").rstrip("/")

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).netloc

    def new_conference(self, conv: Conversation) -> tuple[str, str]:
        """(widget id, conference name) for a new call: random, so nobody guesses it."""
        # Lowercase: Jitsi lowercases room names, and token auth compares the room claim.
        return secrets.token_hex(12), "laura" + secrets.token_hex(10)

    async def started(
        self, conv: Conversation, widget_id: str, domain: str, conference: str, by: str
    ) -> bool:
        """A Jitsi widget appeared in the consult room: the visitor is offered to join. False
        when the chat is not connected (a call after the end is not passed on)."""
        if conv.status != Status.CONNECTED:
            return False
        if (conv.video_widget_id, conv.video_conference) == (widget_id, conference):
            return True  # the same widget again (a replayed event, or Laura's own)
        async with transaction(self.store.db) as conn:
            await self.store.conversations.set_fields(
                conv.id,
                conn,
                video_widget_id=widget_id,
                video_domain=domain,
                video_conference=conference,
            )
            await self.store.events.append(
                conn,
                conv.session_id,
                conv.id,
                "video",
                data={"video": "started", "name": by},
            )
        log.info("Conversation %s: video call started", conv.id)
        self.notifier.notify(conv.session_id)
        return True

    async def ended(self, conv: Conversation, widget_id: str | None = None) -> bool:
        """The call's widget was removed (or the chat ended): the visitor's offer goes, and the
        history says the call ended. widget_id None: whatever call there is."""
        if not conv.video_widget_id or (widget_id and widget_id != conv.video_widget_id):
            return False
        async with transaction(self.store.db) as conn:
            await self.store.conversations.set_fields(
                conv.id, conn, video_widget_id=None, video_domain=None, video_conference=None
            )
            await self.store.events.append(
                conn, conv.session_id, conv.id, "video", data={"video": "ended"}
            )
        log.info("Conversation %s: video call ended", conv.id)
        self.notifier.notify(conv.session_id)
        return True

    async def join(self, session: Session) -> dict[str, Any]:
        """What the visitor's widget needs to join the call of their chat."""
        conv = await self.conversations.current(session)
        if conv.status != Status.CONNECTED or not conv.video_conference or not conv.video_domain:
            raise Conflict(
                "There is no video call in this chat right now.", code=ErrorCode.NO_VIDEO_CALL
            )
        domain, conference = conv.video_domain, conv.video_conference
        base = self.base_url if domain == self.domain else f"https://{domain}"
        out: dict[str, Any] = {
            "domain": domain,
            "room": conference,
            "url": f"{base}/{quote(conference)}",
            "external_api": f"{base}/external_api.js",
            "display_name": session.nickname,
            "jwt": None,
        }
        if domain == self.domain and self.config["video.jwt_app_id"]:
            out["jwt"] = self.token(conference, session.nickname)
            out["url"] += f"?jwt={out['jwt']}"
        return out

    def token(self, conference: str, display_name: str, moderator: bool = False) -> str:
        """A Jitsi token (prosody token auth) for one conference, valid for TOKEN_LIFETIME."""
        now = int(time.time())
        claims = {
            "aud": self.config["video.jwt_audience"] or "jitsi",
            "iss": self.config["video.jwt_app_id"],
            "sub": self.domain,
            "room": conference,
            "iat": now,
            "nbf": now - 10,
            "exp": now + TOKEN_LIFETIME,
            "context": {"user": {"name": display_name, "moderator": moderator}},
        }
        return jwt.encode(claims, str(self.config["video.jwt_secret"]), algorithm="HS256")
