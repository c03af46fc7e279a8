"""The team's dashboard on the public listener: its page (a Matrix room widget) and its API.

`GET /dashboard` is the page Laura puts in the team's rooms as a widget. It may be framed only
by the Matrix clients an admin lists (dashboard.frame_ancestors) and keeps to a strict
Content-Security-Policy. Its API (`/api/v1/dashboard/...`, in the OpenAPI document) starts
with an OpenID token from the page's Matrix client (POST .../session) and then takes the short
session's bearer token; the live part is a stream of Server-Sent Events read with fetch().
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..errors import BadRequest, ErrorCode, Forbidden
from ..texts import dashboard_texts
from .api import rate_limit, read_json

if TYPE_CHECKING:
    from ..config import Config
    from ..dashboard.auth import DashboardAuth, Viewer
    from ..dashboard.view import DashboardView
    from ..reports import Reports

WAKE_SECONDS = 2.0  # a change nobody signals (an offer, a status) shows within this
MIN_GAP = 0.5  # at most two states a second to one page
KEEPALIVE = 20.0


class Dashboard:
    def __init__(
        self,
        config: Config,
        auth: DashboardAuth,
        view: DashboardView,
        reports: Reports | None,
    ) -> None:
        self.config = config
        self.auth = auth
        self.view = view
        self.reports = reports


DASHBOARD_KEY = web.AppKey("dashboard", Dashboard)


def _parts(request: web.Request) -> tuple[Dashboard, Viewer]:
    dash = request.app[DASHBOARD_KEY]
    return dash, dash.auth.viewer(request.headers.get("Authorization", ""))


async def post_session(request: web.Request) -> web.Response:
    dash = request.app[DASHBOARD_KEY]
    await rate_limit(request, "dashboard")
    openid = await read_json(request)
    user = await dash.auth.who(openid)
    view = dash.view
    departments = await view.departments_of(user)
    admin = view.is_admin(user)
    room = request.query.get("room", "")
    here = next((d.id for d in departments if room and d.room_id == room), None)
    if departments and room and here is None and not (admin and room == view.bridge.control_room):
        # Opened in a room of Laura's that is not theirs: nothing of it to see.
        ours = {d.room_id for d in await view.store.departments.all_active()}
        if room in ours or room == view.bridge.control_room:
            raise Forbidden(
                "This is another team's dashboard.", code=ErrorCode.NOT_YOUR_DEPARTMENT
            )
    token, viewer = dash.auth.open(user, admin, view.is_lead(user), allowed=bool(departments))
    languages = dash.config["laura.languages"] or []
    asked = request.query.get("lang", "")[:8]
    lang = asked if asked in languages else str(dash.config["laura.staff_language"])
    texts = dashboard_texts(lang)
    return web.json_response(
        {
            "token": token,
            "expires_in": int(viewer.expires_at - time.monotonic()),
            "user_id": user,
            "name": await view.bridge.people.staff_name(
                next((d.room_id for d in departments if d.room_id), "") or "", user
            ),
            "admin": viewer.admin,
            "lead": viewer.lead,
            "departments": [
                {"id": d.id, "label": d.label, "room_id": d.room_id} for d in departments
            ],
            "department": here,
            "language": lang,
            "texts": texts,
        },
        status=201,
        headers={"Cache-Control": "no-store"},
    )


async def get_state(request: web.Request) -> web.Response:
    dash, viewer = _parts(request)
    dept = await dash.view.department_for(viewer, request.match_info["dept"])
    return web.json_response(
        await dash.view.state(dept, viewer), headers={"Cache-Control": "no-store"}
    )


async def get_stream(request: web.Request) -> web.StreamResponse:
    """The department's state as Server-Sent Events: at once, then on every change."""
    dash, viewer = _parts(request)
    view = dash.view
    dept = await view.department_for(viewer, request.match_info["dept"])
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await resp.prepare(request)
    wake = asyncio.Event()
    watchers = view.watchers.setdefault(dept.id, set())
    watchers.add(wake)
    end = time.monotonic() + float(dash.config["web.max_stream_time"])
    last = ""
    sent_at = 0.0
    end = min(end, viewer.expires_at + 60)
    try:
        while (now := time.monotonic()) < end:
            wake.clear()
            state = await view.state(dept, viewer)
            shown = json.dumps({k: v for k, v in state.items() if k != "now"}, sort_keys=True)
            if shown != last:
                last, sent_at = shown, now
                data = json.dumps(state, separators=(",", ":"))
                await resp.write(f"event: state\ndata: {data}\n\n".encode())
            elif now - sent_at > KEEPALIVE:
                sent_at = now
                await resp.write(b": keepalive\n\n")
            await asyncio.sleep(max(0.0, min(MIN_GAP, end - time.monotonic())))
            try:
                await asyncio.wait_for(wake.wait(), max(0.0, min(WAKE_SECONDS, end - now)))
            except TimeoutError:
                pass
        await resp.write_eof()
    except ConnectionResetError:
        pass  # the page went away
    finally:
        watchers.discard(wake)
    return resp


async def post_take(request: web.Request) -> web.Response:
    dash, viewer = _parts(request)
    result = await dash.view.answer(viewer, request.match_info["chat"], take=True)
    return web.json_response({"result": result})


async def post_decline(request: web.Request) -> web.Response:
    dash, viewer = _parts(request)
    result = await dash.view.answer(viewer, request.match_info["chat"], take=False)
    return web.json_response({"result": result})


async def post_status(request: web.Request) -> web.Response:
    dash, viewer = _parts(request)
    data = await read_json(request)
    return web.json_response({"me": await dash.view.set_status(viewer, data.get("status"))})


async def get_figures(request: web.Request) -> web.Response:
    """The last 7 or 30 days of the department (team leads): the figures of !rapport."""
    dash, viewer = _parts(request)
    dept = await dash.view.department_for(viewer, request.match_info["dept"])
    if not viewer.lead:
        raise Forbidden("The figures are for admins and supervisors.", code=ErrorCode.FORBIDDEN)
    days = request.query.get("days", "7")
    if days not in ("7", "30"):
        raise BadRequest("days must be 7 or 30.", code=ErrorCode.BAD_PERIOD)
    if dash.reports is None:
        return web.json_response({"days": []})
    return web.json_response(
        {"days": await dash.reports.daily(int(days), dept.id)},
        headers={"Cache-Control": "no-store"},
    )


def _page(path: Path, config: Config) -> Any:
    html = path.read_text()
    ancestors = " ".join(str(a) for a in config["dashboard.frame_ancestors"] or []) or "'none'"
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {ancestors}",
        ]
    )

    async def page(_: web.Request) -> web.Response:
        return web.Response(
            text=html,
            content_type="text/html",
            headers={
                "Content-Security-Policy": policy,
                "Cache-Control": "no-cache",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return page


def add_dashboard_routes(app: web.Application, dashboard: Dashboard, widget_dir: Path) -> None:
    app[DASHBOARD_KEY] = dashboard
    app.router.add_post("/api/v1/dashboard/session", post_session)
    app.router.add_get("/api/v1/dashboard/departments/{dept}/state", get_state)
    app.router.add_get("/api/v1/dashboard/departments/{dept}/stream", get_stream)
    app.router.add_get("/api/v1/dashboard/departments/{dept}/figures", get_figures)
    app.router.add_post("/api/v1/dashboard/chats/{chat}/take", post_take)
    app.router.add_post("/api/v1/dashboard/chats/{chat}/decline", post_decline)
    app.router.add_post("/api/v1/dashboard/status", post_status)
    index = widget_dir / "dashboard" / "index.html"
    if index.is_file():
        app.router.add_get("/dashboard", _page(index, dashboard.config))
        app.router.add_static("/dashboard/", widget_dir / "dashboard", show_index=False)
