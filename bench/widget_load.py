"""How soon the widget is usable, in headless Chromium on one machine (issue #10: "usable
within a second on a local server").

Starts its own Synapse and Laura (SQLite) and a bare aiohttp server for the baseline. Each
sample is a new browser context (a first visit: nothing cached) and measures:
  launcher   navigation start → the launcher on screen (laura.js: the chat's frame loaded and
             said what it is called; inline: laura-widget.js asked Laura how it looks)
  open       click on the launcher → the first screen's form on screen, the focus in it
  baseline   navigation start → a button on screen inside an iframe, both plain static pages
             of the bare server (the same shape without Laura)
Prints p50/p95 of each and the launcher's ratio to the baseline.
Run: .venv/bin/python bench/widget_load.py [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.latency import pct  # noqa: E402
from laura_bot.app import Laura  # noqa: E402
from laura_bot.dev.demo import write_laura_config  # noqa: E402
from laura_bot.dev.synapse import Synapse, free_port  # noqa: E402

CHROMIUM = os.environ.get("LAURA_CHROMIUM", "/usr/bin/chromium")
OUTER = (
    "<!doctype html><html lang='nl'><head><title>Baseline</title></head><body>"
    "<iframe src='/inner' style='position:fixed;right:20px;bottom:20px;width:384px;height:576px;"
    "border:0'></iframe></body></html>"
)
INNER = "<!doctype html><html><body><button id='b'>Chat</button></body></html>"


def line(name: str, values: list[float], base: list[float] | None = None) -> str:
    p50, p95 = pct(values, 50) * 1000, pct(values, 95) * 1000
    text = f"{name:<22} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms"
    if base:
        text += f"   ratio to baseline p50 {p50 / (pct(base, 50) * 1000):4.2f}×"
    return text


async def bare_server(port: int) -> web.AppRunner:
    app = web.Application()

    async def outer(_: web.Request) -> web.Response:
        return web.Response(text=OUTER, content_type="text/html")

    async def inner(_: web.Request) -> web.Response:
        return web.Response(text=INNER, content_type="text/html")

    app.router.add_get("/", outer)
    app.router.add_get("/inner", inner)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def sample(browser: Any, url: str, kind: str) -> tuple[float, float]:
    """(navigation → launcher, click → start form) in seconds, in a new context."""
    context = await browser.new_context(viewport={"width": 1000, "height": 760})
    try:
        page = await context.new_page()
        t0 = time.perf_counter()
        await page.goto(url, wait_until="commit")
        if kind == "baseline":
            frame = page.frame_locator("iframe")
            await frame.locator("#b").wait_for()
            return time.perf_counter() - t0, 0.0
        button = page.locator("#laura-launcher button" if kind == "frame" else "button.launcher")
        await button.wait_for()
        shown = time.perf_counter() - t0
        t1 = time.perf_counter()
        await button.click()
        chat: Any = page
        if kind == "frame":
            chat = next(f for f in page.frames if "/chat" in f.url)
        # The first screen (the start form, or the contact form when nobody is available:
        # nobody is logged in here), with the focus in its first field.
        await chat.wait_for_selector("form input[name]")
        await chat.wait_for_function(
            "() => document.querySelector('#laura-chat').shadowRoot.activeElement?.tagName"
            " === 'INPUT'"
        )
        return shown, time.perf_counter() - t1
    finally:
        await context.close()


async def main(runs: int) -> None:
    from playwright.async_api import async_playwright

    tmp = Path(tempfile.mkdtemp(prefix="laura-bench-widget-"))
    as_port, web_port, bare_port = free_port(), free_port(), free_port()
    synapse = Synapse(tmp / "synapse", free_port(), "localhost")
    config = write_laura_config(
        tmp / "config.yaml",
        {
            "homeserver.address": synapse.url,
            "homeserver.domain": "localhost",
            "appservice.port": as_port,
            "appservice.address": f"http://127.0.0.1:{as_port}",
            "database.url": f"sqlite:{tmp / 'laura.db'}",
            "web.port": web_port,
            "web.public_url": f"http://127.0.0.1:{web_port}",
            "laura.admins": ["@admin:localhost"],
            "laura.departments": [{"id": "bench", "label": "Bench", "staff": ["@anna:localhost"]}],
        },
    )
    (tmp / "registration.yaml").write_text(json.dumps(config.generate_registration()))
    synapse.registrations = [tmp / "registration.yaml"]
    await synapse.start()
    laura = Laura(config)
    bare = await bare_server(bare_port)
    results: dict[str, list[float]] = {}
    try:
        await synapse.register("anna", "bench-password-1")
        await laura.start()
        pages = {
            "frame": f"http://127.0.0.1:{web_port}/",
            "inline": f"http://127.0.0.1:{web_port}/widget/demo-inline.html",
            "baseline": f"http://127.0.0.1:{bare_port}/",
        }
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for kind in pages:  # one warm-up each: Laura's and the server's first requests
                await sample(browser, pages[kind], kind)
            for _ in range(runs):  # interleaved, so drift on this machine hits all alike
                for kind, url in pages.items():
                    shown, opened = await sample(browser, url, kind)
                    results.setdefault(f"{kind} launcher", []).append(shown)
                    if kind != "baseline":
                        results.setdefault(f"{kind} open", []).append(opened)
            await browser.close()
    finally:
        await bare.cleanup()
        await laura.stop()
        synapse.stop()
    base = results["baseline launcher"]
    print(f"\nWidget load, {runs} first visits each (Chromium headless, 2 cores, local server)")
    print(line("baseline (iframe+button)", base))
    for kind in ("frame", "inline"):
        print(line(f"{kind}: launcher shown", results[f"{kind} launcher"], base))
        print(line(f"{kind}: open → first form", results[f"{kind} open"]))
        launchers, opens = results[f"{kind} launcher"], results[f"{kind} open"]
        total = [a + b for a, b in zip(launchers, opens, strict=True)]
        print(line(f"{kind}: both", total))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(main(parser.parse_args().runs))
