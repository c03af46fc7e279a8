"""Health checks on the public listener, for load balancers and orchestrators.

`GET /health`: the process answers (liveness: restart it when this fails). `GET /ready`: it can
do its work (readiness: send it traffic only when this is 200): the database answers, the
homeserver answers, and no event has waited in the inbox longer than a minute. Both say no more
than that (no versions, no counts), so they may be open to the internet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 3.0
Check = Callable[[], Awaitable[bool]]
CHECKS_KEY = web.AppKey("health_checks", dict)


async def get_health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def get_ready(request: web.Request) -> web.Response:
    checks: dict[str, Check] = request.app[CHECKS_KEY]
    results: dict[str, bool] = {}
    for name, check in checks.items():
        try:
            results[name] = await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except Exception as e:  # a check that fails or hangs is a "no", and logged once here
            log.warning("Readiness check %s failed: %s", name, type(e).__name__)
            results[name] = False
    ready = all(results.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": results},
        status=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


def add_health_routes(app: web.Application, checks: dict[str, Check]) -> None:
    app[CHECKS_KEY] = checks
    app.router.add_get("/health", get_health)
    app.router.add_get("/ready", get_ready)
