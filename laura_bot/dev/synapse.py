"""A throwaway Synapse from the matrix-synapse package: own data dir, free port, no limits.

Used by `laura dev`, the integration tests and the benchmark. Synapse runs in its own process
group; we check that the server answering on the port is ours (our process is alive and our
shared secret works) because another server may hold a port.

Synapse must never outlive its owner: two homeservers writing one SQLite database corrupt it.
It is started through the guard launcher (guard.py), so on Linux it gets SIGTERM when its owner
dies, even on `kill -9`. As a second line, and the only one where there is no parent-death
signal, we keep a pid file in the data dir, and the next start stops a Synapse a crashed run
left behind. The pid file records the process start time as well, and we also check that the
process runs our homeserver.yaml, so a pid the system has since given to another process is
never signalled.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp

from .guard import DevError, guarded

log = logging.getLogger(__name__)

PID_FILE = "laura-synapse.pid"
UNLIMITED = {"per_second": 1000, "burst_count": 1000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` now. With SO_REUSEADDR, as Synapse (Twisted) and
    aiohttp bind: connections a stopped server left in TIME_WAIT do not block them, but a
    listening socket still does."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class SynapseError(DevError):
    pass


def process_identity(pid: int) -> tuple[str, str] | None:
    """(start time, command line) of a running process; None when it is gone or a zombie.

    The start time tells a process from a later one that got the same pid. Linux has both in
    /proc; elsewhere we ask ps (start time to the second, enough next to the command line).
    """
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self/stat").exists():
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            return None
        # The fields after the command name, which may itself hold spaces and parentheses:
        # state is field 3 of stat(5), starttime field 22.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):
            return None
        return fields[19], cmdline.replace(b"\0", b" ").decode(errors="replace")
    values = []
    for field in ("stat", "lstart", "args"):
        ps = subprocess.run(
            ["ps", "-ww", "-p", str(pid), "-o", f"{field}="], capture_output=True, text=True
        )
        if ps.returncode != 0 or not ps.stdout.strip():
            return None
        values.append(ps.stdout.strip())
    if values[0].startswith("Z"):
        return None
    return values[1], values[2]


def stop_leftover(data_dir: Path, timeout: float = 15) -> int | None:
    """Stop the Synapse a crashed run left running on `data_dir`; its pid, or None if none.

    Only for the directory's owner (`laura dev` holds a lock on its data dir; the tests and the
    benchmark use fresh directories): then a Synapse recorded in the pid file has no living
    owner, and must go before a new one opens the same database. SIGTERM first, so Synapse
    closes the database itself; SIGKILL if it does not stop within `timeout` seconds.
    """
    data_dir = Path(data_dir).resolve()
    pid_path = data_dir / PID_FILE
    try:
        record = json.loads(pid_path.read_text())
        pid, started = int(record["pid"]), str(record["start_time"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        log.warning("Ignoring unreadable %s", pid_path)
        pid_path.unlink(missing_ok=True)
        return None

    def still_there() -> bool:
        identity = process_identity(pid)
        return (
            identity is not None
            and identity[0] == started
            and str(data_dir / "homeserver.yaml") in identity[1]
        )

    if not still_there():
        pid_path.unlink(missing_ok=True)
        return None
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            # Its own process group (start_new_session) unless it is a stranger's process.
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while still_there() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not still_there():
            break
    else:
        raise SynapseError(
            f"cannot stop the Synapse (pid {pid}) left running in {data_dir}; stop it yourself"
        )
    pid_path.unlink(missing_ok=True)
    return pid


class Synapse:
    def __init__(
        self,
        data_dir: Path,
        port: int,
        server_name: str = "localhost",
        registrations: list[Path] | None = None,
        database: str | None = None,
        extra: dict[str, Any] | None = None,
        metrics_port: int | None = None,
    ) -> None:
        """`database`: a postgres:// URL for Synapse's own database (psycopg2 must be
        installed, and the database made with the C collation Synapse requires); SQLite in the
        data dir otherwise. `extra`: top-level homeserver.yaml keys set over ours.
        `metrics_port`: Synapse's Prometheus metrics there, on 127.0.0.1 (the benchmarks
        count events and requests with them)."""
        self.metrics_port = metrics_port
        self.dir = Path(data_dir).resolve()
        self.database = database
        self.port = port
        self.server_name = server_name
        self.registrations = [Path(p).resolve() for p in registrations or []]
        self.extra = dict(extra or {})
        self.config_path = self.dir / "homeserver.yaml"
        self.secret_path = self.dir / "shared-secret"
        self.pid_path = self.dir / PID_FILE
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        """Write homeserver.yaml (kept between runs, port and registrations refreshed)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.secret_path.exists():
            self.secret_path.write_text(
                json.dumps(
                    {
                        "registration_shared_secret": secrets.token_urlsafe(32),
                        "macaroon_secret_key": secrets.token_urlsafe(32),
                        "form_secret": secrets.token_urlsafe(32),
                    }
                )
            )
            os.chmod(self.secret_path, 0o600)
        secrets_ = json.loads(self.secret_path.read_text())
        d = self.dir
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "pid_file": str(d / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client", "openid"], "compress": False}],
                },
                *(
                    [
                        {
                            "port": self.metrics_port,
                            "bind_addresses": ["127.0.0.1"],
                            "type": "metrics",
                        }
                    ]
                    if self.metrics_port
                    else []
                ),
            ],
            "database": self._database(),
            **self._metrics(),
            "media_store_path": str(d / "media_store"),
            "signing_key_path": str(d / f"{self.server_name}.signing.key"),
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "enable_registration": False,
            "presence": {"enabled": True},  # Laura counts staff whose clients are all gone as away
            "url_preview_enabled": False,
            "app_service_config_files": [str(p) for p in self.registrations],
            "rc_message": UNLIMITED,
            "rc_registration": UNLIMITED,
            "rc_room_creation": UNLIMITED,
            "rc_admin_redaction": UNLIMITED,
            "rc_3pid_validation": UNLIMITED,
            "rc_login": {"address": UNLIMITED, "account": UNLIMITED, "failed_attempts": UNLIMITED},
            "rc_joins": {"local": UNLIMITED, "remote": UNLIMITED},
            "rc_invites": {"per_room": UNLIMITED, "per_user": UNLIMITED, "per_issuer": UNLIMITED},
            # Redacted events keep their original content this long, then Synapse censors it
            # (its job runs every 5 minutes). Retention redacts the requests in department
            # rooms, so keep this short (Synapse's default is 7 days). See synapse/README.md.
            "redaction_retention_period": "5m",
            **secrets_,
            **self.extra,
        }
        # JSON is valid YAML; no need for a YAML writer here.
        self.config_path.write_text(json.dumps(config, indent=2))
        if not (d / f"{self.server_name}.signing.key").exists():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "synapse.app.homeserver",
                    "-c",
                    str(self.config_path),
                    "--generate-keys",
                ],
                check=True,
                capture_output=True,
                cwd=d,
            )

    def _metrics(self) -> dict[str, Any]:
        if self.metrics_port is None:
            return {}
        return {"enable_metrics": True}

    def _database(self) -> dict[str, Any]:
        if not self.database:
            return {"name": "sqlite3", "args": {"database": str(self.dir / "homeserver.db")}}
        url = urlsplit(self.database)
        args: dict[str, Any] = {
            "host": url.hostname or "127.0.0.1",
            "port": url.port or 5432,
            "user": unquote(url.username or "postgres"),
            "database": url.path.lstrip("/"),
            "cp_min": 5,
            "cp_max": 10,
        }
        if url.password:
            args["password"] = unquote(url.password)
        return {"name": "psycopg2", "args": args}

    async def start(self, timeout: float = 90) -> None:
        """Start Synapse and wait until it answers; call from the thread that will stop it
        (the parent-death signal follows the thread that started the child)."""
        leftover = stop_leftover(self.dir)
        if leftover:
            log.warning("Stopped Synapse pid %s left running in %s", leftover, self.dir)
        self.prepare()
        log_file = open(self.dir / "homeserver.log", "ab")  # noqa: SIM115 (kept open for the child)
        self.proc = subprocess.Popen(
            guarded([sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)]),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            start_new_session=True,
        )
        log_file.close()
        try:
            self._write_pid_file(self.proc.pid)
            await self._wait_until_up(timeout)
        except BaseException:
            self.stop()
            raise

    def _write_pid_file(self, pid: int) -> None:
        """Record the child before it can outlive us; the launcher execs Synapse in the same
        process, so the pid and start time stay Synapse's."""
        identity = process_identity(pid)
        if identity is None:
            return  # already exited; the wait below reports it
        record = {"pid": pid, "start_time": identity[0], "config": str(self.config_path)}
        self.pid_path.write_text(json.dumps(record))

    async def _wait_until_up(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise SynapseError(
                        f"Synapse exited with {self.proc.returncode}; see "
                        f"{self.dir / 'homeserver.log'}"
                    )
                try:
                    async with http.get(f"{self.url}/_matrix/client/versions") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise SynapseError(f"Synapse did not answer within {timeout:.0f}s")
        await asyncio.sleep(0.3)
        if self.proc.poll() is not None:
            raise SynapseError(f"Another server answers on port {self.port}; ours exited")
        # Proves the server on the port is ours: only it knows our shared secret.
        await self.register("laura-probe", secrets.token_urlsafe(12))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        if self.proc:
            self.pid_path.unlink(missing_ok=True)
        self.proc = None

    async def register(self, localpart: str, password: str, admin: bool = False) -> str:
        """Register a user with the shared secret; an existing user is fine."""
        secret = json.loads(self.secret_path.read_text())["registration_shared_secret"]
        url = f"{self.url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as resp:
                nonce = (await resp.json())["nonce"]
            mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
            mac.update(
                b"\x00".join(
                    [
                        nonce.encode(),
                        localpart.encode(),
                        password.encode(),
                        b"admin" if admin else b"notadmin",
                    ]
                )
            )
            body = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
            async with http.post(url, json=body) as resp:
                data = await resp.json()
                if resp.status != 200 and data.get("errcode") != "M_USER_IN_USE":
                    raise SynapseError(f"Could not register {localpart}: {data}")
        return f"@{localpart}:{self.server_name}"

    async def make_admin(
        self, user_id: str, as_token: str, admin_localpart: str, admin_password: str
    ) -> None:
        """Make the appservice's bot a server admin, as an existing admin (the bot is
        registered through the appservice first: its namespace is the appservice's own).
        Retention needs it: deleting rooms, media and ghosts goes through the admin API."""
        token = await self.login(admin_localpart, admin_password)
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{self.url}/_matrix/client/v3/register",
                json={
                    "type": "m.login.application_service",
                    "username": user_id[1:].split(":")[0],
                },
                headers={"Authorization": f"Bearer {as_token}"},
            ) as resp:
                data = await resp.json()
                if resp.status != 200 and data.get("errcode") != "M_USER_IN_USE":
                    raise SynapseError(f"Could not register {user_id}: {data}")
            async with http.put(
                f"{self.url}/_synapse/admin/v2/users/{user_id}",
                json={"admin": True},
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                if resp.status not in (200, 201):
                    raise SynapseError(f"Could not make {user_id} an admin: {await resp.text()}")

    async def login(self, localpart: str, password: str) -> str:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{self.url}/_matrix/client/v3/login",
                json={
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": localpart},
                    "password": password,
                },
            ) as resp:
                data = await resp.json()
                if resp.status != 200:
                    raise SynapseError(f"Could not log in {localpart}: {data}")
                return str(data["access_token"])

    async def join(self, token: str, room_id: str) -> None:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{self.url}/_matrix/client/v3/join/{room_id}",
                json={},
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                if resp.status != 200:
                    raise SynapseError(f"Could not join {room_id}: {await resp.text()}")
