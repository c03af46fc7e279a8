"""The public web listener: widget API, the widget's static files and the demo page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from yarl import URL

from ..errors import ErrorCode
from ..resources import resource
from .admin import add_admin_routes
from .api import (
    AUTH_KEY,
    CONFIG_KEY,
    CONVERSATIONS_KEY,
    LIMITER_KEY,
    LISTENING_KEY,
    MEDIA_KEY,
    PROXIES_KEY,
    STREAMS_KEY,
    Media,
    add_routes,
    logo_address,
)
from .appointments import add_appointment_routes
from .dashboard import Dashboard, add_dashboard_routes
from .errors import JsonErrorRequestHandler, error_middleware, error_response
from .health import Check, add_health_routes
from .ratelimit import RateLimiter, parse_networks

if TYPE_CHECKING:
    from ..appointments.parts import AppointmentParts
    from ..config import Config
    from ..conversation import Conversations
    from .auth import Authenticator
    from .stream import EventStreams

WIDGET_DIR = resource("widget")


def _cors(allowed: set[str], own: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The origin check (a middleware) and the headers every answer gets (on prepare)."""

    @web.middleware
    async def cors(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        allow = origin if origin and origin in allowed else None
        if request.method == "OPTIONS" and request.path.startswith("/api/"):
            resp: web.StreamResponse = web.Response(status=204)
        elif (
            origin is not None
            and request.method not in ("GET", "HEAD")
            and request.path.startswith("/api/")
            and origin != own
            and not allow
        ):
            # A browser on a foreign page (Origin is neither Laura's own nor allowed): refused
            # before anything happens. Clients that are not browsers send no Origin.
            resp = error_response(
                403, ErrorCode.ORIGIN_NOT_ALLOWED, "Requests from this web site are not accepted."
            )
        else:
            resp = await handler(request)
        return resp

    async def headers(request: web.Request, resp: web.StreamResponse) -> None:
        """Just before the headers go out, for every answer (a stream sends them before its
        handler returns, so a middleware would be too late)."""
        origin = request.headers.get("Origin")
        if origin and origin in allowed:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Vary"] = "Origin"
            resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            resp.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            resp.headers["Access-Control-Max-Age"] = "600"
            resp.headers["Access-Control-Expose-Headers"] = "Retry-After, Content-Disposition"
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        _framing(resp)
        if request.path.startswith("/api/"):
            resp.headers.setdefault("Cache-Control", "no-store")

    return cors, headers


def _framing(resp: web.StreamResponse) -> None:
    """No other site may frame what Laura serves (clickjacking): every answer forbids it,
    except the chat page (/chat), whose own policy names the sites allowed to frame it.
    X-Frame-Options for browsers without CSP; it has no list of sites, so it goes only with
    'none'."""
    policy = resp.headers.get("Content-Security-Policy")
    if policy is None:
        resp.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    elif "frame-ancestors" not in policy:
        resp.headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
    if "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]:
        resp.headers.setdefault("X-Frame-Options", "DENY")


def build_app(
    conversations: Conversations,
    auth: Authenticator,
    streams: EventStreams,
    config: Config,
    media: Media,
    demo_pages: bool = False,
    appointments: AppointmentParts | None = None,
    health: dict[str, Check] | None = None,
    dashboard: Dashboard | None = None,
) -> web.Application:
    """The public app; it talks to the domain (conversations) only. The demo pages (/ and
    /widget/demo*.html) only with demo_pages (`laura dev`): a production Laura serves the
    widget and the chat page, nothing to try it out with."""
    allowed = {o.rstrip("/") for o in config["web.allowed_origins"]}
    own = str(URL(config["web.public_url"]).origin())
    cors, headers = _cors(allowed, own)
    app = web.Application(
        middlewares=[cors, error_middleware],
        client_max_size=int(config["web.max_body_size"]),
    )
    app.on_response_prepare.append(headers)
    app[CONVERSATIONS_KEY] = conversations
    app[AUTH_KEY] = auth
    app[STREAMS_KEY] = streams
    app[CONFIG_KEY] = config
    app[MEDIA_KEY] = media
    app[LIMITER_KEY] = RateLimiter(config["web.rate_limits"] or {})
    app[LISTENING_KEY] = {}
    app[PROXIES_KEY] = parse_networks(config["web.trusted_proxies"] or [])
    add_routes(app)
    if appointments is not None:
        add_appointment_routes(app, appointments)
    add_health_routes(app, health or {})
    # The admin API reads the database the visitors' tokens are checked in (no auth: the app is
    # built without a domain, as the API document's test does).
    add_admin_routes(app, config, auth.store if auth is not None else None)
    widget_dir = Path(config["web.widget_dir"] or WIDGET_DIR)
    if widget_dir.is_dir():
        if demo_pages:

            async def demo_page(_: web.Request) -> web.StreamResponse:
                return web.FileResponse(widget_dir / "demo.html")

            app.router.add_get("/", demo_page)
        else:
            # Found before the static files: the more specific path wins.
            for page in sorted(widget_dir.glob("demo*")):
                app.router.add_get(f"/widget/{page.name}", _not_served)
        app.router.add_static("/widget/", widget_dir, show_index=False)
        if dashboard is not None:
            add_dashboard_routes(app, dashboard, widget_dir)
        chat = _chat_page(widget_dir / "chat.html", config, own, allowed)
        if chat:
            app.router.add_get("/chat", chat)
    return app


async def _not_served(_: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound()


def _chat_page(
    path: Path, config: Config, own: str, allowed: set[str]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]] | None:
    """The chat on a page of its own: a link to send visitors, and the window the widget pops
    out into. A strict Content-Security-Policy (no inline script, nothing from elsewhere but
    the Jitsi server); it may be framed only by Laura itself and the allowed sites, the same
    sites the popped-out chat accepts its conversation from (listed in a meta tag)."""
    if not path.is_file():
        return None
    sites = sorted(allowed | {own})
    html = path.read_text().replace(
        '<meta name="laura-sites" content="">',
        f'<meta name="laura-sites" content="{escape(" ".join(sites))}">',
    )
    jitsi = config["video.jitsi_url"]
    video = f" {URL(jitsi).origin()}" if jitsi else ""
    frames = video.strip() or "'none'"
    logo_url = logo_address(config)
    logo = f" {URL(logo_url).origin()}" if logo_url else ""
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self'{video}",
            "style-src 'self'",
            f"img-src 'self' blob: data:{logo}",
            "media-src 'self' blob:",
            "connect-src 'self'",
            f"frame-src {frames}",
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors " + " ".join(["'self'", *sorted(allowed)]),
        ]
    )

    async def chat_page(_: web.Request) -> web.StreamResponse:
        return web.Response(
            text=html,
            content_type="text/html",
            headers={"Content-Security-Policy": policy, "Cache-Control": "no-cache"},
        )

    return chat_page


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class LauraRunner(web.AppRunner):
    """An AppRunner whose connections answer aiohttp's own protocol errors (a malformed request
    line, an overlong header, ...) in Laura's JSON error shape: aiohttp raises those before any
    middleware runs."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _JsonErrorServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )
