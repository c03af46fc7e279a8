"""`laura dev`: Synapse + Laura (SQLite) + the widget on a demo page, on one machine.

Everything lives in the data directory; running again with the same directory keeps all state
(sessions, conversations and pending deadlines included). One `laura dev` owns a data directory
at a time: it holds a lock there for its whole life, and its Synapse dies with it (guard.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
from pathlib import Path
from typing import Any, TextIO

from ruamel.yaml import YAML

from ..app import Laura
from ..config import Config
from ..util import write_private
from .guard import DevError, LockHeld, hold_lock
from .synapse import Synapse, free_port, port_is_free, stop_leftover

log = logging.getLogger(__name__)

DEPARTMENTS = [
    {"id": "huisarts", "label": "Huisartsenpraktijk", "staff": ["anna", "bram"]},
    {"id": "thuiszorg", "label": "Thuiszorg", "staff": ["carla", "daan"]},
]
ADMIN = "admin"
MAIL_DOMAIN = "zorggroep-demo.example"
MAIL_FROM = f"afspraken@{MAIL_DOMAIN}"


def _ports(state: dict[str, Any]) -> dict[str, int]:
    """Reuse the previous ports when they are free, so bookmarks keep working."""
    ports = {}
    for name in ("synapse", "appservice", "web", "smtp"):
        old = state.get("ports", {}).get(name)
        ports[name] = old if old and port_is_free(old) else free_port()
    return ports


def write_laura_config(path: Path, overrides: dict[str, Any]) -> Config:
    yaml = YAML()
    if path.exists():
        data = yaml.load(path.read_text())
    else:
        data = {}
    for dotted, value in overrides.items():
        node = data
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    with path.open("w") as f:
        yaml.dump(data, f)
    path.chmod(0o600)  # it holds the appservice tokens
    config = Config(path)
    config.load_and_update()
    config.validate()
    return config


async def run_demo(data_dir: Path, dispatch_timeout: str | None = None) -> None:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = _own(data_dir)
    try:
        await _serve(data_dir, dispatch_timeout)
    finally:
        lock.close()


def _own(data_dir: Path) -> TextIO:
    """Make this process the only `laura dev` on `data_dir`, before anything there is touched.

    The lock refuses a second `laura dev` while the first lives. Holding it also means that a
    Synapse still running on this directory belongs to a run that crashed; it is stopped now,
    before the ports are chosen, so the homeserver keeps its port.
    """
    try:
        lock = hold_lock(data_dir / "dev.lock")
    except LockHeld as e:
        who = f"pid {e.holder}" if e.holder else "pid not yet written"
        kill = f"`kill {e.holder}`" if e.holder else "kill it"
        raise DevError(
            f"another `laura dev` ({who}) is running on {data_dir}. "
            f"Stop that one first (Ctrl-C in its terminal, or {kill}), "
            "or use another --data-dir."
        ) from None
    try:
        leftover = stop_leftover(data_dir / "synapse")
    except BaseException:
        lock.close()
        raise
    if leftover:
        print(
            f"Stopped Synapse (pid {leftover}), left running by an earlier `laura dev` on "
            f"{data_dir} that did not stop cleanly.",
            flush=True,
        )
    return lock


async def _serve(data_dir: Path, dispatch_timeout: str | None) -> None:
    state_path = data_dir / "dev-state.json"
    state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.exists() else {}
    ports = _ports(state)
    passwords = state.get("passwords") or {}
    users = [ADMIN] + [u for d in DEPARTMENTS for u in d["staff"]]
    for user in users:
        passwords.setdefault(user, secrets.token_urlsafe(9))
    state.update(ports=ports, passwords=passwords)
    state_path.write_text(json.dumps(state, indent=2))
    state_path.chmod(0o600)

    domain = "localhost"
    first_run = not (data_dir / "config.yaml").exists()
    overrides: dict[str, Any] = {
        "homeserver.address": f"http://127.0.0.1:{ports['synapse']}",
        "homeserver.domain": domain,
        "appservice.port": ports["appservice"],
        "appservice.address": f"http://127.0.0.1:{ports['appservice']}",
        "web.port": ports["web"],
        "web.public_url": f"http://127.0.0.1:{ports['web']}",
        "database.url": f"sqlite:{data_dir / 'laura.db'}",
        # The demo's mail server: a catcher that writes each mail as an .eml file in mail/.
        "mail.host": "127.0.0.1",
        "mail.port": ports["smtp"],
        "mail.security": "none",
        "mail.from": MAIL_FROM,
    }
    if first_run:
        overrides.update(
            {
                "laura.organization": "Zorggroep Demo",
                "widget.logo_url": "/widget/demo-logo.svg",
                "laura.admins": [f"@{ADMIN}:{domain}"],
                "laura.departments": [
                    {
                        "id": d["id"],
                        "label": d["label"],
                        "staff": [f"@{u}:{domain}" for u in d["staff"]],
                    }
                    for d in DEPARTMENTS
                ],
                "laura.settings.dispatch_timeout": "2m",
                "laura.settings.queue_update_interval": "30s",
                "appointments.default_location": "Zorggroep Demo, Dorpsstraat 1, Utrecht",
            }
        )
    if dispatch_timeout:
        overrides["laura.settings.dispatch_timeout"] = dispatch_timeout
    config = write_laura_config(data_dir / "config.yaml", overrides)
    registration = data_dir / "registration.yaml"
    write_private(registration, json.dumps(config.generate_registration(), indent=2))

    from ..mail.catcher import MailCatcher  # aiosmtpd: in the demo extra only

    mail = MailCatcher(data_dir / "mail", port=ports["smtp"])
    await mail.start()
    synapse = Synapse(data_dir / "synapse", ports["synapse"], domain, [registration])
    print(f"Starting Synapse on {synapse.url} …", flush=True)
    await synapse.start()
    laura: Laura | None = None
    try:
        for user in users:
            await synapse.register(user, passwords[user], admin=(user == ADMIN))
        await synapse.make_admin(
            config.bot_mxid, config["appservice.as_token"], ADMIN, passwords[ADMIN]
        )  # for retention
        laura = Laura(config, demo_pages=True)
        await laura.start()
        departments = await laura.store.departments.all_active()
        for user in users:  # staff get their calendar copies of appointments in mail/ too
            member = await laura.store.staff_members.get(f"@{user}:{domain}")
            if first_run and member.email is None:
                await laura.store.staff_members.set(member.user_id, email=f"{user}@{MAIL_DOMAIN}")
        tokens = {u: await synapse.login(u, passwords[u]) for u in users}
        rooms_of: dict[str, list[str]] = {ADMIN: [laura.bridge.control_room or ""]}
        staff_depts: dict[str, list[str]] = {}
        for dept in DEPARTMENTS:
            room = next((d.room_id for d in departments if d.id == dept["id"]), None)
            for user in dept["staff"]:
                if room:
                    rooms_of.setdefault(user, []).append(room)
                staff_depts.setdefault(user, []).append(str(dept["id"]))
        for user in users:
            for room in rooms_of.get(user, []) + [laura.bridge.contact_room or ""]:
                if room:
                    await synapse.join(tokens[user], room)
        web = f"http://127.0.0.1:{laura.web_port}"
        dev = {
            "homeserver": synapse.url,
            "widget_url": f"{web}/",
            "api": f"{web}/api/v1",
            "control_room": laura.bridge.control_room,
            "contact_room": laura.bridge.contact_room,
            "mail_dir": str(mail.folder),
            "departments": [
                {"id": d.id, "label": d.label, "room_id": d.room_id} for d in departments
            ],
            "users": [
                {
                    "user_id": f"@{u}:{domain}",
                    "password": passwords[u],
                    "role": "admin" if u == ADMIN else "staff",
                    "departments": staff_depts.get(u, []),
                }
                for u in users
            ],
        }
        (data_dir / "dev.json").write_text(json.dumps(dev, indent=2))
        (data_dir / "dev.json").chmod(0o600)
        _summary(dev, data_dir)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        print("\nStopping Laura and Synapse …", flush=True)
    finally:
        if laura is not None:
            await laura.stop()
        synapse.stop()
        await mail.stop()
    print("Stopped. Run the same command again to continue where you left off.")


def _summary(dev: dict[str, Any], data_dir: Path) -> None:
    lines = [
        "",
        "Laura is running (embedded demo).",
        "",
        f"  Visitor widget:  {dev['widget_url']}   (the chat on a page of its own: "
        f"{dev['widget_url']}chat)",
        f"  Widget API:      {dev['api']}   (OpenAPI: {dev['api']}/openapi.json)",
        f"  Homeserver:      {dev['homeserver']}   (server name: localhost)",
        "",
        "  Log in with Element (Desktop, or app.element.io in the same browser): choose",
        f"  'Edit' next to the homeserver, enter {dev['homeserver']}, then one of:",
    ]
    for u in dev["users"]:
        role = (
            "admin, control room"
            if u["role"] == "admin"
            else "staff: " + ", ".join(u["departments"])
        )
        lines.append(f"    {u['user_id']:<20} password {u['password']:<14} ({role})")
    lines += [
        "",
        "  Try it: open the widget, pick a topic, type a question; as a staff member react",
        "  “Ik!” on the request in the department's room, then chat in the consult room.",
        "  As admin, type !help in the “Laura – beheer” room.",
        "",
        f"  Appointment mails (as .eml files, open them with a mail program): {dev['mail_dir']}",
        f"  Everything is kept in {data_dir} (dev.json lists the rooms and logins).",
        "  Press Ctrl-C to stop.",
        "",
    ]
    print("\n".join(lines), flush=True)
