"""Run-time settings: defaults from the config, overrides set with !set stored in the DB.

Every setting has a range (config.SETTING_RANGES). `!set` refuses a value outside it and says the
range; a stored value that cannot be read (edited by hand, or from a version without bounds)
falls back to the configured default with one error line in the log, so intake never breaks on
a setting.

A text setting (the welcome message) is a template in the restricted language of templates.py,
checked by `!set` and again whenever it is filled in; one that cannot be used (stored before
that check, or edited by hand) gives the visitor Laura's built-in text instead, with one error
line in the log per distinct template.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from .config import (
    SETTING_COUNTS,
    SETTING_FLAGS,
    SETTING_KEYS,
    SETTING_PER_DEPARTMENT,
    SETTING_RANGES,
    SETTING_TEXT_OUTPUT,
    SETTING_TEXT_VARIABLES,
    SETTING_TEXTS,
    Config,
)
from .db.settings import SettingStore
from .templates import TemplateRefused, safe_render
from .util import format_duration, parse_duration

log = logging.getLogger(__name__)
_ON = ("on", "aan", "true", "yes", "ja", "1")
_OFF = ("off", "uit", "false", "no", "nee", "0")


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
        self._reported_templates: set[str] = set()  # key:hash of text settings logged unusable

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
            self._report(key, stored, format_duration(default))
            return default

    @staticmethod
    def _checked_count(key: str, raw: str | int) -> int:
        low, high = SETTING_COUNTS[key]
        text = str(raw).strip()
        if not text.isdigit() or len(text) > 6 or not low <= int(text) <= high:
            raise SettingRefused("set_bad_count", key=key, low=str(low), high=str(high))
        return int(text)

    async def count(self, key: str) -> int:
        default = int(self.config[f"laura.settings.{key}"])  # validated at start
        stored = await self.store.get(f"setting.{key}")
        if stored is None:
            return default
        try:
            return self._checked_count(key, stored)
        except SettingRefused:
            self._report(key, stored, str(default))
            return default

    async def text(self, key: str) -> str:
        """A text setting; "" means Laura's built-in text."""
        stored = await self.store.get(f"setting.{key}")
        if stored is None:
            return str(self.config[f"laura.settings.{key}"] or "")
        return stored[: SETTING_TEXTS[key]]

    @staticmethod
    def _filled_in(key: str, template: str, values: dict[str, Any]) -> str:
        """A text setting filled in; SettingRefused (set_template_*) saying why it cannot be."""
        allowed = dict.fromkeys(SETTING_TEXT_VARIABLES[key], "") | values
        try:
            text = safe_render(template, allowed, SETTING_TEXT_OUTPUT).strip()
        except TemplateRefused as e:
            words = {k: str(v) for k, v in e.values.items()}
            if e.kind == "variable":
                words["variables"] = ", ".join(sorted(SETTING_TEXT_VARIABLES[key]))
            raise SettingRefused(f"set_template_{e.kind}", key=key, **words) from None
        if not text:
            raise SettingRefused("set_template_empty", key=key)
        return text

    def filled_in(self, key: str, template: str, **values: Any) -> str:
        """A text setting as the visitor gets it, or "" for Laura's built-in text: when it is
        empty, or cannot be used (not in the template language, failing to render, too long).
        That is logged once per distinct template, by its hash: never a text itself."""
        if not template:
            return ""
        try:
            return self._filled_in(key, template, values)
        except SettingRefused as e:
            digest = hashlib.sha256(template.encode()).hexdigest()[:12]
            if f"{key}:{digest}" not in self._reported_templates:
                self._reported_templates.add(f"{key}:{digest}")
                log.error(
                    "The setting %s (template %s) cannot be used (%s); visitors get Laura's "
                    "built-in text. Set it again with !set %s.",
                    key,
                    digest,
                    e.text_id.removeprefix("set_template_"),
                    key,
                )
            return ""

    async def flag(self, key: str) -> bool:
        """An on/off setting (stored as "on" or "off")."""
        stored = await self.store.get(f"setting.{key}")
        if stored is None:
            return bool(self.config[f"laura.settings.{key}"])
        return stored == "on"

    def _report(self, key: str, stored: str, default: str) -> None:
        if (key, stored) not in self._reported:
            self._reported.add((key, stored))
            log.error(
                "The stored value of setting %s cannot be used; using the default %s. "
                "Set it again with !set.",
                key,
                default,
            )

    async def set(self, key: str, raw: str) -> str:
        """Store a new value; SettingRefused when the key or the value is not allowed. A text
        setting set to "-" goes back to Laura's own text."""
        if key in SETTING_COUNTS:
            value = str(self._checked_count(key, raw))
        elif key in SETTING_FLAGS:
            word = raw.strip().lower()
            if word not in _ON + _OFF:
                raise SettingRefused("set_bad_flag", key=key)
            value = "on" if word in _ON else "off"
        elif key in SETTING_TEXTS:
            value = "" if raw.strip() == "-" else raw.strip()
            if len(value) > SETTING_TEXTS[key]:
                raise SettingRefused("set_too_long", key=key, limit=str(SETTING_TEXTS[key]))
            if value:
                self._filled_in(key, value, {})  # refuses what could not be filled in later
        elif key in SETTING_RANGES:
            value = format_duration(self._checked(key, raw))
        else:
            raise SettingRefused("set_unknown", key=key[:40], keys=", ".join(SETTING_KEYS))
        await self.store.set(f"setting.{key}", value)
        return value

    async def seconds_for(self, key: str, department_id: str | None) -> float:
        """A setting a department may override (retention): its own value, else everyone's."""
        if department_id:
            stored = await self.store.get(f"setting.{key}@{department_id}")
            if stored is not None:
                try:
                    return self._checked(key, stored)
                except SettingRefused:
                    self._report(f"{key}@{department_id}", stored, "the general value")
        return await self.seconds(key)

    async def set_for_department(self, key: str, department_id: str, raw: str) -> str:
        """A department's own value ("-" removes it: the general value applies again)."""
        if key not in SETTING_PER_DEPARTMENT:
            raise SettingRefused("set_not_per_department", key=key[:40])
        if raw.strip() == "-":
            await self.store.delete(f"setting.{key}@{department_id}")
            return ""
        value = format_duration(self._checked(key, raw))
        await self.store.set(f"setting.{key}@{department_id}", value)
        return value

    async def department_values(self, key: str) -> dict[str, float]:
        """The departments with a value of their own for key."""
        out = {}
        for stored_key, stored in (await self.store.with_prefix(f"setting.{key}@")).items():
            try:
                out[stored_key.split("@", 1)[1]] = self._checked(key, stored)
            except SettingRefused:
                continue
        return out

    async def all(self) -> dict[str, str]:
        values = {key: format_duration(await self.seconds(key)) for key in SETTING_RANGES}
        for key in SETTING_PER_DEPARTMENT:
            for dept, seconds in sorted((await self.department_values(key)).items()):
                values[f"{key} ({dept})"] = format_duration(seconds)
        values |= {key: str(await self.count(key)) for key in SETTING_COUNTS}
        for key in SETTING_TEXTS:
            values[key] = await self.text(key) or "-"
        for key in SETTING_FLAGS:
            values[key] = "on" if await self.flag(key) else "off"
        return values
