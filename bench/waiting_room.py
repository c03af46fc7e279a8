"""The waiting room under load, each figure beside a baseline measured in the same run.

Starts its own Synapse and runs Laura as a separate process (so its memory is Laura's alone),
then measures:
  burst       50 visitors choose a topic within 10 s: p95 from POST /topic to the dispatch
              message in a staff client's sync; baseline: plain Matrix send → sync (p95)
  throughput  arrivals at a rising rate; a staff client takes every request ("Ik!"), joins
              the consult room and ends the chat (!close); the highest rate (visitors taken
              per minute) at which the p95 dispatch latency stays within 2 s; baseline: how
              many plain Matrix messages per minute one user sends and another sees within
              2 s p95, at the same rates. Per chat, at each rate: the events Synapse
              persisted, the client requests it received and its CPU, for Laura and for a
              plain-Matrix triage offered at the same rate (Synapse's own metrics)
  messages    message latency in one connected chat while --queue visitors wait (long-polling)
              in the same department, p95 against plain Matrix send → sync (interleaved)
  held        --held visitors waiting in one Laura process, each with an open event stream
              (the widget's push transport; --transport poll: a long poll instead): Laura's
              memory per visitor (RSS growth / visitors), and one round of queue updates (the
              first visitor leaves, everyone moves up: time until every visitor has heard
              their new place); baseline: a bare aiohttp server that holds as many streams
              (or long polls) and answers them all at once

Run: .venv/bin/python bench/waiting_room.py  (--held 10000 --queue 1000 by default; smaller
numbers for a quick look). Takes several minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import nio
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.latency import PW, pct  # noqa: E402
from bench.synapse_workers import SynapseWorkers  # noqa: E402
from laura_bot.dev.demo import write_laura_config  # noqa: E402
from laura_bot.dev.synapse import Synapse, free_port  # noqa: E402
from tests.helpers import Staff, is_msg  # noqa: E402

DEPARTMENTS = ("burst", "through", "chat", "held")


def ms(value: float) -> str:
    return f"{value * 1000:7.1f} ms"


def cpu_seconds(pid: int | tuple[int, ...]) -> float:
    """CPU time of a process, or of a group of them (Synapse and its workers) together."""
    total = 0
    for one in (pid,) if isinstance(pid, int) else pid:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> dict[int, float]:
    """CPU time of each PostgreSQL process on this machine (its backends come and go)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" ", 2)[1] == "(postgres)":
                found[int(stat.parent.name)] = cpu_seconds(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            pass  # gone meanwhile
    return found


async def quiet(pid: int | tuple[int, ...], timeout: float = 900) -> float:
    """Wait until the process is idle (under 15 % of a core for 3 s in a row); returns how long
    that took. Laura posts the arrivals' requests to Synapse at Synapse's pace, well after the
    arrivals themselves."""
    t0 = time.perf_counter()
    calm, last = 0, cpu_seconds(pid)
    while calm < 3 and time.perf_counter() - t0 < timeout:
        await asyncio.sleep(1)
        now = cpu_seconds(pid)
        calm = calm + 1 if now - last < 0.15 else 0
        last = now
    return time.perf_counter() - t0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Api:
    """Widget API v1 calls without the test helpers' bookkeeping (thousands of visitors)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
        )

    async def call(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.base + path, json=body, headers=headers) as r:
            data = await r.json(content_type=None)
            if r.status >= 400:
                raise RuntimeError(f"{method} {path}: {r.status} {data}")
            return data

    async def visitor(self, name: str, topic: str | None) -> tuple[str, str]:
        s = await self.call("POST", "/sessions", body={"name": name})
        if topic:
            await self.call(
                "POST", f"/sessions/{s['session_id']}/topic", s["token"], {"topic_id": topic}
            )
        return s["session_id"], s["token"]

    async def close(self) -> None:
        await self.http.close()


class SseConnection(asyncio.Protocol):
    """One event stream read by a bare protocol: a callback per chunk, no task woken per line.
    A client holding 10,000 streams with aiohttp's reader (a task resumed for every line) on
    the same 2 cores was as slow as the servers it measured; this one costs a fraction, so the
    held round measures the server. HTTP/1.0, so the answer comes unchunked until it ends."""

    def __init__(self, request: bytes, on_data: Any) -> None:
        self.request, self.on_data = request, on_data
        self.buf, self.head = b"", True
        self.failed: str | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.head:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.buf[:end].split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" ":
                self.failed = status.decode(errors="replace")
            self.buf, self.head = self.buf[end + 4 :], False
        while (end := self.buf.find(b"\n\n")) >= 0:
            frame, self.buf = self.buf[:end], self.buf[end + 2 :]
            for line in frame.split(b"\n"):
                if line.startswith(b"data: "):
                    self.on_data(json.loads(line[6:]))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def sse(url: str, token: str | None, on_data: Any) -> str | None:
    """Read one event stream until the server ends it; returns why it failed, if it did."""
    parts = urlsplit(url)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = (
        f"GET {parts.path}?{parts.query} HTTP/1.0\r\nHost: {parts.netloc}\r\n{auth}"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    assert parts.hostname and parts.port, url
    transport, proto = await loop.create_connection(
        lambda: SseConnection(request, on_data), parts.hostname, parts.port
    )
    try:
        await proto.closed
    finally:
        transport.close()
    return proto.failed


async def gather_limited(n: int, coros: list[Any]) -> list[Any]:
    sem = asyncio.Semaphore(n)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


class Baseline:
    """Plain Matrix between two users on the same Synapse: send → the other's sync."""

    def __init__(self, alice: Staff, bob: Staff, room: str) -> None:
        self.alice, self.bob, self.room = alice, bob, room
        self.samples: list[float] = []

    async def sample(self) -> float:
        marker = f"base-{uuid.uuid4().hex[:10]}"
        t0 = time.perf_counter()
        await self.alice.send(self.room, marker)
        await self.bob.wait_for(is_msg(self.room, body_has=marker), timeout=60)
        self.samples.append(time.perf_counter() - t0)
        return self.samples[-1]


async def burst(api: Api, anna: Staff, room: str, base: Baseline, n: int = 50) -> None:
    seen: dict[str, float] = {}
    created = await gather_limited(10, [api.visitor(f"Burst{i:03d}x", None) for i in range(n)])
    for _ in range(10):
        await base.sample()
    starts: dict[str, float] = {}

    async def arrive(i: int, sid: str, token: str) -> None:
        await asyncio.sleep(i * 10 / n)  # evenly within 10 s
        starts[f"Burst{i:03d}x"] = time.perf_counter()
        await api.call("POST", f"/sessions/{sid}/topic", token, {"topic_id": "burst"})

    async def watch() -> None:
        while len(seen) < n:
            for e in anna.events:
                body = str(e.get("content", {}).get("body", ""))
                if (
                    e.get("room_id") == room
                    and "van Burst" in body
                    and "m.relates_to" not in e["content"]
                ):
                    name = body.split("van ", 1)[1].split(" ", 1)[0]
                    seen.setdefault(name, time.perf_counter())
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(arrive(i, s, t) for i, (s, t) in enumerate(created)))
    await asyncio.wait_for(watcher, 120)
    lat = [seen[k] - starts[k] for k in starts]
    for _ in range(10):
        await base.sample()
    b95, p50, p95 = pct(base.samples, 95), pct(lat, 50), pct(lat, 95)
    print(
        f"burst       {n} arrivals in 10 s: dispatch p50 {ms(p50)}  p95 {ms(p95)}"
        f"  (target ≤ 500 ms)   baseline send→sync p95 {ms(b95)}  ratio {p95 / b95:.2f}×"
    )


async def throughput_step(
    api: Api, anna: Staff, room: str, rate: int, step_s: float, close: bool
) -> tuple[list[float], int, int, float]:
    """Arrivals at `rate` per minute for step_s seconds; anna takes every request, joins its
    consult room and (close) ends the chat with !close. Returns dispatch latencies, arrivals,
    chats joined, and the seconds until the last was joined."""
    tag = f"T{rate}"
    n = int(rate * step_s / 60)
    created = await gather_limited(20, [api.visitor(f"{tag}n{i:04d}x", None) for i in range(n)])
    starts: dict[str, float] = {}
    seen: dict[str, float] = {}
    joined: set[str] = set()
    invites_before = set(anna.invites)
    background: set[asyncio.Task[Any]] = set()

    def spawn(coro: Any) -> None:
        task = asyncio.create_task(coro)
        background.add(task)
        task.add_done_callback(background.discard)

    async def arrive(i: int, sid: str, token: str) -> None:
        await asyncio.sleep(i * 60 / rate)
        starts[f"{tag}n{i:04d}x"] = time.perf_counter()
        await api.call("POST", f"/sessions/{sid}/topic", token, {"topic_id": "through"})

    async def join_and_close(r: str) -> None:
        await anna.join(r)
        if close:  # anna stays within her max_chats, as a staff member who ends chats does
            await anna.send(r, "!close")

    async def take() -> None:
        done: set[str] = set()
        while len(joined) < n:
            for e in list(anna.events):
                content = e.get("content", {})
                body = str(content.get("body", ""))
                if (
                    e.get("room_id") == room
                    and f"van {tag}n" in body
                    and "m.relates_to" not in content
                    and e["event_id"] not in done
                ):
                    done.add(e["event_id"])
                    name = body.split("van ", 1)[1].split(" ", 1)[0]
                    seen.setdefault(name, time.perf_counter())
                    spawn(anna.react(room, e["event_id"], "Ik!"))
            for r in list(anna.invites - invites_before - joined):
                joined.add(r)
                spawn(join_and_close(r))
            await asyncio.sleep(0.01)

    t0 = time.perf_counter()
    taker = asyncio.create_task(take())
    await asyncio.gather(*(arrive(i, s, t) for i, (s, t) in enumerate(created)))
    try:
        await asyncio.wait_for(taker, 120)
    except TimeoutError:
        pass
    elapsed = time.perf_counter() - t0
    while background:  # the last joins and closes
        await asyncio.gather(*list(background), return_exceptions=True)
    lat = [seen[k] - starts[k] for k in starts if k in seen] or [999.0]
    return lat, n, len(joined), elapsed


class SynapseCounts:
    """What Synapse did, from its Prometheus metrics: the events it persisted and the client
    requests it received (of the main process: with workers, the persisters' events are not
    in it, so the bench reports none then)."""

    def __init__(self, port: int | None) -> None:
        self.url = f"http://127.0.0.1:{port}/_synapse/metrics" if port else None

    async def read(self) -> tuple[float, float] | None:
        if self.url is None:
            return None
        async with aiohttp.ClientSession() as http, http.get(self.url) as resp:
            text = await resp.text()
        events = requests = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "synapse_storage_events_persisted_events_total":
                    events += sample.value
                elif sample.name == "synapse_http_server_requests_received_total":
                    requests += sample.value
        return events, requests


@dataclass
class PerChat:
    """One side of a throughput step, per chat offered."""

    cpu_ms: float  # Synapse's processes
    events: float | None
    requests: float | None

    def line(self, name: str) -> str:
        counted = (
            f"{self.events:.1f} events, {self.requests:.1f} client requests, "
            if self.events is not None and self.requests is not None
            else ""
        )
        return f"{name} {counted}Synapse CPU {self.cpu_ms:.0f} ms"


async def measured(
    counts: SynapseCounts, pid: int | tuple[int, ...], n: int, work: Any
) -> tuple[Any, PerChat]:
    """Run `work` (n chats) and what Synapse spent on it per chat, once it is quiet again."""
    await quiet(pid, timeout=120)
    before, cpu0 = await counts.read(), cpu_seconds(pid)
    result = await work
    await quiet(pid, timeout=120)
    after, cpu = await counts.read(), cpu_seconds(pid) - cpu0
    events = requests = None
    if before and after:
        events, requests = (after[0] - before[0]) / n, (after[1] - before[1]) / n
    return result, PerChat(cpu / n * 1000, events, requests)


async def plain_triage(alice: Staff, bob: Staff, room: str, rate: int, step_s: float) -> int:
    """The baseline for throughput: the least a triage needs in plain Matrix, with no Laura,
    offered at `rate` a minute for step_s seconds like Laura's visitors. A request in a shared
    room, an "Ik!" to it, a room made for the taker (named, with a topic, the taker invited),
    the taker joining, one message each way, a closing message and a leave. Returns the
    number of chats."""
    n = int(rate * step_s / 60)

    async def one(i: int) -> None:
        await asyncio.sleep(i * 60 / rate)
        request = await alice.send(room, f"Verzoek {i} van PlainT{rate}n{i:04d}x")
        await bob.react(room, request, "Ik!")
        resp = await alice.client.room_create(
            name=f"Consult {i}", topic="Plain", invite=[bob.user_id]
        )
        assert isinstance(resp, nio.RoomCreateResponse), resp
        await bob.join(resp.room_id)
        await alice.send(resp.room_id, f"Wat er al gezegd is, {i}")
        await bob.send(resp.room_id, f"Goedemiddag, {i}")
        await alice.send(resp.room_id, f"Het gesprek is gesloten, {i}")
        await alice.client.room_leave(resp.room_id)

    await asyncio.gather(*(one(i) for i in range(n)))
    return n


async def throughput(
    api: Api,
    anna: Staff,
    room: str,
    base: Baseline,
    step_s: float,
    rates: list[int],
    close: bool,
    pids: dict[str, int | tuple[int, ...]],
    plain: tuple[Staff, Staff, str],
    counts: SynapseCounts,
) -> None:
    """Rising arrival rates until the dispatch p95 passes 2 s. At each rate the plain-Matrix
    triage (plain: who asks, who takes, their shared room) is offered first at the same rate
    for as long, and Synapse's events, requests and CPU per chat are set beside Laura's."""
    results = []
    print(f"throughput  anna {'ends every chat she joined' if close else 'keeps every chat'}")
    synapse = pids["Synapse"]
    for rate in rates:
        n_plain, plain_chat = await measured(
            counts, synapse, max(1, int(rate * step_s / 60)), plain_triage(*plain, rate, step_s)
        )
        for pid in pids.values():
            await quiet(pid, timeout=120)
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        pg0 = postgres_cpu()
        counted0 = await counts.read()
        lat, n, joined, elapsed = await throughput_step(api, anna, room, rate, step_s, close)
        for pid in pids.values():  # what each process spent on the step's chats
            await quiet(pid, timeout=120)
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
        counted1 = await counts.read()
        laura_chat = PerChat(
            cpu["Synapse"] / n * 1000,
            (counted1[0] - counted0[0]) / n if counted0 and counted1 else None,
            (counted1[1] - counted0[1]) / n if counted0 and counted1 else None,
        )
        pg = sum(t - pg0.get(pid, 0) for pid, t in postgres_cpu().items())
        if pg > 0.1 * n:  # a PostgreSQL server on this machine worked for the step
            cpu["PostgreSQL (every server process on this machine)"] = pg
        b = [await base.sample() for _ in range(5)]
        p95 = pct(lat, 95)
        per_minute = joined * 60 / elapsed
        results.append((rate, p95, per_minute))
        print(
            f"throughput  {rate:3d}/min offered: dispatch p95 {ms(p95)}, taken and joined "
            f"{joined}/{n} ({per_minute:5.1f}/min)   baseline p95 {ms(pct(b, 95))}"
        )
        print(
            "            CPU per chat offered: "
            + ", ".join(f"{name} {t / n * 1000:.0f} ms" for name, t in cpu.items())
            + f" (the step took {elapsed:.0f} s)"
        )
        ratio = laura_chat.cpu_ms / plain_chat.cpu_ms if plain_chat.cpu_ms else float("nan")
        print(
            f"            per chat at {rate}/min offered: "
            + laura_chat.line("Laura")
            + "; "
            + plain_chat.line(f"plain Matrix ({n_plain} chats)")
            + f"; Synapse CPU {ratio:.2f}x the plain triage's"
        )
        if p95 > 2.0 or joined < n:
            break
    ok = [r for r in results if r[1] <= 2.0]
    if ok:
        best = max(ok, key=lambda r: r[0])
        print(
            f"throughput  highest rate with dispatch p95 ≤ 2 s: {best[0]}/min offered, "
            f"{best[2]:.0f}/min taken and joined (target ≥ 300/min)"
        )
    else:
        print("throughput  even the lowest rate passed 2 s p95")


async def messages(
    api: Api,
    anna: Staff,
    room: str,
    base: Baseline,
    queue: int,
    runs: int,
    pid: int,
    transport: str,
) -> None:
    """One connected chat while `queue` visitors wait in the same department, each (and the
    chat's visitor) listening as the widget does (event stream) or by long poll."""
    sid, token = await api.visitor("Gesprek", "chat")
    first = await anna.wait_for(is_msg(room, body_has="van Gesprek"), timeout=60)
    await anna.react(room, first["event_id"], "Ik!")
    consult = await anna.wait_invite(timeout=60)
    await anna.join(consult)
    waiting = await gather_limited(
        20, [api.visitor(f"Wacht{i:05d}x", "chat") for i in range(queue)]
    )
    stop = asyncio.Event()

    async def listen(s: str, t: str, on_data: Any) -> None:
        """As the widget listens (its event stream), or by long poll (the fallback)."""
        after = 0

        def heard(r: dict[str, Any]) -> None:
            nonlocal after
            on_data(r)
            after = r["next"]

        while not stop.is_set():
            try:
                if transport == "stream":
                    url = f"{api.base}/sessions/{s}/stream?after={after}"
                    if failed := await sse(url, t, heard):
                        raise RuntimeError(failed)
                else:
                    path = f"/sessions/{s}/events?after={after}&timeout=20"
                    heard(await api.call("GET", path, t))
            except Exception:
                await asyncio.sleep(1)

    pollers = [asyncio.create_task(listen(s, t, lambda r: None)) for s, t in waiting]
    arrivals: dict[str, float] = {}

    def chat_heard(r: dict[str, Any]) -> None:
        for e in r["events"]:
            if e.get("sender") == "staff":
                arrivals[e["body"]] = time.perf_counter()

    poller = asyncio.create_task(listen(sid, token, chat_heard))
    # The chat is measured while they wait, not while they arrive: Laura posts the requests
    # to Synapse at Synapse's pace, well after the POSTs were answered. (Not counted in
    # anna's sync: with a thousand new events at once its timelines come back truncated.)
    backlog = await quiet(pid)
    await asyncio.sleep(5)  # and the reactions under the last ones
    start = len(base.samples)
    v2s, s2v = [], []
    for i in range(runs):
        await base.sample()
        marker = f"v2s-{i}-{uuid.uuid4().hex[:6]}"
        t0 = time.perf_counter()
        await api.call(
            "POST", f"/sessions/{sid}/messages", token, {"body": marker, "client_txn_id": marker}
        )
        await anna.wait_for(is_msg(consult, body_has=marker), timeout=60)
        v2s.append(time.perf_counter() - t0)
        await base.sample()
        marker = f"s2v-{i}-{uuid.uuid4().hex[:6]}"
        t0 = time.perf_counter()
        await anna.send(consult, marker)
        async with asyncio.timeout(60):
            while marker not in arrivals:
                await asyncio.sleep(0.001)
        s2v.append(arrivals[marker] - t0)
    stop.set()
    poller.cancel()
    for p in pollers:
        p.cancel()
    b = base.samples[start:]
    b95 = pct(b, 95)
    print(
        f"messages    with {queue} waiting ({transport}s), {runs} each: visitor→staff p95 "
        f"{ms(pct(v2s, 95))} ({pct(v2s, 95) / b95:.2f}×; p50 {ms(pct(v2s, 50))}), staff→visitor "
        f"p95 {ms(pct(s2v, 95))} ({pct(s2v, 95) / b95:.2f}×; p50 {ms(pct(s2v, 50))})   baseline "
        f"p95 {ms(b95)} (p50 {ms(pct(b, 50))})   (target ≤ 1.2×; measured once Laura had "
        f"announced them all, {backlog:.0f} s after the last had arrived)"
    )
    # Leave the queue, so the held figure starts from a quiet Laura.
    await gather_limited(20, [api.call("POST", f"/sessions/{s}/end", t) for s, t in waiting])


BARE_SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from aiohttp import web
    waiters = []
    async def poll(request):
        fut = asyncio.get_running_loop().create_future()
        waiters.append(fut)
        await asyncio.wait_for(fut, 600)
        return web.json_response({"events": [{"type": "queue", "position": 1}], "next": 1})
    streams = []
    async def stream(request):
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b'data: {"events": [], "next": 0}\\n\\n')
        done = asyncio.get_running_loop().create_future()
        streams.append((resp, done))
        await done
        return resp
    async def wake(request):
        for f in waiters:
            if not f.done():
                f.set_result(None)
        waiters.clear()
        for resp, done in streams:
            await resp.write(b'id: 1\\ndata: {"events": [{"type": "queue", "position": 1}], '
                             b'"next": 1}\\n\\n')
        for resp, done in streams:
            done.set_result(None)
        streams.clear()
        return web.json_response({})
    async def count(request):
        return web.json_response({"held": len(waiters) + len(streams)})
    app = web.Application()
    app.router.add_get("/count", count)
    app.router.add_get("/poll", poll)
    app.router.add_get("/stream", stream)
    app.router.add_post("/wake", wake)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
    """
)


async def bare_round(n: int, transport: str) -> tuple[float, float]:
    """Baseline for the held figure: a bare aiohttp server holding n long polls or event
    streams (memory per visitor, in KiB) and answering them all at once (seconds until the
    last heard)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(port)])
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        for _ in range(100):
            try:
                async with http.post(f"http://127.0.0.1:{port}/wake"):
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        before = rss_kib(proc.pid)
        done: list[float] = []

        async def one() -> None:
            if transport == "poll":
                async with http.get(f"http://127.0.0.1:{port}/poll") as r:
                    await r.read()
                done.append(time.perf_counter())
                return

            def on_data(data: dict[str, Any]) -> None:
                if data["events"]:
                    done.append(time.perf_counter())

            await sse(f"http://127.0.0.1:{port}/stream?", None, on_data)

        tasks = [asyncio.create_task(one()) for _ in range(n)]
        # Every one of them held before the wake (a late one would wait for nothing).
        async with asyncio.timeout(300):
            while True:
                await asyncio.sleep(1)
                async with http.get(f"http://127.0.0.1:{port}/count") as r:
                    if (await r.json())["held"] >= n:
                        break
        await asyncio.sleep(1)
        per = (rss_kib(proc.pid) - before) / n
        t0 = time.perf_counter()
        async with http.post(f"http://127.0.0.1:{port}/wake"):
            pass
        await asyncio.gather(*tasks)
        return per, max(done) - t0
    finally:
        await http.close()
        proc.kill()  # its held streams would keep a graceful stop waiting
        proc.wait()


async def held(api: Api, pid: int, n: int, transports: list[str]) -> None:
    """n visitors wait; for each transport in turn, all of them listen with it, and the first
    in line leaves: one round of queue updates. Memory is Laura's growth while the first
    transport holds them all."""
    before = rss_kib(pid)
    t0 = time.perf_counter()
    visitors = await gather_limited(20, [api.visitor(f"Held{i:05d}x", "held") for i in range(n)])
    arrive_s = time.perf_counter() - t0
    tokens = dict(visitors)
    for number, transport in enumerate(transports):
        left = await held_round(
            api, pid, tokens, transport, before if number == 0 else None, arrive_s
        )
        tokens.pop(left)


async def held_round(
    api: Api,
    pid: int,
    tokens: dict[str, str],
    transport: str,
    before: int | None,
    arrive_s: float,
) -> str:
    """One transport's round; returns the visitor who left."""
    n = len(tokens)
    cursors: dict[str, int] = {}
    places: dict[str, int] = {}
    moved: dict[str, float] = {}
    phase = {"round": False}
    failures: dict[str, int] = {}

    def heard(s: str, r: dict[str, Any]) -> None:
        for e in r["events"]:
            if e["type"] == "queue":
                places[s] = e["position"]
                if phase["round"] and s not in moved:
                    moved[s] = time.perf_counter()
        cursors[s] = r["next"]

    async def hold(s: str, t: str) -> None:
        while True:
            after = cursors.get(s, 0)  # from 0 at first: everything so far, the place too
            try:
                if transport == "stream":
                    url = f"{api.base}/sessions/{s}/stream?after={after}"
                    failed = await sse(url, t, lambda r: heard(s, r))
                    if failed:
                        raise RuntimeError(failed)
                else:
                    path = f"/sessions/{s}/events?after={after}&timeout=120"
                    heard(s, await api.call("GET", path, t))
            except Exception as e:
                key = type(e).__name__ + str(e)[:80]
                failures[key] = failures.get(key, 0) + 1
                await asyncio.sleep(1)

    pollers = [asyncio.create_task(hold(s, t)) for s, t in tokens.items()]
    # Settle: every visitor has heard a place and is listening again.
    async with asyncio.timeout(600):
        while len(places) < n:
            await asyncio.sleep(5)
            print(f"held        settling: {len(places)} of {n} heard a place; failures {failures}")
    backlog = await quiet(pid)
    rss = rss_kib(pid)
    # One round: the first in line leaves; everyone else moves up one place.
    first_sid = next(s for s, place in places.items() if place == 1)
    phase["round"] = True
    print(f"held        round: {first_sid} leaves", flush=True)
    t0 = time.perf_counter()
    await api.call("POST", f"/sessions/{first_sid}/end", tokens[first_sid])
    end_call = time.perf_counter() - t0
    async with asyncio.timeout(600):
        while len(moved) < n - 1:
            await asyncio.sleep(0.05)
            if time.perf_counter() - t0 > 30 and int((time.perf_counter() - t0) * 20) % 200 == 0:
                print(f"held        round: {len(moved)} of {n - 1} heard; failures {failures}")
    round_s = max(moved.values()) - t0
    for p in pollers:
        p.cancel()
    await asyncio.gather(*pollers, return_exceptions=True)
    base_per, base_round = await bare_round(n, transport)
    what = "long poll" if transport == "poll" else "event stream"
    if before is not None:
        print(
            f"held        {n} waiting, each with an open {what} (arrivals took "
            f"{arrive_s:.0f} s): Laura {(rss - before) / n:.1f} KiB per visitor (target ≤ 50 "
            f"KiB; RSS {before // 1024} → {rss // 1024} MiB), bare aiohttp {what} "
            f"{base_per:.1f} KiB"
        )
    print(
        f"held        one round of queue updates over {what}s (first leaves, {n - 1} move "
        f"up): {round_s:.2f} s until the last heard (target ≤ 2 s; POST /end answered in "
        f"{end_call * 1000:.0f} ms; Laura had been busy {backlog:.0f} s more after all had "
        f"heard a place, posting their requests to Synapse); bare aiohttp answering {n} "
        f"{what}s at once {base_round:.2f} s"
    )
    return first_sid


async def fresh_synapse_database(server: str) -> str:
    """An empty database for Synapse on the PostgreSQL server at `server` (C collation, as
    Synapse requires); returns its URL."""
    import asyncpg  # Laura's own PostgreSQL driver

    name = "laura_bench_synapse"
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(
            f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' "
            "TEMPLATE template0"
        )
    finally:
        await conn.close()
    return server.rsplit("/", 1)[0] + "/" + name


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="laura-bench-wr-"))
    as_port, web_port = free_port(), free_port()
    synapse_db = None
    if args.synapse_db:
        synapse_db = await fresh_synapse_database(args.synapse_db)
    synapse = Synapse(
        tmp / "synapse",
        free_port(),
        "localhost",
        database=synapse_db,
        extra=args.synapse_set,
        metrics_port=free_port(),
    )
    workers = SynapseWorkers(synapse, args.synapse_workers) if args.synapse_workers else None
    if workers:
        workers.configure()
    hs_url = workers.url if workers else synapse.url
    staff = ["@anna:localhost"]
    overrides = {
        "homeserver.address": hs_url,
        "homeserver.domain": "localhost",
        "appservice.port": as_port,
        "appservice.address": f"http://127.0.0.1:{as_port}",
        "database.url": args.db or f"sqlite:{tmp / 'laura.db'}",
        "web.port": web_port,
        "web.public_url": f"http://127.0.0.1:{web_port}",
        "web.max_poll_timeout": 120,
        "laura.admins": ["@admin:localhost"],
        "laura.departments": [{"id": d, "label": d.title(), "staff": staff} for d in DEPARTMENTS],
        "laura.settings.dispatch_timeout": "24h",
        "laura.settings.queue_update_interval": "1h",
        "laura.settings.escalation_after": "24h",
        "laura.settings.max_chats": 50,
        "logging.level": "WARNING",
        # Every visitor comes from 127.0.0.1: no abuse limits.
        "web.max_waiting_per_address": 0,
        "web.rate_limits.sessions.per_address": "",
        "web.rate_limits.topic.per_address": "",
        "web.rate_limits.messages.per_session": "",
        "web.rate_limits.messages.per_address": "",
        "web.rate_limits.contact.per_address": "",
    }
    config = write_laura_config(tmp / "config.yaml", overrides)
    (tmp / "registration.yaml").write_text(json.dumps(config.generate_registration()))
    synapse.registrations = [tmp / "registration.yaml"]
    await synapse.start()
    if workers:
        try:
            await workers.start()
        except BaseException:
            workers.stop("workers")
            synapse.stop()
            workers.stop("helpers")
            raise
    log = open(tmp / "laura.log", "w")
    laura = subprocess.Popen(
        [sys.executable, "-m", "laura_bot", "run", "-c", str(tmp / "config.yaml")],
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    api = Api(f"http://127.0.0.1:{web_port}/api/v1")
    clients: list[Staff] = []
    try:
        for user in ("anna", "alice", "bob"):
            await synapse.register(user, PW)
        for _ in range(300):
            try:
                await api.call("GET", "/widget")
                break
            except (aiohttp.ClientError, RuntimeError):
                await asyncio.sleep(0.2)
        anna, alice, bob = [
            await Staff(hs_url, f"@{u}:localhost", PW).start() for u in ("anna", "alice", "bob")
        ]
        clients += [anna, alice, bob]
        rooms = {}
        # Laura invited anna to the dispatch rooms (and the contact room) at her start.
        async with asyncio.timeout(60):
            while len(anna.stale_invites | anna.invites) < len(DEPARTMENTS) + 1:
                await asyncio.sleep(0.2)
        for room in list(anna.stale_invites | anna.invites):
            await anna.join(room)
        anna.stale_invites.clear()
        await asyncio.sleep(1)
        widget = await api.call("GET", "/widget")
        assert widget["available"], widget
        resp = await alice.client.room_create(invite=[bob.user_id])
        base_room = resp.room_id
        await bob.wait_invite(base_room)
        await bob.join(base_room)
        base = Baseline(alice, bob, base_room)
        # Which joined room is which department: the first request of each tells.
        for dept in DEPARTMENTS:
            sid, token = await api.visitor(f"Probe{dept}x", dept)
            e = await anna.wait_for(is_msg(body_has=f"van Probe{dept}x"), timeout=60)
            rooms[dept] = e["room_id"]
            await api.call("POST", f"/sessions/{sid}/end", token)
        print(
            f"\nLaura waiting-room benchmark; {platform.machine()}, {os.cpu_count()} cores, "
            f"{platform.python_implementation()} {platform.python_version()}; Synapse "
            f"({'PostgreSQL' if synapse_db else 'SQLite'}, "
            + (
                f"main process, {args.synapse_workers} event persister(s) and a client worker"
                if workers
                else "one process"
            )
            + f"{', with ' + json.dumps(args.synapse_set) if args.synapse_set else ''}) and Laura "
            f"({'PostgreSQL' if args.db else 'SQLite'}, one process)\n"
        )
        if "burst" in args.only:
            await burst(api, anna, rooms["burst"], base)
        if "throughput" in args.only:
            assert synapse.proc is not None
            synapse_pids = (synapse.proc.pid, *(workers.worker_pids() if workers else ()))
            pids: dict[str, int | tuple[int, ...]] = {"Synapse": synapse_pids, "Laura": laura.pid}
            if workers:
                pids["of which main"] = synapse.proc.pid
                pids.update(workers.each_worker())
                pids["proxy and Redis"] = workers.helper_pids()
            await throughput(
                api,
                anna,
                rooms["through"],
                base,
                args.step,
                args.rates,
                not args.keep_chats,
                pids,
                (alice, bob, base_room),
                SynapseCounts(None if workers else synapse.metrics_port),
            )
        if "messages" in args.only:
            await messages(
                api,
                anna,
                rooms["chat"],
                base,
                args.queue,
                args.runs,
                laura.pid,
                args.chat_transport,
            )
        if "held" in args.only:
            await held(api, laura.pid, args.held, args.transport)
    finally:
        await api.close()
        for c in clients:
            await c.stop()
        laura.terminate()
        try:
            laura.wait(30)
        except subprocess.TimeoutExpired:
            laura.kill()
        if workers:
            workers.stop("workers")
        synapse.stop()
        if workers:
            workers.stop("helpers")
        log.close()


def synapse_setting(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    try:
        if not key or not sep:
            raise ValueError("no '='")
        return key, json.loads(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=JSON ({e})") from None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--held", type=int, default=10000, help="visitors held waiting")
    parser.add_argument(
        "--transport",
        nargs="+",
        choices=["stream", "poll"],
        default=["stream", "poll"],
        help="how held visitors listen, in turn: the widget's event stream, the long poll",
    )
    parser.add_argument("--queue", type=int, default=1000, help="waiting during the chat")
    parser.add_argument(
        "--chat-transport",
        choices=["stream", "poll"],
        default="stream",
        help="how the chat's visitor and those waiting listen during the message figure",
    )
    parser.add_argument("--runs", type=int, default=30, help="message samples per direction")
    parser.add_argument("--step", type=float, default=30, help="seconds per throughput rate")
    parser.add_argument(
        "--rates",
        type=int,
        nargs="+",
        default=[60, 120, 180, 240, 300, 360, 420, 480],
        help="throughput: arrival rates per minute, in turn",
    )
    parser.add_argument(
        "--keep-chats",
        action="store_true",
        help="throughput: anna never ends a chat (she is past max_chats after 50)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=["burst", "throughput", "messages", "held"],
        choices=["burst", "throughput", "messages", "held"],
    )
    parser.add_argument("--db", default=None, help="a postgres:// URL (default: SQLite)")
    parser.add_argument(
        "--synapse-db",
        default=None,
        help="run Synapse on PostgreSQL: a postgres:// URL of a database on the server "
        "(e.g. postgres://postgres@127.0.0.1/postgres); a fresh database "
        "laura_bench_synapse is made beside it (needs psycopg2: pip install -e .[bench])",
    )
    parser.add_argument(
        "--synapse-workers",
        type=int,
        default=0,
        metavar="PERSISTERS",
        help="run Synapse with workers (needs --synapse-db and redis-server): this many event "
        "persisters and one client worker behind a routing proxy (bench/synapse_workers.py)",
    )
    parser.add_argument(
        "--synapse-set",
        metavar="KEY=JSON",
        nargs="+",
        action="extend",
        default=[],
        type=synapse_setting,
        help='top-level homeserver.yaml keys to try, e.g. stats={"enabled":false}',
    )
    args = parser.parse_args()
    args.synapse_set = dict(args.synapse_set)
    asyncio.run(main(args))
