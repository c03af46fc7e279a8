"""Synapse split into worker processes, for bench/waiting_room.py --synapse-workers.

The set-up that synapse/README.md describes ("More than one Synapse process (workers)"), made
runnable on one machine: Synapse on PostgreSQL, Redis for replication, `persisters` event
persisters (`stream_writers: events`) and one client worker for what a chat makes Synapse do
(createRoom, sends, state, joins, invites, leaves, sync), with a small reverse proxy in front that
routes those paths to the client worker and everything else to the main process (in production:
nginx, with the same routes). The appservice push comes from the client worker
(`notify_appservices_from_worker`).

Needs `redis-server` on the PATH and `pip install -e .[bench]` (psycopg2, txredisapi).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from laura_bot.dev.guard import guarded
from laura_bot.dev.synapse import Synapse, free_port

# Paths a generic worker serves, from Synapse's worker documentation (the subset a chat uses).
CLIENT_WORKER_PATHS = re.compile(
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/("
    r"createRoom$"
    r"|rooms/[^/]+/(send|state|redact)/"
    r"|rooms/[^/]+/(join|invite|leave|ban|unban|kick)$"
    r"|join/"
    r"|sync$"
    r"|rooms/[^/]+/(messages|members|joined_members|context/.*|event/.*|relations/.*)$"
    r"|profile/"
    r")"
    # Laura's ping ends Synapse's back-off toward her, which only the process that pushes to
    # her (notify_appservices_from_worker) holds.
    r"|^/_matrix/client/v1/appservice/[^/]+/ping$"
)

# Hop-by-hop headers a proxy must not pass on.
HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",  # set again for the body as passed on
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
}


class SynapseWorkers:
    """Adds workers to a `Synapse` that runs on PostgreSQL. Call `configure()` before the main
    process starts, `start()` after it, and `stop()` at the end."""

    def __init__(self, synapse: Synapse, persisters: int = 1) -> None:
        if not synapse.database:
            raise SystemExit("--synapse-workers needs --synapse-db: workers need PostgreSQL")
        if not shutil.which("redis-server"):
            raise SystemExit("--synapse-workers needs redis-server (apt-get install redis-server)")
        self.synapse = synapse
        self.redis_port = free_port()
        self.main_replication = free_port()
        self.workers: dict[str, dict[str, int]] = {
            f"persister{i + 1}": {"replication": free_port()} for i in range(persisters)
        }
        self.workers["client1"] = {"replication": free_port(), "client": free_port()}
        self.proxy_port = free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """Where clients (Laura, staff) talk to the homeserver: the proxy."""
        return f"http://127.0.0.1:{self.proxy_port}"

    def each_worker(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items() if name in self.workers}

    def worker_pids(self) -> tuple[int, ...]:
        return tuple(p.pid for name, p in self.procs.items() if name in self.workers)

    def helper_pids(self) -> tuple[int, ...]:
        """Redis and the proxy."""
        return tuple(p.pid for name, p in self.procs.items() if name not in self.workers)

    def configure(self) -> None:
        s = self.synapse
        s.extra.update(
            {
                "listeners": [
                    {
                        "port": s.port,
                        "bind_addresses": ["127.0.0.1"],
                        "type": "http",
                        "tls": False,
                        "x_forwarded": True,
                        "resources": [{"names": ["client"], "compress": False}],
                    },
                    {
                        "port": self.main_replication,
                        "bind_addresses": ["127.0.0.1"],
                        "type": "http",
                        "resources": [{"names": ["replication"]}],
                    },
                ],
                "redis": {"enabled": True, "host": "127.0.0.1", "port": self.redis_port},
                "instance_map": {
                    "main": {"host": "127.0.0.1", "port": self.main_replication},
                    **{
                        name: {"host": "127.0.0.1", "port": ports["replication"]}
                        for name, ports in self.workers.items()
                    },
                },
                "stream_writers": {"events": [n for n in self.workers if n != "client1"]},
                "notify_appservices_from_worker": "client1",
            }
        )

    def _worker_config(self, name: str, ports: dict[str, int]) -> Path:
        listeners: list[dict[str, Any]] = [
            {
                "type": "http",
                "port": ports["replication"],
                "bind_addresses": ["127.0.0.1"],
                "resources": [{"names": ["replication"]}],
            }
        ]
        if "client" in ports:
            listeners.append(
                {
                    "type": "http",
                    "port": ports["client"],
                    "bind_addresses": ["127.0.0.1"],
                    "x_forwarded": True,
                    "resources": [{"names": ["client"]}],
                }
            )
        path = self.synapse.dir / f"{name}.yaml"
        path.write_text(
            json.dumps(
                {
                    "worker_app": "synapse.app.generic_worker",
                    "worker_name": name,
                    "worker_listeners": listeners,
                }
            )
        )
        return path

    async def start(self) -> None:
        d = self.synapse.dir
        # Each child ends with the bench, however it ends (guarded: a parent-death signal).
        self.procs["redis"] = subprocess.Popen(
            guarded(
                ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1"]
                + ["--save", "", "--appendonly", "no"]
            ),
            stdout=open(d / "redis.log", "ab"),  # noqa: SIM115 (kept open for the child)
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name, ports in self.workers.items():
            config = self._worker_config(name, ports)
            self.procs[name] = subprocess.Popen(
                guarded(
                    [sys.executable, "-m", "synapse.app.generic_worker"]
                    + ["-c", str(self.synapse.config_path), "-c", str(config)]
                ),
                stdout=open(d / f"{name}.log", "ab"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
                cwd=d,
                start_new_session=True,
            )
        async with aiohttp.ClientSession() as http:
            for name, ports in self.workers.items():
                await self._wait_health(http, name, ports["replication"])
        self.procs["proxy"] = subprocess.Popen(
            guarded(
                [sys.executable, __file__, str(self.proxy_port), self.synapse.url]
                + [f"http://127.0.0.1:{self.workers['client1']['client']}"]
            ),
            stdout=open(d / "proxy.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        async with aiohttp.ClientSession() as http:
            await self._wait_health(http, "proxy", self.proxy_port)

    async def _wait_health(self, http: aiohttp.ClientSession, name: str, port: int) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise SystemExit(f"{name} exited; see {self.synapse.dir}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
        raise SystemExit(f"{name} did not answer within 90 s")

    def stop(self, which: str = "workers") -> None:
        """Stop the workers (`which="workers"`, before the main process) or Redis and the proxy
        (`"helpers"`, after it: the main process talks to Redis until it stops)."""
        procs = [p for n, p in self.procs.items() if (n in self.workers) == (which == "workers")]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


class Proxy:
    """The reverse proxy in front of the workers (nginx's job in production), in a process of
    its own so that its CPU is not the bench's."""

    def __init__(self, main: str, client: str) -> None:
        self.main, self.client = main, client
        self.http: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/health":
            return web.Response(text="OK")
        if self.http is None:
            self.http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None),
                connector=aiohttp.TCPConnector(limit=0),
                auto_decompress=False,
            )
        upstream = self.client if CLIENT_WORKER_PATHS.match(request.path) else self.main
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP | {"host"}}
        headers["X-Forwarded-For"] = request.remote or "127.0.0.1"
        headers["X-Forwarded-Proto"] = "http"
        body = await request.read()
        async with self.http.request(
            request.method, upstream + request.path_qs, headers=headers, data=body
        ) as resp:
            data = await resp.read()
            out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP}
            return web.Response(status=resp.status, headers=out, body=data)


if __name__ == "__main__":
    port, main_url, client_url = sys.argv[1:4]
    proxy = Proxy(main_url, client_url)
    app = web.Application(client_max_size=100 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", proxy.forward)
    web.run_app(app, host="127.0.0.1", port=int(port), access_log=None, print=None)
