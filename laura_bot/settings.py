"""Run-time settings: defaults from the config, overrides set with !set stored in the DB.

Every setting has a range (config.SETTING_RANGES). `!set` refuses a value outside it and says the
range; a stored value that cannot be read (edited by hand, or from a version without bounds)
falls back to the configured default with one error line in the log, so intake never breaks on
a setting.
"""

from __future__ import annotations

import logging

from .config import SETTING_RANGES, Config
from .db.settings import SettingStore
from .errors import BadRequest
from .util import format_duration, parse_duration

log = logging.getLogger("laura.settings")


class Settings:
    def __init__(self, config: Config, store: SettingStore) -> None:
        self.config = config
        self.store = store
        self._reported: set[tuple[str, str]] = set()

    @staticmethod
    def _checked(key: str, raw: str | int | float) -> float:
        """Seconds for a raw value, or ValueError saying the allowed range."""
        low, high = SETTING_RANGES[key]
        span = f"between {format_duration(low)} and {format_duration(high)}"
        try:
            seconds = parse_duration(raw)
        except ValueError:
            raise ValueError(
                f"{str(raw)[:40]!r} is not a duration; write one {span}, like 5m"
            ) from None
        if not low <= seconds <= high:
            raise ValueError(f"{key} must be {span}.")
        return seconds

    async def seconds(self, key: str) -> float:
        default = self._checked(key, self.config[f"laura.settings.{key}"])  # validated at start
        stored = await self.store.get(f"setting.{key}")
        if stored is None:
            return default
        try:
            return self._checked(key, stored)
        except ValueError:
            if (key, stored) not in self._reported:
                self._reported.add((key, stored))
                log.error(
                    "The stored value of setting %s cannot be used; using the default %s. "
                    "Set it again with !set.",
                    key,
                    format_duration(default),
                )
            return default

    async def set(self, key: str, raw: str) -> str:
        if key not in SETTING_RANGES:
            raise BadRequest(
                f"Unknown setting {key[:40]!r}. Settings: {', '.join(SETTING_RANGES)}."
            )
        try:
            seconds = self._checked(key, raw)
        except ValueError as e:
            raise BadRequest(str(e)) from None
        value = format_duration(seconds)
        await self.store.set(f"setting.{key}", value)
        return value

    async def all(self) -> dict[str, str]:
        return {key: format_duration(await self.seconds(key)) for key in SETTING_RANGES}
