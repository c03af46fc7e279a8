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
from .util import format_duration, parse_duration

log = logging.getLogger("laura.settings")


class SettingRefused(Exception):
    """A value !set does not take; text_id and values say why (a staff text)."""

    def __init__(self, text_id: str, **values: str) -> None:
        super().__init__(text_id)
        self.text_id = text_id
        self.values = values


class Settings:
    def __init__(self, config: Config, store: SettingStore) -> None:
        self.config = config
        self.store = store
        self._reported: set[tuple[str, str]] = set()

    @staticmethod
    def _checked(key: str, raw: str | int | float) -> float:
        """Seconds for a raw value, or SettingRefused saying the allowed range."""
        low, high = SETTING_RANGES[key]
        span = {"key": key, "low": format_duration(low), "high": format_duration(high)}
        try:
            seconds = parse_duration(raw)
        except ValueError:
            raise SettingRefused("set_not_duration", value=str(raw)[:40], **span) from None
        if not low <= seconds <= high:
            raise SettingRefused("set_out_of_range", **span)
        return seconds

    async def seconds(self, key: str) -> float:
        default = self._checked(key, self.config[f"laura.settings.{key}"])  # validated at start
        stored = await self.store.get(f"setting.{key}")
        if stored is None:
            return default
        try:
            return self._checked(key, stored)
        except SettingRefused:
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
        """Store a new value; SettingRefused when the key or the value is not allowed."""
        if key not in SETTING_RANGES:
            raise SettingRefused("set_unknown", key=key[:40], keys=", ".join(SETTING_RANGES))
        seconds = self._checked(key, raw)
        value = format_duration(seconds)
        await self.store.set(f"setting.{key}", value)
        return value

    async def all(self) -> dict[str, str]:
        return {key: format_duration(await self.seconds(key)) for key in SETTING_RANGES}
