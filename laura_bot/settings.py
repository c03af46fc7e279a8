"""Run-time settings: defaults from the config, overrides set with !set stored in the DB."""

from __future__ import annotations

from .config import SETTING_KEYS, Config
from .db.settings import SettingStore
from .errors import BadRequest
from .util import format_duration, parse_duration

MIN_SECONDS = {"dispatch_timeout": 1.0, "queue_update_interval": 1.0}


class Settings:
    def __init__(self, config: Config, store: SettingStore) -> None:
        self.config = config
        self.store = store

    async def seconds(self, key: str) -> float:
        value = await self.store.get(f"setting.{key}")
        return parse_duration(value if value is not None else self.config[f"laura.settings.{key}"])

    async def set(self, key: str, raw: str) -> str:
        if key not in SETTING_KEYS:
            raise BadRequest(f"Unknown setting {key!r}. Settings: {', '.join(SETTING_KEYS)}.")
        try:
            seconds = parse_duration(raw)
        except ValueError as e:
            raise BadRequest(str(e)) from None
        if seconds < MIN_SECONDS[key]:
            raise BadRequest(f"{key} must be at least {format_duration(MIN_SECONDS[key])}.")
        value = format_duration(seconds)
        await self.store.set(f"setting.{key}", value)
        return value

    async def all(self) -> dict[str, str]:
        return {key: format_duration(await self.seconds(key)) for key in SETTING_KEYS}
