"""The team's dashboard (#26) as Element shows it: Laura's page in an iframe of a host page that
runs matrix-widget-api's ClientWidgetApi (the npm package Element uses), in real Chromium,
with OpenID tokens a real Synapse issued. The queue moves when a visitor arrives, Take claims
the chat (and a simultaneous Ik! in Element races it cleanly), the status buttons work, an admin
reads the figures; a colleague of another department, an outsider and a forged token see
nothing; a site that is not listed cannot frame the page. Screenshots: test-output/screenshots
(and docs/screenshots with LAURA_SCREENSHOTS=1)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from laura_bot.dev.synapse import free_port

from .conftest import IN_CI, Team
from .helpers import is_msg
from .test_dashboard import openid
from .test_widget import OUTPUT, accessibility

ROOT = Path(__file__).resolve().parents[1]
WIDGET_API = ROOT / "tests" / ".npm" / "node_modules" / "matrix-widget-api" / "dist" / "api.js"
HOST_PORT = free_port()  # listed in dashboard.frame_ancestors
STRANGER_PORT = free_port()  # not listed
HOST = f"http://127.0.0.1:{HOST_PORT}"
STRANGER = f"http://127.0.0.1:{STRANGER_PORT}"

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Widget host (as Element)</title>
<script src="/api.js"></script>
<style>body { margin: 0 } iframe { border: 0; display: block }</style></head>
<body><iframe id="widget" title="Laura"></iframe>
<script>
const cfg = JSON.parse(decodeURIComponent(location.hash.slice(1)));
class Driver extends mxwidgets.WidgetDriver {
  async validateCapabilities(requested) { return requested; }
  askOpenID(observer) {
    observer.update({state: mxwidgets.OpenIDRequestState.Allowed, token: cfg.openid});
  }
}
const widget = new mxwidgets.Widget({
  id: "laura_dashboard", creatorUserId: "@laura:localhost", type: "m.custom", url: cfg.url,
  data: {},
});
const iframe = document.getElementById("widget");
iframe.width = cfg.width; iframe.height = cfg.height;
const api = new mxwidgets.ClientWidgetApi(widget, iframe, new Driver());
api.on("ready", () => { window.widgetReady = true; });
let src = widget.getCompleteUrl({
  widgetRoomId: cfg.room, currentUserId: cfg.user, clientTheme: cfg.theme,
  clientLanguage: cfg.lang,
});
// What Element adds to a widget's address (its StopGapWidget).
src += "&widgetId=" + encodeURIComponent(widget.id)
  + "&parentUrl=" + encodeURIComponent(location.href.split("#")[0]);
iframe.src = src;
</script></body></html>"""

CONFIG = {"dashboard.enabled": True, "dashboard.frame_ancestors": [HOST, "https://app.element.io"]}


async def serve_host(port: int) -> web.AppRunner:
    async def page(_: web.Request) -> web.Response:
        return web.Response(text=HOST_PAGE, content_type="text/html")

    async def api(_: web.Request) -> web.FileResponse:
        return web.FileResponse(WIDGET_API)

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/api.js", api)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


class Host:
    """One person's Element with Laura's widget open in a room."""

    def __init__(self, browser: Any, team: Team, width: int, height: int) -> None:
        self.browser = browser
        self.team = team
        self.size = (width, height)
        self.errors: list[str] = []
        self.context: Any = None
        self.page: Any = None

    async def open(
        self,
        user: str,
        room: str,
        token: dict[str, Any],
        theme: str = "light",
        host: str = HOST,
    ) -> Any:
        width, height = self.size
        self.context = await self.browser.new_context(
            viewport={"width": width, "height": height}, locale="en-GB"
        )
        self.context.on("weberror", lambda e: self.errors.append(str(e.error)))
        self.page = await self.context.new_page()
        base = self.team.handle.api.removesuffix("/api/v1")
        url = (
            f"{base}/dashboard?room=$matrix_room_id&theme=$org.matrix.msc2873.client_theme"
            "&lang=$org.matrix.msc2873.client_language"
        )
        cfg = {
            "url": url,
            "room": room,
            "user": user,
            "theme": theme,
            "lang": "en",
            "openid": token,
            "width": width,
            "height": height,
        }
        await self.page.goto(f"{host}/#{quote(json.dumps(cfg))}")
        return self.frame

    @property
    def frame(self) -> Any:
        return self.page.frame_locator("#widget")

    async def close(self) -> None:
        if self.context:
            await self.context.close()


def shot(name: str) -> Path:
    return OUTPUT / "screenshots" / f"{name}.png"


async def keep(page: Any, name: str) -> None:
    """A screenshot of the host page; with LAURA_SCREENSHOTS=1 also into docs/screenshots."""
    await page.screenshot(path=str(shot(name)))
    if os.environ.get("LAURA_SCREENSHOTS"):
        shutil.copy(shot(name), ROOT / "docs" / "screenshots" / f"{name}.png")


@pytest.mark.synapse
@pytest.mark.laura_config(CONFIG)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_dashboard_in_a_widget_host(browser: Any, team: Team) -> None:
    if not WIDGET_API.exists():
        msg = f"matrix-widget-api is not installed at {WIDGET_API} (scripts/test installs it)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    laura = team.laura
    rooms = team.rooms
    anna, bram = team["anna"], team["bram"]
    host_site = await serve_host(HOST_PORT)
    stranger_site = await serve_host(STRANGER_PORT)
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    panel = Host(team_browser := browser, team, 400, 900)
    hosts = [panel]
    try:
        # Anna opens the dispatch room in Element: the panel, the queue empty.
        widget = await panel.open(anna.user_id, rooms["huisarts"], await openid(anna))
        await widget.locator("#board").wait_for(state="visible", timeout=20_000)
        await widget.locator("#queue-empty").wait_for(state="visible")
        assert await panel.page.evaluate("window.widgetReady === true")

        # A visitor arrives: the queue moves by itself.
        visitor = await team.visitor(name="Greet")
        await visitor.say("Hallo, een vraag")
        entry = widget.locator("#queue li", has=widget.locator("h3", has_text="Greet"))
        await entry.wait_for(timeout=15_000)
        await entry.locator(".unread").wait_for(state="visible", timeout=10_000)
        found = await accessibility(panel.page, "dashboard-panel", panel.page.frames[1])
        assert found == [], found
        await keep(panel.page, "dashboard-panel")

        # Take: the chat is Anna's, as with Ik!; she is invited to the consult room.
        await entry.locator("button.take").click()
        await anna.wait_invite()
        await visitor.wait_status("connected")
        conv_id = (await laura.store.sessions.get_by_id(visitor.session_id)).conversation_id
        conv = await laura.store.conversations.get_by_id(str(conv_id))
        assert conv and conv.taker == anna.user_id
        await widget.locator("#outcome").filter(has_text="yours").wait_for(timeout=10_000)
        await entry.wait_for(state="detached", timeout=10_000)

        # A second visitor: Take on the panel and Ik! in Element at the same moment.
        second = await team.visitor(name="Henk")
        entry = widget.locator("#queue li", has=widget.locator("h3", has_text="Henk"))
        await entry.wait_for(timeout=15_000)
        request = await bram.wait_for(
            lambda e: (
                is_msg(rooms["huisarts"], body_has="van Henk", msgtype="m.text")(e)
                and "m.relates_to" not in e["content"]
            )
        )

        async def click_take() -> bool:
            try:
                await entry.locator("button.take").click(timeout=5000)
            except PlaywrightTimeout:  # Bram's Ik! won before the click: the entry went
                return False
            return True

        clicked, _ = await asyncio.gather(
            click_take(), bram.react(rooms["huisarts"], request["event_id"], "Ik!")
        )
        await second.wait_status("connected")
        conv_id = (await laura.store.sessions.get_by_id(second.session_id)).conversation_id
        conv = await laura.store.conversations.get_by_id(str(conv_id))
        assert conv and conv.taker in (anna.user_id, bram.user_id)
        if clicked:
            # The panel says how it went: Anna's, or who was first (never an error).
            outcome = widget.locator("#outcome")
            if conv.taker == anna.user_id:
                await outcome.filter(has_text="yours").wait_for(timeout=10_000)
            else:
                await outcome.filter(has_text="bram").wait_for(timeout=10_000)
        await entry.wait_for(state="detached", timeout=10_000)

        # The status buttons are !status.
        mine = widget.locator("#my-status")
        await mine.locator("button[data-status=offline]").click()
        await mine.locator("button[data-status=offline][aria-pressed=true]").wait_for()
        assert (await laura.store.staff_members.get(anna.user_id)).status == "offline"
        await mine.locator("button[data-status=online]").click()
        await mine.locator("button[data-status=online][aria-pressed=true]").wait_for()
        assert panel.errors == []

        # The team lead in a full tab (dark, as their Element is), in the control room: the
        # department to pick, and the figures as charts with their table.
        tab = Host(team_browser, team, 1280, 1000)
        hosts.append(tab)
        admin = team["admin"]
        lead = await tab.open(admin.user_id, rooms["control"], await openid(admin), "dark")
        await lead.locator("#department").wait_for(state="visible", timeout=20_000)
        await lead.locator("#department").select_option("huisarts")
        await lead.locator("#figures svg[role=img]").first.wait_for(timeout=20_000)
        assert await lead.locator("#figures table").count() >= 1
        assert await lead.locator("#figures svg[role=img]").count() >= 3
        assert "dark" in (await lead.locator("html").get_attribute("class") or "")
        found = await accessibility(tab.page, "dashboard-tab", tab.page.frames[1])
        assert found == [], found
        await keep(tab.page, "dashboard-tab")
        assert tab.errors == []

        # Nothing for a colleague of another department, an outsider, or a forged token.
        carla = team["carla"]
        forged = await openid(bram)
        forged["access_token"] = forged["access_token"][::-1]
        for user, token in (
            (carla.user_id, await openid(carla)),
            (team["outsider"].user_id, await openid(team["outsider"])),
            (bram.user_id, forged),
        ):
            nobody = Host(team_browser, team, 400, 600)
            hosts.append(nobody)
            frame = await nobody.open(user, rooms["huisarts"], token)
            await frame.locator("#notice").filter(has_text=" ").wait_for(timeout=20_000)
            await asyncio.sleep(0.5)
            assert await frame.locator("#board").is_hidden(), user
            assert await frame.locator("#queue li").count() == 0, user

        # A site that is not listed cannot frame the page: the frame never loads it.
        stranger = Host(team_browser, team, 400, 600)
        hosts.append(stranger)
        await stranger.open(anna.user_id, rooms["huisarts"], await openid(anna), host=STRANGER)
        await asyncio.sleep(3)
        assert not await stranger.page.evaluate("window.widgetReady === true")
        for f in stranger.page.frames[1:]:
            try:
                dashboard = await f.evaluate("!!document.getElementById('board')")
            except PlaywrightError:  # the error page the browser shows instead
                dashboard = False
            assert not dashboard, f.url
    finally:
        for h in hosts:
            await h.close()
        await host_site.cleanup()
        await stranger_site.cleanup()
