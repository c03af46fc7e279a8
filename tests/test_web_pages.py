"""The pages Laura serves (issue #22, finding 5): no other site may frame them, except the
chat page for the sites it is configured for; a production Laura serves no demo page."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from aiohttp.test_utils import TestClient, TestServer

from laura_bot.web.server import build_app
from tests.test_config import load

SITE = "https://www.zorg.example"


async def client(tmp_path: Path, demo_pages: bool) -> TestClient[Any, Any]:
    config = load(tmp_path, web__allowed_origins=[SITE])
    # The pages need no chat: nothing here reaches the domain.
    app = build_app(
        cast(Any, None), cast(Any, None), cast(Any, None), config, cast(Any, None), demo_pages
    )
    c: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await c.start_server()
    return c


async def test_no_site_frames_what_laura_serves(tmp_path: Path) -> None:
    """Before the fix, / and /widget/demo-inline.html sent neither frame-ancestors nor
    X-Frame-Options: any site could frame a working chat on Laura's origin."""
    c = await client(tmp_path, demo_pages=True)
    try:
        for path in (
            "/",
            "/widget/demo.html",
            "/widget/demo-inline.html",
            "/widget/laura-widget.js",
            "/widget/no-such-file.html",
            "/api/v1/openapi.json",
            "/nowhere",
        ):
            resp = await c.get(path)
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"], path
            assert resp.headers["X-Frame-Options"] == "DENY", path
        # The chat page may be framed by Laura itself and the configured sites, no others.
        resp = await c.get("/chat")
        assert resp.status == 200
        assert f"frame-ancestors 'self' {SITE}" in resp.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in resp.headers
    finally:
        await c.close()


async def test_production_serves_no_demo_page(tmp_path: Path) -> None:
    """`laura run` builds the app without demo pages (before: / and both demo pages were
    served); `laura dev` (and the tests) with them."""
    c = await client(tmp_path, demo_pages=False)
    try:
        for path in ("/", "/widget/demo.html", "/widget/demo-inline.html", "/widget/demo%2ehtml"):
            resp = await c.get(path)
            assert resp.status == 404, path
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"], path
        # What a site embeds still is: the launcher, the widget and the chat page.
        for path in ("/widget/laura.js", "/widget/laura-widget.js", "/chat"):
            assert (await c.get(path)).status == 200, path
    finally:
        await c.close()
    c = await client(tmp_path, demo_pages=True)
    try:
        for path in ("/", "/widget/demo-inline.html"):
            assert (await c.get(path)).status == 200, path
    finally:
        await c.close()
