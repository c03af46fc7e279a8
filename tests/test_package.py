"""Laura as a hoster runs it (#25, points 1 and 2): the wheel, installed into a new virtualenv
outside the checkout, started by its `laura` script with a read-only config directory, the
secrets in files of their own and one key from the environment."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import site
import sqlite3
import sys
import zipfile
from contextlib import closing
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from ruamel.yaml import YAML

import laura_bot
from laura_bot.dev.demo import write_laura_config
from laura_bot.dev.synapse import free_port

from .conftest import SynapseEnv, laura_overrides, password
from .helpers import Staff, Visitor, is_msg

REPO = Path(__file__).resolve().parent.parent

# What Laura serves or reads from its own package; a wheel without one of them installs fine
# and then quietly serves no chat page, sends no mail or finds no texts.
IN_THE_WHEEL = [
    "laura_bot/widget/laura.js",
    "laura_bot/widget/laura-widget.js",
    "laura_bot/widget/chat.html",
    "laura_bot/fonts/DejaVuSans.ttf",
    "laura_bot/locales/nl.yaml",
    "laura_bot/web/openapi.yaml",
    "laura_bot/web/templates/appointment.html",
    "laura_bot/mail/templates/_layout.html",
    "laura_bot/mail/templates/nl/body.html",
    "laura_bot/mail/templates/nl/subject.txt",
    "laura_bot/example-config.yaml",
]

# Left out of the copy the wheel is built from: what a fresh clone does not have either. A
# build in the checkout itself would leave build/ there, and setuptools packs whatever is in
# build/lib, so a file once built would stay in every later wheel and hide a broken
# package-data.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".laura-dev",
    ".hypothesis",
    "test-output",
    "*.db",
    "*.db-*",
)


async def _command(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Runs a command to its end (at most two minutes); its output, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        *map(str, args),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(120):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{args} did not end within 120 s") from None
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise CommandFailed(proc.returncode, text)
    return text


class CommandFailed(AssertionError):
    def __init__(self, code: int | None, output: str) -> None:
        super().__init__(f"exit code {code}: {output[-3000:]}")
        self.code, self.output = code, output


def _edit(path: Path, values: dict[str, Any]) -> None:
    """Sets dotted keys in a YAML file, keeping the rest as it is."""
    yaml = YAML()
    data = yaml.load(path.read_text())
    for dotted, value in values.items():
        *parents, last = dotted.split(".")
        node = data
        for p in parents:
            node = node[p]
        node[last] = value
    with path.open("w") as f:
        yaml.dump(data, f)


def _clean_env() -> dict[str, str]:
    """The environment for the installed Laura: nothing of the test's Python or Laura settings
    (no PYTHONPATH to the checkout, no LAURA_ variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAURA_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    return env


def _secret_file(directory: Path, name: str, value: str) -> str:
    path = directory / name
    path.write_text(value + "\n")  # the final line break is not part of the secret
    path.chmod(0o600)
    return str(path)


async def _build_and_install(tmp: Path) -> tuple[Path, Path]:
    """The wheel, built from a clean copy of the checkout, installed into a new virtualenv;
    (the wheel, the new venv's python)."""
    source = tmp / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCE)
    wheels = tmp / "wheels"
    # Build isolation on: pip fetches the build backend the pyproject asks for (cached after
    # the first run), as it does for anyone who installs from the source.
    await _command(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source, cwd=tmp
    )
    (wheel,) = wheels.glob("laura_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in IN_THE_WHEEL if n not in names]
    # The widget's every file, as the checkout has it (laura_bot/widget links to widget/).
    missing += [
        f"laura_bot/widget/{f.relative_to(REPO / 'widget').as_posix()}"
        for f in (REPO / "widget").rglob("*")
        if f.is_file()
        and f"laura_bot/widget/{f.relative_to(REPO / 'widget').as_posix()}" not in names
    ]
    assert not missing, f"not in {wheel.name}: {missing}"
    assert not any("tests/" in n or n.startswith("widget/") for n in names), sorted(names)

    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
    venv = tmp / "venv"
    await _command(base, "-m", "venv", "--without-pip", venv, cwd=tmp)
    python = venv / "bin" / "python"
    await _command(
        sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
        "--no-index", wheel, cwd=tmp,
    )  # fmt: skip
    # The dependencies: the test venv's, through a .pth file (a plain path line: the test
    # venv's own .pth files, among them the editable install's finder for the checkout, are
    # not run). The new venv's own site-packages comes first on sys.path, so laura_bot is the
    # wheel's.
    purelib = (
        await _command(
            python,
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            cwd=tmp,
            env=_clean_env(),
        )
    ).strip()
    (Path(purelib) / "test-venv-dependencies.pth").write_text(
        "".join(f"{p}\n" for p in site.getsitepackages())
    )
    where = (
        await _command(
            python,
            "-c",
            "import laura_bot; print(laura_bot.__file__)",
            cwd=tmp,
            env=_clean_env(),
        )
    ).strip()
    assert Path(where).is_relative_to(venv) and not Path(where).is_relative_to(REPO), where
    return wheel, python


@pytest.mark.synapse
async def test_the_wheel_runs_with_a_read_only_config_and_secrets_from_files(
    synapse_env: SynapseEnv, tmp_path: Path
) -> None:
    """Builds the wheel, installs it into a new virtualenv and runs its `laura run --no-update`
    outside the checkout against the test Synapse, with the config in a read-only directory,
    the tokens, the database URL and the portal secret in files, and the web port from the
    environment; the widget, the chat page and the API document are served from the installed
    package, a chat goes both ways through Synapse, and the config file is never written.

    The wheel is installed with --no-deps and the new venv borrows the test venv's packages
    (a .pth file): resolving and downloading the dependencies is pip's job, tried by CI's own
    install, and would make this test slow and dependent on the network. What is tested is the
    package itself: that everything Laura needs is in it and found there."""
    env = synapse_env
    tmp = tmp_path
    wheel, python = await _build_and_install(tmp)
    laura = python.parent / "laura"

    # The config as Ansible would lay it down: in a directory Laura may not write, no secret
    # in it; those are in files only the owner reads.
    web_port = free_port()
    etc, private = tmp / "etc", tmp / "secrets"
    etc.mkdir()
    private.mkdir(mode=0o700)
    config = etc / "config.yaml"
    db_url = f"sqlite:{tmp / 'laura.db'}"
    portal_secret = secrets.token_urlsafe(32)
    write_laura_config(config, laura_overrides(env, db_url, web_port))
    wrong_port = free_port()
    _edit(
        config,
        {
            "appservice.as_token": "",
            "appservice.as_token_file": _secret_file(private, "as_token", env.as_token),
            "appservice.hs_token": "",
            "appservice.hs_token_file": _secret_file(private, "hs_token", env.hs_token),
            "database.url": "",
            "database.url_file": _secret_file(private, "database_url", db_url),
            "web.portal_secret_file": _secret_file(private, "portal_secret", portal_secret),
            "web.port": wrong_port,  # the environment gives the right one
        },
    )
    text = config.read_text()
    for value in (env.as_token, env.hs_token, db_url, portal_secret):
        assert value not in text
    # The same config without the appservice token: a second file, outside the directory.
    broken = tmp / "etc-broken" / "config.yaml"
    broken.parent.mkdir()
    shutil.copy(config, broken)
    _edit(broken, {"appservice.as_token_file": ""})

    run_env = _clean_env()
    run_env["LAURA_WEB__PORT"] = str(web_port)
    config.chmod(0o444)
    etc.chmod(0o555)
    broken.chmod(0o444)
    # The tests run as root in CI, which may write a read-only file anyway: the proof that
    # nothing was written is the file itself, unchanged to the byte and the nanosecond.
    before = config.read_bytes(), config.stat().st_mtime_ns
    broken_before = broken.read_bytes(), broken.stat().st_mtime_ns
    log_path = tmp / "laura.log"
    proc: asyncio.subprocess.Process | None = None
    visitor: Visitor | None = None
    anna: Staff | None = None
    try:
        version = await _command(laura, "--version", cwd=tmp, env=run_env)
        assert version.strip() == f"laura {laura_bot.__version__}"

        # A token it would have to make, with --no-update: refused at once, by name.
        with pytest.raises(CommandFailed) as refused:
            await _command(laura, "run", "-c", broken, "--no-update", cwd=tmp, env=run_env)
        assert refused.value.code == 2, refused.value.output
        assert "appservice.as_token must be set" in refused.value.output
        assert "Traceback" not in refused.value.output
        assert (broken.read_bytes(), broken.stat().st_mtime_ns) == broken_before

        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                str(laura), "run", "-c", str(config), "--no-update",
                cwd=tmp, env=run_env, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        base = f"http://127.0.0.1:{web_port}"
        async with aiohttp.ClientSession() as http:
            await _wait_ready(http, base, proc, log_path)
            await _check_served(http, base, wrong_port)

            # Through Synapse both ways, with the tokens from the files: a visitor's request
            # reaches the dispatch room (Laura → Synapse, as_token), Anna's "Ik!" reaches Laura
            # (Synapse → Laura, hs_token) and the visitor is connected.
            with closing(sqlite3.connect(tmp / "laura.db")) as db:  # the URL from its file
                (room,) = db.execute(
                    "SELECT room_id FROM department WHERE id='huisarts'"
                ).fetchone()
            anna = await Staff(env.synapse.url, env.mxid("anna"), password("anna")).start()
            await anna.join(room)
            visitor = await Visitor(f"{base}/api/v1").start(name="Pakket", topic="huisarts")
            dispatch = await anna.wait_for(
                lambda e: (
                    is_msg(room, body_has="van Pakket", msgtype="m.text")(e)
                    and "m.relates_to" not in e["content"]
                ),
                what="the visitor's request in the dispatch room",
            )
            await anna.react(room, dispatch["event_id"], "Ik!")
            await anna.join(await anna.wait_invite())
            await visitor.wait_status("connected")

        proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(20):
                code = await proc.wait()
        except TimeoutError:
            proc.kill()
            raise AssertionError(f"laura did not stop within 20 s: {_tail(log_path)}") from None
        assert code == 0, _tail(log_path)
        log_text = log_path.read_text(errors="replace")
        assert "Traceback" not in log_text, _tail(log_path)
        assert f"Laura {laura_bot.__version__} is running" in log_text
        assert "could not reach Laura's appservice listener" not in log_text
        for value in (env.as_token, env.hs_token, portal_secret):
            assert value not in log_text
        assert (config.read_bytes(), config.stat().st_mtime_ns) == before
        assert sorted(p.name for p in etc.iterdir()) == ["config.yaml"]  # nothing beside it
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        if visitor is not None:
            await visitor.close()
        if anna is not None:
            await anna.stop()
        etc.chmod(0o755)
        config.chmod(0o644)
        broken.chmod(0o644)


async def _wait_ready(
    http: aiohttp.ClientSession, base: str, proc: asyncio.subprocess.Process, log: Path
) -> None:
    """Until /ready answers 200 (at most a minute); a Laura that exits fails at once."""
    try:
        async with asyncio.timeout(60):
            while True:
                if proc.returncode is not None:
                    raise AssertionError(f"laura exited with {proc.returncode}: {_tail(log)}")
                try:
                    async with http.get(f"{base}/ready") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.3)
            # Ready for visitors; the start-up ends with Synapse's round trip (ping) and
            # the line with the version.
            while "is running" not in log.read_text(errors="replace"):
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"laura was not ready within 60 s: {_tail(log)}") from None


async def _check_served(http: aiohttp.ClientSession, base: str, wrong_port: int) -> None:
    """What the installed package serves, and what a production Laura does not."""
    async with http.get(f"{base}/chat") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        assert "<html" in (await resp.text()).lower()
    async with http.get(f"{base}/widget/laura.js") as resp:
        assert resp.status == 200 and "javascript" in resp.content_type, resp.content_type
        assert len(await resp.text()) > 1000
    async with http.get(f"{base}/api/v1/openapi.json") as resp:
        assert resp.status == 200
        assert "openapi" in await resp.json()
    async with http.get(f"{base}/api/v1/widget") as resp:
        assert resp.status == 200
        assert (await resp.json())["portal"]["enabled"] is True  # the secret from its file
    for demo in ("/", "/widget/demo.html"):
        async with http.get(f"{base}{demo}") as resp:
            assert resp.status == 404, demo
    # The port in the file is not the one Laura listens on: the environment's won.
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.get(f"http://127.0.0.1:{wrong_port}/health"):
            pass


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
