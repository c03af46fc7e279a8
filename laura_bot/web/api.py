"""Widget API v1: thin routes that parse, authorise, call one domain method and format."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..config_appointments import booking_offer
from ..errors import BadRequest, ErrorCode, LauraError, TooLarge, TooManyRequests
from ..media import serve_headers
from ..texts import language_name
from ..util import storable_text, valid_email
from .openapi import openapi_document
from .ratelimit import IPNetwork, RateLimiter, client_address

if TYPE_CHECKING:
    from ..config import Config
    from ..conversation import Conversations
    from ..db.sessions import Session
    from ..exports import Transcripts
    from ..files import Files
    from ..privacy import Retention
    from ..typing_state import Typing
    from ..video import Video
    from .auth import Authenticator
    from .stream import EventStreams

# The web layer gets the domain (conversations) and the config, nothing else.
CONVERSATIONS_KEY = web.AppKey("conversations", object)
AUTH_KEY = web.AppKey("auth", object)
STREAMS_KEY = web.AppKey("streams", object)
CONFIG_KEY = web.AppKey("config", object)
LIMITER_KEY = web.AppKey("limiter", RateLimiter)
PROXIES_KEY = web.AppKey("trusted_proxies", list[IPNetwork])
MEDIA_KEY = web.AppKey("media", object)
STREAM_GRACE = 10.0  # seconds a stream may run over its time while a write waits for room
LISTENING_KEY = web.AppKey("listening", dict)  # session id → its open long polls and streams

# A chat's open long polls and event streams at once: a visitor's tabs, a popped-out window
# and a reconnect overlapping the old connection fit easily; a script holding a thousand
# connections on one token to exhaust memory does not.
MAX_LISTENING_PER_SESSION = 8


@dataclass
class Media:
    """The domain's parts for files, video, typing and transcripts."""

    files: Files
    video: Video
    typing: Typing
    transcripts: Transcripts
    retention: Retention


#: The largest whole number a JSON number may be (and an events cursor): JavaScript's safe range.
MAX_INT = 2**53 - 1
_CURSOR = re.compile(r"^[0-9]{1,16}$")
_SECONDS = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?$")


def _domain(request: web.Request) -> Conversations:
    return request.app[CONVERSATIONS_KEY]  # type: ignore[return-value]


def _streams(request: web.Request) -> EventStreams:
    return request.app[STREAMS_KEY]  # type: ignore[return-value]


def _media(request: web.Request) -> Media:
    return request.app[MEDIA_KEY]  # type: ignore[return-value]


def _config(request: web.Request) -> Config:
    return request.app[CONFIG_KEY]  # type: ignore[return-value]


def _address(request: web.Request) -> str:
    return client_address(request, request.app[PROXIES_KEY])


async def rate_limit(request: web.Request, action: str, session_id: str | None = None) -> None:
    await request.app[LIMITER_KEY].hit(action, _address(request), session_id)


class _BadNumber(ValueError):
    pass


def _int(text: str) -> int:
    # Bounded before int() runs: Python refuses thousands of digits with a ValueError of its own.
    if len(text) > 17 or abs(value := int(text)) > MAX_INT:
        raise _BadNumber(text[:20])
    return value


def _float(text: str) -> float:
    value = float(text) if len(text) <= 100 else math.inf
    if not math.isfinite(value):
        raise _BadNumber(text[:20])
    return value


def _constant(name: str) -> float:
    raise _BadNumber(name)  # NaN, Infinity and -Infinity are not JSON


def _check_text(data: Any) -> None:
    """Every string, keys included, at any depth, must be text the databases can store: no
    lone UTF-16 surrogates (a JSON escape like \\ud800 makes one) and no NUL characters."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and not storable_text(item):
            raise BadRequest(
                "The request contains text that is not valid Unicode.", code=ErrorCode.INVALID_TEXT
            )


async def read_json(request: web.Request, required: bool = True) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge("The request body is too large.") from None
    if not raw.strip():
        if required:
            raise BadRequest(
                "Send a JSON object as the request body.", code=ErrorCode.MISSING_BODY
            )
        return {}
    try:
        data = json.loads(
            raw.decode("utf-8"), parse_int=_int, parse_float=_float, parse_constant=_constant
        )
    except _BadNumber:
        raise BadRequest(
            f"Numbers in the request must be finite and at most {MAX_INT} in size.",
            code=ErrorCode.BAD_NUMBER,
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadRequest(
            "The request body is not valid JSON.", code=ErrorCode.INVALID_JSON
        ) from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.", code=ErrorCode.INVALID_JSON)
    _check_text(data)
    return data


def _opt_str(data: dict[str, Any], key: str, limit: int, code: ErrorCode) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string.", code=code)
    value = value.strip()
    if len(value) > limit:
        raise BadRequest(f"{key} is too long: at most {limit} characters.", code=code)
    return value or None


def widget_language(asked: str | None, languages: list[str]) -> str:
    """The first of the visitor's languages (?lang=pl-PL,en) that is offered, else the first
    offered."""
    for code in (asked or "").split(",")[:20]:
        code = code.strip().lower().split("-")[0]
        if code in languages:
            return code
    return languages[0]


async def get_widget(request: web.Request) -> web.Response:
    config = _config(request)
    domain = _domain(request)
    topics = await domain.topics()
    languages = [str(code) for code in config["laura.languages"]]
    lang = widget_language(request.query.get("lang"), languages)
    media = _media(request)
    response = web.json_response(
        {
            "organization": config["laura.organization"],
            "available": any(t["available"] for t in topics),
            "language": lang,
            "languages": languages,
            "language_names": {code: language_name(code) for code in languages},
            # The widget's own texts: it has none of its own.
            "texts": config.widget_texts(lang),
            "topics": topics,
            "out_of_office": domain.out_of_office(lang),
            "consent": domain.consent(lang),
            "files": await media.files.limits(),
            "video": media.video.enabled,
            # Booking a conversation: when the widget offers it, and which kinds.
            "booking": booking_offer(config),
            "attention": {
                "sound": bool(config["web.sound"]),
                "notifications": bool(config["web.notifications"]),
            },
            # Portal mode: whether a chat needs the portal's signed identity.
            "portal": {
                "enabled": bool(config["web.portal_secret"]),
                "required": bool(config["web.portal_required"]),
            },
            "branding": branding(config, lang),
        }
    )
    response.enable_compression()  # most of it is the texts
    return response


def logo_address(config: Config) -> str | None:
    """widget.logo_url as a full address (a path is on this server, as web.public_url says)."""
    logo = str(config["widget.logo_url"] or "")
    if logo.startswith("/"):
        logo = str(config["web.public_url"]).rstrip("/") + logo
    return logo or None


def branding(config: Config, lang: str) -> dict[str, Any]:
    """How the widget looks (widget.*): a logo path on this server becomes a full address,
    since the widget runs on the organisation's site."""
    return {
        "color": config["widget.color"],
        "logo_url": logo_address(config),
        "position": config["widget.position"],
        "texts": dict((config["widget.texts"] or {}).get(lang) or {}),
    }


async def create_session(request: web.Request) -> web.Response:
    await rate_limit(request, "sessions")
    data = await read_json(request, required=False)
    name = _opt_str(data, "name", 60, ErrorCode.BAD_NAME)
    email = _opt_str(data, "email", 254, ErrorCode.BAD_EMAIL)
    language = _opt_str(data, "language", 10, ErrorCode.BAD_LANGUAGE)
    if email and not valid_email(email):
        raise BadRequest("That e-mail address does not look right.", code=ErrorCode.BAD_EMAIL)
    consent = data.get("consent", False)
    if not isinstance(consent, bool):
        raise BadRequest("consent must be true or false.", code=ErrorCode.BAD_CONSENT)
    session, token = await _domain(request).create_session(
        name, email, language, _address(request), consent, data.get("identity")
    )
    return web.json_response({"session_id": session.id, "token": token}, status=201)


async def _auth(request: web.Request) -> tuple[Conversations, Session]:
    auth: Authenticator = request.app[AUTH_KEY]  # type: ignore[assignment]
    session = await auth.authenticate(
        request.match_info["id"], request.headers.get("Authorization")
    )
    return _domain(request), session


async def get_session(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    return web.json_response(await domain.view(session))


async def post_topic(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    await rate_limit(request, "topic", session.id)
    data = await read_json(request)
    await domain.choose_topic(session, data.get("topic_id"))
    return web.json_response(await domain.view(session))


async def post_message(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    await rate_limit(request, "messages", session.id)
    data = await read_json(request)
    seq = await domain.visitor_message(session, data.get("body"), data.get("client_txn_id"))
    return web.json_response({"seq": seq}, status=201)


@contextmanager
def _listening(request: web.Request, session_id: str) -> Iterator[None]:
    """Counts a chat's open long polls and streams; one over the cap is refused (429)."""
    open_now = request.app[LISTENING_KEY]
    if open_now.get(session_id, 0) >= MAX_LISTENING_PER_SESSION:
        raise TooManyRequests(
            f"This chat is open in too many places at once (at most "
            f"{MAX_LISTENING_PER_SESSION}): close a tab or window of it.",
            retry_after=5,
            code=ErrorCode.TOO_MANY_LISTENING,
        )
    open_now[session_id] = open_now.get(session_id, 0) + 1
    try:
        yield
    finally:
        open_now[session_id] -= 1
        if not open_now[session_id]:
            del open_now[session_id]


async def get_events(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    after, asked = _cursor_and_timeout(request, request.query.get("after", "0"))
    timeout = min(asked or 0, float(_config(request)["web.max_poll_timeout"]))
    with _listening(request, session.id):
        events, nxt = await _streams(request).events(session, after, timeout)
    return web.json_response({"events": events, "next": nxt})


def _cursor_and_timeout(request: web.Request, after_text: str) -> tuple[int, float | None]:
    timeout_text = request.query.get("timeout")
    if not _CURSOR.match(after_text) or (
        timeout_text is not None and not _SECONDS.match(timeout_text)
    ):
        raise BadRequest(
            "after must be a whole number (0 or more) and timeout a number of seconds.",
            code=ErrorCode.BAD_QUERY,
        )
    after = int(after_text)
    timeout = float(timeout_text) if timeout_text is not None else None
    if after > MAX_INT or (timeout is not None and not math.isfinite(timeout)):
        raise BadRequest(f"after is at most {MAX_INT}.", code=ErrorCode.BAD_QUERY)
    return after, timeout


async def get_stream(request: web.Request) -> web.StreamResponse:
    """The push transport: Server-Sent Events, each a batch like the long poll's answer.
    The cursor is after=, or the Last-Event-ID a reconnecting EventSource sends."""
    domain, session = await _auth(request)
    after, timeout = _cursor_and_timeout(
        request,
        request.query.get("after", request.headers.get("Last-Event-ID", "0")),
    )
    limit = float(_config(request)["web.max_stream_time"])
    duration = limit if timeout is None else min(timeout, limit)
    with _listening(request, session.id):
        return await _stream(request, domain, session, after, duration)


async def _stream(
    request: web.Request, domain: Conversations, session: Session, after: int, duration: float
) -> web.StreamResponse:
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass each event on at once
        }
    )
    await resp.prepare(request)

    async def send(events: list[dict[str, Any]], nxt: int) -> None:
        data = json.dumps({"events": events, "next": nxt}, separators=(",", ":"))
        await resp.write(f"id: {nxt}\ndata: {data}\n\n".encode())

    async def keepalive() -> None:
        await resp.write(b": keepalive\n\n")

    # A visitor who stops reading (a frozen tab, a network that went quiet) leaves a write
    # waiting for room in the socket: the stream ends at its time all the same, and they
    # read on from their last id when they come back.
    limit = asyncio.timeout(duration + STREAM_GRACE)
    try:
        async with limit:
            await _streams(request).stream(session, after, send, duration, keepalive)
            await resp.write_eof()
    except ConnectionResetError:
        pass  # the visitor went away
    except TimeoutError:
        if not limit.expired():
            raise
        if request.transport is not None:
            request.transport.abort()  # what waits to be written goes with it
    return resp


async def post_contact(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    await rate_limit(request, "contact", session.id)
    data = await read_json(request)
    await domain.contact_request(session, data)
    return web.json_response(await domain.view(session), status=201)


async def post_language(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    data = await read_json(request)
    language = _opt_str(data, "language", 10, ErrorCode.BAD_LANGUAGE)
    if not language:
        raise BadRequest("Say which language: language is missing.", code=ErrorCode.BAD_LANGUAGE)
    session = await domain.set_language(session, language)
    return web.json_response(await domain.view(session))


async def post_wait(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    await domain.keep_waiting(session)
    return web.json_response(await domain.view(session))


async def post_end(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    data = await read_json(request, required=False)
    reason = _opt_str(data, "reason", 40, ErrorCode.BAD_REASON)
    await domain.end_by_visitor(session, reason)
    return web.json_response(await domain.view(session))


async def post_restart(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    await rate_limit(request, "sessions")
    await domain.restart(session)
    return web.json_response(await domain.view(session))


async def post_rating(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    data = await read_json(request)
    await domain.rate(session, data)
    return web.json_response(await domain.view(session), status=201)


async def post_attachment(request: web.Request) -> web.Response:
    """One file in a multipart/form-data field named "file", read in chunks and refused as
    soon as it passes the limit: an oversized file is never stored."""
    _, session = await _auth(request)
    await rate_limit(request, "uploads", session.id)
    files = _media(request).files
    limit = await files.max_bytes()
    too_large = TooLarge(
        f"The file is too large: at most {limit // (1024 * 1024)} MB.",
        code=ErrorCode.FILE_TOO_LARGE,
    )
    if request.content_length and request.content_length > limit + 64 * 1024:
        raise too_large
    name, data = None, bytearray()
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if getattr(part, "name", None) != "file":
                continue
            name = getattr(part, "filename", None) or ""
            while chunk := await part.read_chunk(64 * 1024):  # type: ignore[union-attr]
                data += chunk
                if len(data) > limit:
                    raise too_large
            break
    except LauraError:
        raise
    except Exception:
        raise BadRequest(
            "Send the file as multipart/form-data, in a field named file.",
            code=ErrorCode.BAD_UPLOAD,
        ) from None
    if name is None:
        raise BadRequest("The request has no field named file.", code=ErrorCode.BAD_UPLOAD)
    event = await files.visitor_upload(session, name, bytes(data))
    return web.json_response(event, status=201)


async def get_attachment(request: web.Request) -> web.Response:
    _, session = await _auth(request)
    thumbnail = request.query.get("thumbnail") in ("1", "true")
    att, data = await _media(request).files.get(
        session, request.match_info["attachment_id"], thumbnail
    )
    mime = att.thumbnail_mime if thumbnail and att.thumbnail_mime else att.mime
    inline = request.query.get("download") not in ("1", "true")
    return web.Response(body=data, headers=serve_headers(mime, att.kind, att.name, inline))


async def post_typing(request: web.Request) -> web.Response:
    _, session = await _auth(request)
    await rate_limit(request, "typing", session.id)
    data = await read_json(request)
    return web.json_response(await _media(request).typing.visitor_typing(session, data))


async def get_video(request: web.Request) -> web.Response:
    _, session = await _auth(request)
    return web.json_response(await _media(request).video.join(session))


async def get_transcript(request: web.Request) -> web.Response:
    domain, session = await _auth(request)
    await rate_limit(request, "transcripts", session.id)
    transcripts = _media(request).transcripts
    conv = await domain.current(session)
    pdf = await transcripts.pdf(conv, session.language)
    name = transcripts.file_name(conv, session.language, "pdf")
    return web.Response(body=pdf, headers=serve_headers("application/pdf", "file", name, False))


async def delete_session(request: web.Request) -> web.Response:
    """The visitor's "delete my data": everything about them goes now; the token with it."""
    _, session = await _auth(request)
    await _media(request).retention.forget(session)
    return web.Response(status=204)


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(_config(request)["web.public_url"]))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/widget", get_widget)
    r.add_get("/api/v1/openapi.json", get_openapi)
    r.add_post("/api/v1/sessions", create_session)
    r.add_get("/api/v1/sessions/{id}", get_session)
    r.add_delete("/api/v1/sessions/{id}", delete_session)
    r.add_post("/api/v1/sessions/{id}/topic", post_topic)
    r.add_post("/api/v1/sessions/{id}/messages", post_message)
    r.add_get("/api/v1/sessions/{id}/events", get_events)
    r.add_get("/api/v1/sessions/{id}/stream", get_stream)
    r.add_post("/api/v1/sessions/{id}/contact-request", post_contact)
    r.add_post("/api/v1/sessions/{id}/wait", post_wait)
    r.add_post("/api/v1/sessions/{id}/language", post_language)
    r.add_post("/api/v1/sessions/{id}/end", post_end)
    r.add_post("/api/v1/sessions/{id}/restart", post_restart)
    r.add_post("/api/v1/sessions/{id}/rating", post_rating)
    r.add_post("/api/v1/sessions/{id}/attachments", post_attachment)
    r.add_get("/api/v1/sessions/{id}/attachments/{attachment_id}", get_attachment)
    r.add_post("/api/v1/sessions/{id}/typing", post_typing)
    r.add_get("/api/v1/sessions/{id}/video", get_video)
    r.add_get("/api/v1/sessions/{id}/transcript.pdf", get_transcript)
