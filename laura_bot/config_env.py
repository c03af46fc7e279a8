"""Configuration the way hosters give it: any key from the environment, secrets from files.

- `LAURA_<SECTION>__<KEY>=value` overrides a key (sections and keys joined by two
  underscores: `LAURA_DATABASE__URL`, `LAURA_LAURA__SETTINGS__MAX_CHATS=5`); the value is read
  as YAML, so `true`, `5` and `[a, b]` are what they look like.
- Each secret has a `<key>_file` key beside it (`appservice.as_token_file`,
  `database.url_file`, …; `LAURA_APPSERVICE__AS_TOKEN_FILE` from the environment too): the file's
  content, without its final line break, is the secret. A systemd credential or a Kubernetes
  secret, and a config that can be shared without them.

Both apply after the file was read (and brought up to date), in memory only: nothing from the
environment or a secret file is ever written into the config file.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mautrix.util.config import ConfigUpdateHelper
from ruamel.yaml import YAML

from .errors import ConfigError

PREFIX = "LAURA_"
SECRET_KEYS = (
    "appservice.as_token",
    "appservice.hs_token",
    "database.url",
    "web.portal_secret",
    "video.jwt_secret",
    "mail.password",
    "web.admin_token",
)


def update_secret_files(helper: ConfigUpdateHelper) -> None:
    for key in SECRET_KEYS:
        helper.copy(f"{key}_file")


def _value(raw: str) -> Any:
    try:
        return YAML(typ="safe").load(io.StringIO(raw)) if raw.strip() else ""
    except Exception:
        return raw  # not YAML: the text as it is


def apply_overrides(config: Any, environ: Mapping[str, str]) -> set[str]:
    """Set keys from the environment, then secrets from their files; the keys set."""
    changed: set[str] = set()
    for name, raw in sorted(environ.items()):
        if not name.startswith(PREFIX) or "__" not in name:
            continue
        key = name[len(PREFIX) :].lower().replace("__", ".")
        config[key] = _value(raw)
        changed.add(key)
    for key in SECRET_KEYS:
        path = config[f"{key}_file"]
        if not path:
            continue
        try:
            text = Path(str(path)).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(
                f"config key '{key}_file' names {path}, which cannot be read "
                f"({type(e).__name__}): give the path of a file holding {key}"
            ) from None
        config[key] = text.removesuffix("\n").removesuffix("\r")
        changed.add(key)
    return changed
