"""Who is looking at the dashboard, proven by Matrix.

The page asks its Matrix client for an OpenID token (the widget API's get_openid) and posts it
here as the homeserver issued it. Laura asks the homeserver whose it is (the OpenID userinfo
endpoint, the way an integration manager does) and answers with a session of its own: a random
bearer token that lives SESSION_SECONDS, in memory only. No password, no token in a URL; a
restart ends every session and the page simply asks again.

Only users of Laura's own homeserver are accepted (staff are), and only those who may see
something: members of a department's dispatch room, admins and supervisors.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from ..errors import BadRequest, ErrorCode, Forbidden, Unauthorized

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger(__name__)

SESSION_SECONDS = 3600  # as long as the homeserver's OpenID token; the page renews it
MAX_SESSIONS = 5000
USERINFO = "/_matrix/federation/v1/openid/userinfo"


@dataclass(frozen=True)
class Viewer:
    user_id: str
    admin: bool
    lead: bool  # admins and supervisors: the charts
    expires_at: float


class DashboardAuth:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.domain = str(config["homeserver.domain"])
        self.homeserver = str(config["homeserver.address"]).rstrip("/")
        self._sessions: dict[str, Viewer] = {}
        self._http: aiohttp.ClientSession | None = None

    async def who(self, openid: Any) -> str:
        """The Matrix user an OpenID token (as the homeserver issued it) belongs to."""
        if not isinstance(openid, dict):
            raise BadRequest("Send the OpenID token object as JSON.", code=ErrorCode.BAD_REQUEST)
        token = openid.get("access_token")
        server = openid.get("matrix_server_name")
        if not isinstance(token, str) or not 8 <= len(token) <= 512 or not token.isprintable():
            raise BadRequest("access_token is missing or malformed.", code=ErrorCode.BAD_REQUEST)
        if not isinstance(server, str):
            raise BadRequest("matrix_server_name is missing.", code=ErrorCode.BAD_REQUEST)
        if openid.get("token_type", "Bearer") != "Bearer":
            raise BadRequest("token_type must be Bearer.", code=ErrorCode.BAD_REQUEST)
        if server != self.domain:
            raise Unauthorized(
                f"Only accounts of {self.domain} can open this dashboard.",
                code=ErrorCode.INVALID_OPENID,
            )
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._http.get(
                self.homeserver + USERINFO, params={"access_token": token}
            ) as resp:
                body = await resp.json(content_type=None) if resp.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            log.warning("OpenID check at the homeserver failed: %s", type(e).__name__)
            raise Unauthorized(
                "The homeserver could not confirm who you are; try again.",
                code=ErrorCode.INVALID_OPENID,
            ) from None
        user = body.get("sub") if isinstance(body, dict) else None
        if not isinstance(user, str) or not user.endswith(f":{self.domain}"):
            raise Unauthorized(
                "The homeserver did not confirm this token (expired or not real).",
                code=ErrorCode.INVALID_OPENID,
            )
        return user

    def open(self, user_id: str, admin: bool, lead: bool, allowed: bool) -> tuple[str, Viewer]:
        if not allowed:
            raise Forbidden(
                "This dashboard is for the team of the room it is in.",
                code=ErrorCode.NOT_STAFF,
            )
        self._prune()
        token = secrets.token_urlsafe(32)
        viewer = Viewer(user_id, admin, lead, time.monotonic() + SESSION_SECONDS)
        self._sessions[token] = viewer
        return token, viewer

    def viewer(self, authorization: str) -> Viewer:
        scheme, _, token = authorization.strip().partition(" ")
        viewer = self._sessions.get(token.strip()) if scheme.lower() == "bearer" else None
        if viewer is None or viewer.expires_at < time.monotonic():
            raise Unauthorized(
                "Your dashboard session has ended; the page renews it by itself.",
                code=ErrorCode.INVALID_TOKEN,
            )
        return viewer

    def _prune(self) -> None:
        now = time.monotonic()
        for token in [t for t, v in self._sessions.items() if v.expires_at < now]:
            del self._sessions[token]
        while len(self._sessions) >= MAX_SESSIONS:  # the oldest go first
            del self._sessions[next(iter(self._sessions))]

    async def close(self) -> None:
        if self._http:
            await self._http.close()
            await asyncio.sleep(0)
