"""Who is calling: a visitor's bearer token, checked against its stored hash."""

from __future__ import annotations

import hmac
import re

from ..conversation import hash_token
from ..db import Store
from ..db.sessions import Session
from ..errors import ErrorCode, NotFound, Unauthorized


class Authenticator:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def authenticate(self, session_id: str, authorization: str | None) -> Session:
        """Bearer token → the caller's session. No/garbled/wrong token → 401; someone else's (or
        an unknown) session → 404, the same answer in both cases."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer":  # auth schemes are case-insensitive (RFC 9110)
            raise Unauthorized("Missing bearer token.", code=ErrorCode.MISSING_TOKEN)
        token = token.strip()
        own_id, _, secret = token.partition(".")
        # Only a token of our own alphabet reaches the database (a header may hold any bytes).
        ours = bool(re.fullmatch(r"[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,128}", token))
        session = await self.store.sessions.get_by_id(own_id) if ours and secret else None
        expected = session.token_hash if session else hash_token("x" * 16)
        if not hmac.compare_digest(expected, hash_token(token if ours else "")) or not session:
            raise Unauthorized("Invalid token.", code=ErrorCode.INVALID_TOKEN)
        if not session_id.isascii() or not hmac.compare_digest(session.id, session_id):
            raise NotFound("No such session.", code=ErrorCode.SESSION_NOT_FOUND)
        return session
