"""Running Laura for real (#25), the parts built so far: health and readiness on the public
listener, JSON logs through the same privacy filter, and files with tokens written 0600."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
from pathlib import Path

import aiohttp
import pytest

from laura_bot.__main__ import main
from laura_bot.logs import JsonFormatter, PrivacyFilter
from laura_bot.util import now_ms

from .conftest import Team
from .test_config import load


@pytest.mark.synapse
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_health_and_readiness(team: Team) -> None:
    base = team.handle.api.removesuffix("/api/v1")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/health") as resp:
            assert resp.status == 200 and (await resp.json()) == {"status": "ok"}
        async with http.get(f"{base}/ready") as resp:
            body = await resp.json()
            assert resp.status == 200, body
            assert body["checks"] == {"database": True, "homeserver": True, "inbox": True}
        # An event that waits in the inbox for more than a minute: not ready, and which check.
        await team.laura.store.db.execute(
            "INSERT INTO inbox (event_id, room_id, raw, received_at) VALUES ($1,$2,$3,$4)",
            "$stuck",
            "!nowhere:localhost",
            "{}",
            now_ms() - 120_000,
        )
        async with http.get(f"{base}/ready") as resp:
            body = await resp.json()
            assert resp.status == 503 and body["checks"]["inbox"] is False, body
        await team.laura.store.db.execute("DELETE FROM inbox WHERE event_id='$stuck'")
        async with http.get(f"{base}/ready") as resp:
            assert resp.status == 200
        # The appservice listener (internal, Synapse's side) has mautrix's own probes.
        internal = f"http://127.0.0.1:{team.laura.config['appservice.port']}/_matrix/mau"
        for probe in ("live", "ready"):
            async with http.get(f"{internal}/{probe}") as resp:
                assert resp.status == 200, probe


def test_json_logs_keep_the_privacy_filter() -> None:
    """One JSON object a line; a token in a URL and the message of an exception (which may
    quote a visitor's words) stay out, as in the text format."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PrivacyFilter())
    logger = logging.getLogger("mau.as.test_json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("GET %s failed", "https://hs/_matrix?access_token=geheimtoken123")
        words = "geheime" + " " + "klacht"  # not in the source line the traceback shows
        try:
            raise ValueError(f"de bezoeker schreef: mijn {words}")
        except ValueError:
            logger.exception("Handling failed")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["level"] for r in lines] == ["WARNING", "ERROR"]
    assert {"time", "logger", "message"} <= set(lines[0])
    assert "geheimtoken123" not in out.getvalue() and "<hidden>" in lines[0]["message"]
    assert "ValueError" in lines[1]["exc_info"] and "geheime klacht" not in out.getvalue()


def test_files_with_tokens_are_only_the_owners(tmp_path: Path) -> None:
    config = load(tmp_path, logging__format="json")
    config.save()
    path = tmp_path / "config.yaml"
    path.chmod(0o644)
    registration = tmp_path / "registration.yaml"
    assert main(["generate-registration", "-c", str(path), "-o", str(registration)]) == 0
    for written in (path, registration):
        assert stat.S_IMODE(os.stat(written).st_mode) == 0o600, written
    with pytest.raises(Exception, match="logging.format"):
        load(tmp_path, logging__format="xml").validate()


def test_no_update_only_reads_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --no-update the config file is read, never written (not even to add new keys or
    comments); a token it would have generated is a clear error instead."""
    config = load(tmp_path)
    config.save()
    path = tmp_path / "config.yaml"
    text = path.read_text()
    trimmed = text.replace("    # How long a contact request", "    # (trimmed) How long")
    path.write_text(trimmed)
    path.chmod(0o444)
    registration = tmp_path / "registration.yaml"
    args = ["generate-registration", "-c", str(path), "-o", str(registration), "--no-update"]
    assert main(args) == 0
    assert path.read_text() == trimmed and stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert json.loads(registration.read_text())["as_token"] == config["appservice.as_token"]

    path.chmod(0o644)
    path.write_text(trimmed.replace(config["appservice.hs_token"], "generate"))
    assert main(args) != 0
    assert "appservice.hs_token must be set" in capsys.readouterr().err
    assert "generate" in path.read_text()  # still not written


def test_secrets_from_files_and_keys_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shared config without secrets, only read: the tokens come from files (named in the
    environment here), other keys from LAURA_ variables; nothing of them lands in the file."""
    from laura_bot.__main__ import _load_config

    config = load(tmp_path)
    config["appservice.as_token"] = "generate"
    config["appservice.hs_token"] = "generate"
    config.save()
    path = tmp_path / "config.yaml"
    before = path.read_text()
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "as").write_text("as-token-from-a-file-" + "x" * 40 + "\n")
    (secrets_dir / "hs").write_text("hs-token-from-a-file-" + "y" * 40)
    monkeypatch.setenv("LAURA_APPSERVICE__AS_TOKEN_FILE", str(secrets_dir / "as"))
    monkeypatch.setenv("LAURA_APPSERVICE__HS_TOKEN_FILE", str(secrets_dir / "hs"))
    monkeypatch.setenv("LAURA_WEB__PORT", "8123")
    monkeypatch.setenv("LAURA_LAURA__SETTINGS__MAX_CHATS", "5")
    monkeypatch.setenv("LAURA_LAURA__ADMINS", '["@boss:example.org"]')
    loaded = _load_config(str(path), no_update=True)
    assert loaded["appservice.as_token"] == "as-token-from-a-file-" + "x" * 40
    assert loaded["appservice.hs_token"] == "hs-token-from-a-file-" + "y" * 40
    assert loaded["web.port"] == 8123 and loaded["laura.settings.max_chats"] == 5
    assert loaded["laura.admins"] == ["@boss:example.org"]
    assert path.read_text() == before  # read only
    # Without --no-update the file is brought up to date, but no secret goes into it.
    _load_config(str(path))
    assert "from-a-file" not in path.read_text() and "8123" not in path.read_text()
    monkeypatch.setenv("LAURA_APPSERVICE__AS_TOKEN_FILE", str(secrets_dir / "missing"))
    with pytest.raises(Exception, match="as_token_file"):
        _load_config(str(path), no_update=True)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from laura_bot import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"laura {__version__}"
