"""A throwaway Synapse from the matrix-synapse package: own data dir, free port, no limits.

Used by `laura dev`, the integration tests and the benchmark. Synapse runs in its own process
group; we check that the server answering on the port is ours (our process is alive and our
shared secret works) because another server may hold a port.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

UNLIMITED = {"per_second": 1000, "burst_count": 1000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class SynapseError(Exception):
    pass


class Synapse:
    def __init__(
        self,
        data_dir: Path,
        port: int,
        server_name: str = "localhost",
        registrations: list[Path] | None = None,
    ) -> None:
        self.dir = Path(data_dir).resolve()
        self.port = port
        self.server_name = server_name
        self.registrations = [Path(p).resolve() for p in registrations or []]
        self.config_path = self.dir / "homeserver.yaml"
        self.secret_path = self.dir / "shared-secret"
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
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(d / "homeserver.db")}},
            "media_store_path": str(d / "media_store"),
            "signing_key_path": str(d / f"{self.server_name}.signing.key"),
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "enable_registration": False,
            "presence": {"enabled": False},
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
            **secrets_,
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

    async def start(self, timeout: float = 90) -> None:
        self.prepare()
        log = open(self.dir / "homeserver.log", "ab")  # noqa: SIM115 (kept open for the child)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            start_new_session=True,
        )
        log.close()
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
                self.stop()
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
