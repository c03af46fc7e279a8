"""The client's side of appointments: in the chat (`GET .../appointments`, each as an `.ics`
file), and the personal page the mails link to.

The personal page shows the appointment and offers what the client may do (cancel; join a
video call) as forms that POST: a mail scanner that opens every link in a mail (they do)
changes nothing by a GET. The link's secret is an HMAC of the appointment's id under a key of
Laura's (Appointments.link_token): nothing to guess, nothing stored.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import web

from ..db.appointments import Appointment
from ..errors import NotFound
from ..resources import resource
from ..texts import VISITOR, render, text_in
from ..util import now_ms
from .api import CONFIG_KEY, _auth, rate_limit, read_json

if TYPE_CHECKING:
    from ..appointments.parts import AppointmentParts
    from ..config import Config

PARTS_KEY = web.AppKey("appointments", object)
FEED_PAST_MS = 30 * 86_400_000  # a feed shows the last 30 days too, cancellations included
_PAGE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(resource("web", "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _parts(request: web.Request) -> AppointmentParts:
    return request.app[PARTS_KEY]  # type: ignore[return-value]


async def _of_session(request: web.Request) -> list[Appointment]:
    """The appointments of the session's chats; in portal mode those of every chat of the
    same signed-in client."""
    _, session = await _auth(request)
    return await _parts(request).store.appointments.of_session(session.id, session.verified_id)


async def list_appointments(request: web.Request) -> web.Response:
    service = _parts(request).service
    appts = await _of_session(request)
    return web.json_response({"appointments": [await service.for_client(a) for a in appts]})


async def get_slots(request: web.Request) -> web.Response:
    """Free times to book a conversation on a topic (?topic=<id>)."""
    await _auth(request)
    parts = _parts(request)
    slots = await parts.booking.slots(request.query.get("topic", ""))
    return web.json_response(
        {
            "timezone": str(parts.service.tz),
            "kinds": parts.booking.kinds,
            "slots": [{"start": s.start.isoformat(), "end": s.end.isoformat()} for s in slots],
        }
    )


async def post_appointment(request: web.Request) -> web.Response:
    """Book a conversation in one of the free slots."""
    _, session = await _auth(request)
    # Counted with the contact requests (web.rate_limits.contact): a booking is one too.
    await rate_limit(request, "contact", session.id)
    parts = _parts(request)
    data = await read_json(request)
    changed = await parts.booking.book(session, data)
    return web.json_response(await parts.service.for_client(changed.appointment), status=201)


async def get_ics(request: web.Request) -> web.Response:
    wanted = request.match_info["appointment_id"]
    appt = next((a for a in await _of_session(request) if a.id == wanted), None)
    if appt is None:
        raise NotFound("There is no such appointment in this chat.")
    return _ics(request, appt)


def _ics(request: web.Request, appt: Appointment) -> web.Response:
    parts = _parts(request)
    body = parts.mails.ics(appt, None, parts.service.link(appt.id))
    return web.Response(
        body=body,
        headers={
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": 'attachment; filename="afspraak.ics"',
            "Cache-Control": "no-store",
        },
    )


# The personal page ----------------------------------------------------------------------------


async def _by_link(request: web.Request) -> Appointment:
    parts = _parts(request)
    appointment_id = parts.service.from_link(request.match_info["token"])
    appt = await parts.store.appointments.get(appointment_id) if appointment_id else None
    if appt is None:
        raise web.HTTPNotFound(text="This appointment link is not valid (any more).")
    return appt


def _texts(config: Config, lang: str) -> dict[str, str]:
    org = str(config["laura.organization"])
    names = [n for n in VISITOR["nl"] if n.startswith("appointment_page_")]
    return {
        n[len("appointment_page_") :]: render(text_in(VISITOR, lang, n) or "", organization=org)
        for n in names
    }


async def _page(
    request: web.Request, appt: Appointment, notice: str | None = None
) -> web.Response:
    parts = _parts(request)
    config: Config = request.app[CONFIG_KEY]  # type: ignore[assignment]
    shown: dict[str, Any] = await parts.service.for_client(appt)
    closes = parts.service.window(appt)[1]
    now = now_ms()
    texts = _texts(config, appt.lang)
    html = _PAGE.get_template("appointment.html").render(
        t=texts,
        lang=appt.lang,
        a=shown,
        when=parts.messages.when_for(appt, appt.lang),
        where=parts.mails.location(appt) if shown["location_kind"] else None,
        notice=texts.get(notice) if notice else None,
        can_cancel=not appt.cancelled and appt.start_at > now,
        video=appt.video and not appt.cancelled and now < closes,
        token=request.match_info["token"],
    )
    return web.Response(
        text=html,
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "form-action 'self'",
        },
    )


async def get_page(request: web.Request) -> web.Response:
    return await _page(request, await _by_link(request))


async def post_cancel(request: web.Request) -> web.Response:
    appt = await _by_link(request)
    parts = _parts(request)
    if appt.cancelled:
        return await _page(request, appt, "already_cancelled")
    if appt.start_at <= now_ms():
        return await _page(request, appt, "too_late")
    await parts.service.cancel(appt, "client")
    refreshed = await parts.store.appointments.get(appt.id)
    return await _page(request, refreshed or appt, "cancelled")


async def post_join(request: web.Request) -> web.Response:
    appt = await _by_link(request)
    parts = _parts(request)
    opens, closes = parts.service.window(appt)
    now = now_ms()
    if not appt.video or appt.cancelled:
        return await _page(request, appt, "no_video")
    if now < opens:
        return await _page(request, appt, "join_early")
    if now > closes:
        return await _page(request, appt, "join_late")
    url = parts.service.video_url(appt)
    if url is None:
        return await _page(request, appt, "no_video")
    raise web.HTTPSeeOther(url)


async def get_page_ics(request: web.Request) -> web.Response:
    return _ics(request, await _by_link(request))


async def get_feed(request: web.Request) -> web.Response:
    """An adviser's calendar subscription: the secret in the address is the key."""
    parts = _parts(request)
    token = request.match_info["token"]
    owner = await parts.store.appointments.feed_owner(feed_hash(token))
    if owner is None:
        raise web.HTTPNotFound(text="This calendar address is not valid (any more).")
    since = now_ms() - FEED_PAST_MS
    appts = await parts.store.appointments.for_feed(owner, since)
    body = await parts.mails.feed(appts, bool(parts.config["appointments.feed_details"]))
    return web.Response(
        body=body,
        headers={"Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "no-store"},
    )


def feed_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_appointment_routes(app: web.Application, parts: AppointmentParts) -> None:
    app[PARTS_KEY] = parts
    r = app.router
    r.add_get("/api/v1/sessions/{id}/appointments", list_appointments)
    r.add_post("/api/v1/sessions/{id}/appointments", post_appointment)
    r.add_get("/api/v1/sessions/{id}/slots", get_slots)
    r.add_get("/api/v1/sessions/{id}/appointments/{appointment_id}.ics", get_ics)
    r.add_get("/appointment/{token}", get_page)
    r.add_get("/appointment/{token}/afspraak.ics", get_page_ics)
    r.add_post("/appointment/{token}/cancel", post_cancel)
    r.add_post("/appointment/{token}/join", post_join)
    r.add_get("/calendar/{token}.ics", get_feed)
