"""Latency of Laura's paths beside plain Matrix, on one machine.

Starts its own Synapse and Laura, then measures p50/p95 over --runs samples of:
  dispatch        topic chosen (POST /topic)      → dispatch message in a staff client's sync
                  (one arrival at a time, on a quiet system)
  visitor→staff   widget POST /messages           → the message in the staff client's sync
  staff→visitor   staff PUT /send                 → the message in the widget's long poll
  baseline        plain Matrix send between two users → the other user's sync
and prints each beside the baseline as a ratio. Run: .venv/bin/python bench/latency.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from laura_bot.app import Laura  # noqa: E402
from laura_bot.dev.demo import write_laura_config  # noqa: E402
from laura_bot.dev.synapse import Synapse, free_port  # noqa: E402
from tests.helpers import Staff, Visitor, is_msg  # noqa: E402

PW = "bench-password-1"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def row(name: str, values: list[float], base: list[float] | None) -> str:
    p50, p95 = pct(values, 50) * 1000, pct(values, 95) * 1000
    text = f"{name:<16} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms"
    if base:
        b50, b95 = pct(base, 50) * 1000, pct(base, 95) * 1000
        text += f"   ratio to baseline: p50 {p50 / b50:4.2f}×  p95 {p95 / b95:4.2f}×"
    return text


async def main(runs: int, db: str | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="laura-bench-"))
    as_port, web_port = free_port(), free_port()
    synapse = Synapse(tmp / "synapse", free_port(), "localhost")
    overrides = {
        "homeserver.address": synapse.url,
        "homeserver.domain": "localhost",
        "appservice.port": as_port,
        "appservice.address": f"http://127.0.0.1:{as_port}",
        "database.url": db or f"sqlite:{tmp / 'laura.db'}",
        "web.port": web_port,
        "web.public_url": f"http://127.0.0.1:{web_port}",
        "laura.admins": ["@admin:localhost"],
        "laura.departments": [{"id": "bench", "label": "Bench", "staff": ["@anna:localhost"]}],
        "laura.settings.dispatch_timeout": "1h",
        "laura.settings.queue_update_interval": "1h",
        "laura.settings.escalation_after": "24h",
        # Every sample comes from 127.0.0.1 and its chats all wait at once: no abuse limits.
        "web.max_waiting_per_address": 0,
        "web.rate_limits.sessions.per_address": "",
        "web.rate_limits.topic.per_address": "",
        "web.rate_limits.messages.per_session": "",
        "web.rate_limits.messages.per_address": "",
    }
    config = write_laura_config(tmp / "config.yaml", overrides)
    (tmp / "registration.yaml").write_text(json.dumps(config.generate_registration()))
    synapse.registrations = [tmp / "registration.yaml"]
    await synapse.start()
    laura = Laura(config)
    clients: list[Staff] = []
    visitors: list[Visitor] = []
    try:
        for user in ("anna", "alice", "bob"):
            await synapse.register(user, PW)
        await laura.start()
        anna, alice, bob = [
            await Staff(synapse.url, f"@{u}:localhost", PW).start()
            for u in ("anna", "alice", "bob")
        ]
        clients += [anna, alice, bob]
        dept = (await laura.store.departments.all_active())[0]
        assert dept.room_id, "Laura made no dispatch room"
        await anna.join(dept.room_id)

        # Baseline: a plain room between two people on the same Synapse.
        resp = await alice.client.room_create(invite=[bob.user_id])
        room = resp.room_id
        await bob.wait_invite(room)
        await bob.join(room)
        baseline: list[float] = []

        async def baseline_sample() -> None:
            marker = f"base-{uuid.uuid4().hex[:10]}"
            t0 = time.perf_counter()
            await alice.send(room, marker)
            await bob.wait_for(is_msg(room, body_has=marker))
            baseline.append(time.perf_counter() - t0)

        # Each Laura sample is paired with a baseline sample taken just before it, so drift
        # on this shared machine (Synapse's database growing, other load) hits both alike.
        # Dispatch: topic chosen → dispatch message in the staff client's sync.
        dispatch = []
        for i in range(runs):
            v = Visitor(f"http://127.0.0.1:{web_port}/api/v1")
            visitors.append(v)
            await v.start(name=f"Bench{i}x", topic=None)
            # One arrival at a time: wait until the previous consult room is fully set up,
            # so each sample is a single dispatch on a quiet system (bursts are B4's job).
            await laura.matrix_runner.idle()
            await baseline_sample()
            t0 = time.perf_counter()
            await v.topic("bench")
            await anna.wait_for(is_msg(dept.room_id, body_has=f"van Bench{i}x", msgtype="m.text"))
            dispatch.append(time.perf_counter() - t0)

        # One connected conversation for the message paths, with the widget long-polling
        # all the time as it does in a browser.
        visitor = visitors[0]
        first = await anna.wait_for(is_msg(dept.room_id, body_has="van Bench0x"))
        await anna.react(dept.room_id, first["event_id"], "Ik!")
        consult = await anna.wait_invite()
        await anna.join(consult)
        await visitor.wait_status("connected")
        await laura.matrix_runner.idle()
        arrivals: dict[str, float] = {}

        async def long_poll() -> None:
            while True:
                for evt in await visitor.poll(timeout=20):
                    if evt.get("sender") == "staff":
                        arrivals[evt["body"]] = time.perf_counter()

        poller = asyncio.create_task(long_poll())
        await asyncio.sleep(0.5)
        to_staff, to_visitor = [], []
        for i in range(runs):
            await baseline_sample()
            marker = f"v2s-{i}-{uuid.uuid4().hex[:6]}"
            t0 = time.perf_counter()
            await visitor.say(marker)
            await anna.wait_for(is_msg(consult, body_has=marker))
            to_staff.append(time.perf_counter() - t0)

            await baseline_sample()
            marker = f"s2v-{i}-{uuid.uuid4().hex[:6]}"
            t0 = time.perf_counter()
            await anna.send(consult, marker)
            async with asyncio.timeout(30):
                while marker not in arrivals:
                    await asyncio.sleep(0.001)
            to_visitor.append(arrivals[marker] - t0)
        poller.cancel()

        print(
            f"\nLaura latency benchmark — {runs} runs each ({len(baseline)} baseline samples, "
            f"interleaved); {platform.machine()}, "
            f"{platform.python_implementation()} {platform.python_version()}; Synapse "
            f"(SQLite, single process) and Laura ({'PostgreSQL' if db else 'SQLite'}) on "
            "one machine\n"
        )
        print(row("baseline", baseline, None))
        print(row("dispatch", dispatch, baseline))
        print(row("visitor→staff", to_staff, baseline))
        print(row("staff→visitor", to_visitor, baseline))
        print(
            f"\nmean: baseline {statistics.mean(baseline) * 1000:.1f} ms, "
            f"visitor→staff {statistics.mean(to_staff) * 1000:.1f} ms, "
            f"staff→visitor {statistics.mean(to_visitor) * 1000:.1f} ms"
        )
    finally:
        for v in visitors:
            await v.close()
        for c in clients:
            await c.stop()
        await laura.stop()
        synapse.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--db", default=None, help="a postgres:// URL (default: SQLite)")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.db))
