"""Portal mode (V15): the host site vouches for who a visitor is with a JWT signed (HS256) with
a secret it shares with Laura. Laura checks the signature and the expiry; the portal's id and
name are then shown to staff as verified, and the visitor cannot change them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from .errors import BadRequest, ErrorCode, Forbidden
from .textsafety import clean_name
from .util import valid_email

LEEWAY = 30  # seconds of clock difference between the portal's server and Laura's
MAX_TOKEN = 4096


@dataclass(frozen=True)
class Identity:
    id: str
    name: str | None
    email: str | None


def verify(token: Any, secret: str, required: bool) -> Identity | None:
    """The identity a token vouches for; None for an anonymous visitor where allowed."""
    if token is None or token == "":
        if required:
            raise Forbidden(
                "This chat is for signed-in visitors: sign in on the portal first.",
                code=ErrorCode.IDENTITY_REQUIRED,
            )
        return None
    if not secret:
        raise BadRequest("This chat does not take a portal identity.", code=ErrorCode.BAD_IDENTITY)
    if not isinstance(token, str) or len(token) > MAX_TOKEN:
        raise BadRequest(
            "identity must be the portal's signed token.", code=ErrorCode.BAD_IDENTITY
        )
    try:
        # No audience is asked for, so a token that names one ("aud") is refused: give Laura
        # a secret of its own, not one the portal signs its other tokens with.
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["exp", "sub"]},
            leeway=LEEWAY,
        )
    except jwt.ExpiredSignatureError:
        raise BadRequest(
            "The portal's sign-in for this chat has expired: reload the page.",
            code=ErrorCode.IDENTITY_EXPIRED,
        ) from None
    except jwt.InvalidTokenError:
        raise BadRequest(
            "The portal's sign-in for this chat could not be checked.", code=ErrorCode.BAD_IDENTITY
        ) from None
    sub, name, email = claims.get("sub"), claims.get("name"), claims.get("email")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > 200:
        raise BadRequest("The portal's sign-in names nobody (sub).", code=ErrorCode.BAD_IDENTITY)
    if name is not None and (not isinstance(name, str) or len(name) > 200):
        raise BadRequest("The portal's sign-in has an unusable name.", code=ErrorCode.BAD_IDENTITY)
    if email is not None and (not isinstance(email, str) or not valid_email(email)):
        raise BadRequest(
            "The portal's sign-in has an unusable e-mail.", code=ErrorCode.BAD_IDENTITY
        )
    return Identity(sub.strip(), clean_name(name[:60]) if name else None, email or None)
