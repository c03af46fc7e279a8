"""Typed access to Laura's YAML config; example-config.yaml is the commented source of truth."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mautrix.util.config import BaseFileConfig, ConfigUpdateHelper

from .config_appointments import update_appointments, validate_appointments
from .config_env import update_secret_files
from .config_ops import update_ops, validate_ops
from .config_texts import languages, template_fix, update_texts, validate_texts
from .errors import ConfigError
from .logs import FORMATS
from .resources import resource
from .templates import TemplateRefused, safe_render
from .texts import VISITOR, available_languages, text_in, widget_texts
from .util import format_duration, parse_duration
from .web.ratelimit import ACTIONS as RATE_LIMIT_ACTIONS
from .web.ratelimit import parse_limit, parse_networks

EXAMPLE = resource("example-config.yaml")
# Run-time settings (admins change them with !set) and their allowed range in seconds. The
# bounds keep every deadline a sane number: an absurd value once broke intake for everyone.
SETTING_RANGES: dict[str, tuple[float, float]] = {
    "dispatch_timeout": (10, 24 * 3600),
    "queue_update_interval": (5, 3600),
    "escalation_after": (10, 24 * 3600),
    "offer_timeout": (10, 3600),
    "inactivity_timeout": (10, 24 * 3600),
    "inactivity_grace": (10, 3600),
    # Privacy (C2): how long after a chat ends its content is kept; contact requests and
    # cases from their creation. Ten seconds is allowed for trying it out; !set warns below a day.
    "retention": (10, 3650 * 86400),
    "contact_retention": (10, 3650 * 86400),
    "case_retention": (10, 3650 * 86400),
    # Appointments: how long before the start the client (e-mail) and adviser (Matrix) are
    # reminded.
    "appointment_reminder_client": (10, 30 * 86400),
    "appointment_reminder_adviser": (10, 30 * 86400),
}
# Settings a department may override (!set retention 90d huisarts).
SETTING_PER_DEPARTMENT: tuple[str, ...] = ("retention",)
# Whole-number settings and their range.
SETTING_COUNTS: dict[str, tuple[int, int]] = {
    "max_chats": (1, 50),
    "max_file_mb": (1, 100),
    "audit_years": (1, 50),  # how long the audit trail is kept (NEN 7513: years)
}
# On/off settings.
SETTING_FLAGS: tuple[str, ...] = ("typing_preview", "appointment_mail_auto")
# Text settings and their maximum length; an empty text means Laura's built-in text.
SETTING_TEXTS: dict[str, int] = {"welcome_message": 1000}
# A text setting is a template in the restricted language (templates.py) with these variables:
# none for the welcome message (the first thing a new chat shows, before any topic is chosen;
# the built-in welcome texts use none either). Filled in, it has at most SETTING_TEXT_OUTPUT
# characters.
SETTING_TEXT_VARIABLES: dict[str, frozenset[str]] = {"welcome_message": frozenset()}
SETTING_TEXT_OUTPUT = 4000
SETTING_KEYS = (*SETTING_RANGES, *SETTING_COUNTS, *SETTING_TEXTS, *SETTING_FLAGS)
# What visitors may send (checked by content), by the names the config uses.
FILE_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
}
_LOCALPART = re.compile(r"^[a-z0-9._=/+-]+$")
_DEPT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The widget's texts an organisation may word itself (widget.texts; Laura sends the widget all
# its texts, these with the organisation's wording: Config.widget_texts). Each one is plain text
# without {placeholders}.
WIDGET_TEXTS = (
    "launcher",
    "intro",
    "introSigned",
    "signIn",
    "offline",
    "offlineThanks",
    "waiting",
    "contactTitle",
    "ended",
    "rateTitle",
)


_ORIGIN = re.compile(
    r"^https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?/?$"
)


def _is_origin(value: Any) -> bool:
    """https://host[:port] (a trailing slash allowed), nothing else: it goes into headers."""
    return isinstance(value, str) and bool(_ORIGIN.match(value))


def contrast_with_white(color: str) -> float:
    """WCAG 2 contrast ratio of white on an #rrggbb colour (1 to 21); 1 for anything else."""
    if not isinstance(color, str) or not _COLOR.match(color):
        return 1.0

    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


class Config(BaseFileConfig):
    def __init__(self, path: str | Path) -> None:
        super().__init__(str(path), str(EXAMPLE))

    def do_update(self, helper: ConfigUpdateHelper) -> None:
        copy = helper.copy
        for key in (
            "homeserver.address",
            "homeserver.domain",
            "appservice.id",
            "appservice.hostname",
            "appservice.port",
            "appservice.address",
            "appservice.bot_localpart",
            "appservice.bot_displayname",
            "appservice.ghost_prefix",
            "appservice.as_token",
            "appservice.hs_token",
            "database.url",
            "database.args",
            "web.hostname",
            "widget.color",
            "widget.logo_url",
            "widget.position",
            "widget.texts",
            "web.port",
            "web.public_url",
            "web.allowed_origins",
            "web.max_body_size",
            "web.max_message_length",
            "web.max_poll_timeout",
            "web.max_stream_time",
            "web.widget_dir",
            "web.trusted_proxies",
            "web.max_waiting_per_address",
            "web.consent",
            "web.privacy_url",
            "web.portal_secret",
            "web.portal_required",
            "web.sound",
            "web.notifications",
            "web.admin_token",
            "laura.organization",
            "laura.admins",
            "laura.supervisors",
            "laura.departments",
            "laura.settings.dispatch_timeout",
            "laura.settings.queue_update_interval",
            "laura.settings.escalation_after",
            "laura.settings.offer_timeout",
            "laura.settings.inactivity_timeout",
            "laura.settings.inactivity_grace",
            "laura.settings.max_chats",
            "laura.settings.welcome_message",
            "laura.settings.max_file_mb",
            "laura.settings.typing_preview",
            "laura.settings.retention",
            "laura.settings.contact_retention",
            "laura.settings.case_retention",
            "laura.settings.audit_years",
            "laura.settings.appointment_mail_auto",
            "laura.settings.appointment_reminder_client",
            "laura.settings.appointment_reminder_adviser",
            "privacy.sweep_interval",
            "media.visitor_types",
            "video.jitsi_url",
            "video.jwt_app_id",
            "video.jwt_secret",
            "video.jwt_audience",
            "transcripts.fallback_fonts",
            "laura.timezone",
            "laura.staff_language",
            "laura.languages",
            "laura.case_categories",
            "logging.level",
            "logging.format",
        ):
            copy(key)
        for action, scopes in RATE_LIMIT_ACTIONS.items():
            for scope in scopes:
                copy(f"web.rate_limits.{action}.{scope}")
        update_texts(helper)
        update_appointments(helper)
        update_ops(helper)
        update_secret_files(helper)
        for key in ("appservice.as_token", "appservice.hs_token"):
            if helper.base[key] in ("generate", "", None):
                helper.base[key] = secrets.token_urlsafe(48)

    # Validation -------------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise ConfigError naming the first bad key and how to fix it."""

        def need(key: str, ok: bool, fix: str) -> None:
            if not ok:
                raise ConfigError(f"config key '{key}' is invalid ({self[key]!r}): {fix}")

        need(
            "homeserver.address",
            str(self["homeserver.address"]).startswith(("http://", "https://")),
            "use the homeserver's URL, like http://127.0.0.1:8008",
        )
        need(
            "homeserver.domain",
            bool(self["homeserver.domain"]) and " " not in str(self["homeserver.domain"]),
            "use the server_name, like example.org",
        )
        need(
            "appservice.id",
            bool(self["appservice.id"]) and "|" not in str(self["appservice.id"]),
            "use a short name without '|', like laura",
        )
        for key in ("appservice.port", "web.port"):
            need(
                key,
                isinstance(self[key], int) and 0 < self[key] < 65536,
                "use a port number between 1 and 65535",
            )
        for key in ("appservice.bot_localpart", "appservice.ghost_prefix"):
            need(
                key,
                bool(_LOCALPART.match(str(self[key] or ""))),
                "use lowercase letters, digits and . _ = - / + only",
            )
        for key in ("appservice.as_token", "appservice.hs_token"):
            need(
                key,
                isinstance(self[key], str) and len(self[key]) >= 16,
                "set it to 'generate' to have Laura make a random token",
            )
        url = str(self["database.url"] or "")
        need(
            "database.url",
            url.startswith(("sqlite:", "postgres://", "postgresql://")),
            "use sqlite:laura.db or postgres://user:password@host/dbname",
        )
        need("database.args", isinstance(self["database.args"], dict), "use a mapping, like {}")
        origins = self["web.allowed_origins"]
        need(
            "web.allowed_origins",
            isinstance(origins, list) and all(_is_origin(o) for o in origins),
            "use a list of origins (scheme, host and port only, no path), like "
            "[https://www.example.org]",
        )
        for key in (
            "web.max_body_size",
            "web.max_message_length",
            "web.max_poll_timeout",
        ):
            need(key, isinstance(self[key], int) and self[key] > 0, "use a positive whole number")
        need(
            "web.max_stream_time",
            isinstance(self["web.max_stream_time"], int | float)
            and not isinstance(self["web.max_stream_time"], bool)
            and 0 < self["web.max_stream_time"] < 1e9,
            "use a positive number of seconds",
        )
        self._validate_web_abuse(need)
        self._validate_widget(need)
        admins = self["laura.admins"]
        need(
            "laura.admins",
            isinstance(admins, list)
            and all(isinstance(a, str) and a.startswith("@") and ":" in a for a in admins),
            "use a list of Matrix user IDs, like ['@admin:example.org']",
        )
        supervisors = self["laura.supervisors"]
        need(
            "laura.supervisors",
            isinstance(supervisors, list)
            and all(isinstance(a, str) and a.startswith("@") and ":" in a for a in supervisors),
            "use a list of Matrix user IDs, like ['@teamleider:example.org'], or []",
        )
        departments = self["laura.departments"]
        need(
            "laura.departments",
            isinstance(departments, list),
            "use a list of {id, label, staff} entries",
        )
        for i, dept in enumerate(departments):
            key = f"laura.departments[{i}]"
            if not isinstance(dept, dict) or not _DEPT_ID.match(str(dept.get("id", ""))):
                raise ConfigError(
                    f"config key '{key}.id' is invalid: use lowercase letters, "
                    "digits, - and _ (at most 32), like huisarts"
                )
            if not isinstance(dept.get("label"), str) or not dept["label"].strip():
                raise ConfigError(f"config key '{key}.label' is missing: give the topic's label")
            staff = dept.get("staff") or []
            if not isinstance(staff, list) or not all(
                isinstance(s, str) and s.startswith("@") for s in staff
            ):
                raise ConfigError(
                    f"config key '{key}.staff' is invalid: use a list of Matrix user IDs"
                )
        for name, (low, high) in SETTING_RANGES.items():
            key = f"laura.settings.{name}"
            try:
                seconds = parse_duration(self[key])
            except ValueError:
                seconds = -1.0
            if not low <= seconds <= high:
                raise ConfigError(
                    f"config key '{key}' is invalid ({self[key]!r}): write a duration "
                    f"between {format_duration(low)} and {format_duration(high)}, like 5m"
                )
        for name, (low_n, high_n) in SETTING_COUNTS.items():
            key = f"laura.settings.{name}"
            value = self[key]
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not low_n <= value <= high_n
            ):
                raise ConfigError(
                    f"config key '{key}' is invalid ({value!r}): write a whole number between "
                    f"{low_n} and {high_n}"
                )
        for name, length in SETTING_TEXTS.items():
            key = f"laura.settings.{name}"
            value = self[key]
            if value is not None and (not isinstance(value, str) or len(value) > length):
                raise ConfigError(
                    f"config key '{key}' is invalid: write a text of at most {length} "
                    "characters, or leave it empty for Laura's own text"
                )
            allowed = SETTING_TEXT_VARIABLES[name]
            try:
                safe_render(value or "", dict.fromkeys(allowed, ""), SETTING_TEXT_OUTPUT)
            except TemplateRefused as e:
                fix = template_fix(e, allowed)
                raise ConfigError(f"config key '{key}' is invalid: {fix}") from None
        for name in SETTING_FLAGS:
            key = f"laura.settings.{name}"
            need(key, isinstance(self[key], bool), "write true or false")
        self._validate_media(need)
        validate_texts(self["texts"], need)
        validate_appointments(self, need)
        validate_ops(self, need)
        need("web.consent", isinstance(self["web.consent"], bool), "write true or false")
        need("logging.format", self["logging.format"] in FORMATS, "write text or json")
        privacy_url = self["web.privacy_url"]
        need(
            "web.privacy_url",
            privacy_url in ("", None)
            or (isinstance(privacy_url, str) and privacy_url.startswith(("https://", "http://"))),
            "use the web address of your privacy statement (https://...), or leave it empty",
        )
        for key in ("web.sound", "web.notifications"):
            need(key, isinstance(self[key], bool), "write true or false")
        secret = self["web.portal_secret"]
        need(
            "web.portal_secret",
            secret in ("", None) or (isinstance(secret, str) and len(secret) >= 32),
            "use a random text of at least 32 characters (openssl rand -hex 32), or leave it "
            "empty to turn portal mode off",
        )
        token = self["web.admin_token"]
        need(
            "web.admin_token",
            token in ("", None) or (isinstance(token, str) and len(token) >= 32),
            "use a random text of at least 32 characters (openssl rand -hex 32), or leave it "
            "empty to turn the admin API off",
        )
        need(
            "web.portal_required",
            isinstance(self["web.portal_required"], bool)
            and not (self["web.portal_required"] and not secret),
            "write true or false; true needs web.portal_secret",
        )
        try:
            sweep = parse_duration(self["privacy.sweep_interval"])
        except ValueError:
            sweep = -1.0
        need(
            "privacy.sweep_interval", 1 <= sweep <= 3600, "write a duration from 1s to 1h, like 1m"
        )
        try:
            ZoneInfo(str(self["laura.timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"config key 'laura.timezone' is invalid ({self['laura.timezone']!r}): use an "
                "IANA time zone name, like Europe/Amsterdam"
            ) from None
        need(
            "laura.staff_language",
            self["laura.staff_language"] in available_languages(),
            f"use one of the languages Laura has texts in: {languages()}",
        )
        langs = self["laura.languages"]
        need(
            "laura.languages",
            isinstance(langs, list)
            and bool(langs)
            and all(lang in available_languages() for lang in langs)
            and len(set(langs)) == len(langs),
            f"use a list of the languages Laura has texts in ({languages()}), each once, like "
            "[nl, en]",
        )
        categories = self["laura.case_categories"]
        need(
            "laura.case_categories",
            isinstance(categories, list)
            and bool(categories)
            and all(
                isinstance(c, str) and c == c.strip() and 1 <= len(c) <= 40 and "|" not in c
                for c in categories
            ),
            "use a list of category names of 1 to 40 characters without '|', like "
            "[Medisch, Overig]",
        )

    def _validate_media(self, need: Callable[[str, bool, str], None]) -> None:
        """media.*, video.* and transcripts.*."""
        types = self["media.visitor_types"]
        need(
            "media.visitor_types",
            isinstance(types, list) and all(t in FILE_TYPES for t in types),
            f"use a list of {', '.join(FILE_TYPES)} (or [] to accept no files from visitors)",
        )
        url = str(self["video.jitsi_url"] or "")
        need(
            "video.jitsi_url",
            not url or (url.startswith(("https://", "http://")) and " " not in url),
            "use the address of your Jitsi Meet server, like https://meet.example.org, or '' "
            "to turn video calls off",
        )
        for key in ("video.jwt_app_id", "video.jwt_secret", "video.jwt_audience"):
            need(key, isinstance(self[key] or "", str), "use a text, or '' for none")
        need(
            "video.jwt_secret",
            not self["video.jwt_app_id"] or len(str(self["video.jwt_secret"] or "")) >= 32,
            "with jwt_app_id set, give the shared secret of the Jitsi server (32 characters "
            "or more: HS256 needs a key of 256 bits)",
        )
        fonts = self["transcripts.fallback_fonts"]
        need(
            "transcripts.fallback_fonts",
            isinstance(fonts, list)
            and all(isinstance(f, str) and Path(f).is_file() for f in fonts),
            "use a list of paths to TTF/OTF font files that exist, or []",
        )

    def _validate_widget(self, need: Callable[[str, bool, str], None]) -> None:
        color = self["widget.color"]
        need(
            "widget.color",
            isinstance(color, str) and bool(_COLOR.match(color)),
            'use a colour like "#0f5c8c" (in quotes: # starts a comment in YAML)',
        )
        ratio = contrast_with_white(color)
        need(
            "widget.color",
            ratio >= 4.5,
            f"white text on it has a contrast of {ratio:.1f}:1, below the 4.5:1 visitors need "
            "to read it (WCAG AA): choose a darker colour",
        )
        logo = self["widget.logo_url"]
        need(
            "widget.logo_url",
            logo in ("", None)
            or isinstance(logo, str)
            and (logo.startswith(("https://", "http://")) or logo.startswith("/"))
            and not any(c in logo for c in " \"'<>"),
            'use an https address or a path on this server (like /widget/logo.svg), or ""',
        )
        need("widget.position", self["widget.position"] in ("right", "left"), "use right or left")
        texts = self["widget.texts"] or {}
        need("widget.texts", isinstance(texts, dict), "use a mapping per language, or {}")
        for lang, own in texts.items():
            key = f"widget.texts.{lang}"
            need(key, lang in self["laura.languages"], "use one of laura.languages")
            need(key, isinstance(own, dict), "use a mapping of text names to texts")
            for name, text in own.items():
                need(
                    f"{key}.{name}",
                    name in WIDGET_TEXTS,
                    f"these texts can be replaced: {', '.join(WIDGET_TEXTS)}",
                )
                need(
                    f"{key}.{name}",
                    isinstance(text, str) and 0 < len(text.strip()) <= 300,
                    "use a text of at most 300 characters",
                )

    def _validate_web_abuse(self, need: Callable[[str, bool, str], None]) -> None:
        """web.trusted_proxies, web.rate_limits.* and web.max_waiting_per_address."""
        cap = self["web.max_waiting_per_address"]
        need(
            "web.max_waiting_per_address",
            isinstance(cap, int) and not isinstance(cap, bool) and cap >= 0,
            "use a whole number, like 5 (0 turns the cap off)",
        )
        proxies = self["web.trusted_proxies"]
        try:
            ok = isinstance(proxies, list) and parse_networks(proxies) is not None
        except ValueError:
            ok = False
        need(
            "web.trusted_proxies",
            ok,
            "use a list of IP addresses or CIDR ranges of your reverse proxies, like "
            "[127.0.0.1, 10.0.0.0/8], or [] when Laura is reached directly",
        )
        for action, scopes in RATE_LIMIT_ACTIONS.items():
            for scope in scopes:
                key = f"web.rate_limits.{action}.{scope}"
                try:
                    parse_limit(self[key])
                except ValueError:
                    need(
                        key,
                        False,
                        "write a limit like 30/minute or 20/10 minutes (several: "
                        "'10/minute; 100/day'), or '' for no limit",
                    )

    # Typed helpers ----------------------------------------------------------------------------

    @property
    def bot_mxid(self) -> str:
        return f"@{self['appservice.bot_localpart']}:{self['homeserver.domain']}"

    def ghost_mxid(self, localpart_id: str) -> str:
        return f"@{self['appservice.ghost_prefix']}_{localpart_id}:{self['homeserver.domain']}"

    def is_own_user(self, mxid: str) -> bool:
        return mxid == self.bot_mxid or mxid.startswith(f"@{self['appservice.ghost_prefix']}_")

    @property
    def visitor_file_types(self) -> set[str]:
        return {FILE_TYPES[t] for t in self["media.visitor_types"] or []}

    def text(self, lang: str, name: str) -> str:
        """A visitor text: the organisation's own (texts.<lang>.<name>), else Laura's in that
        language, else Laura's in the default language."""
        texts = self["texts"] or {}
        value = (texts.get(lang) or {}).get(name)
        if value is None:
            value = text_in(VISITOR, lang, name)
        return str(name if value is None else value)

    def widget_texts(self, lang: str) -> dict[str, str]:
        """The widget's texts in a language: Laura's, with the organisation's wording
        (widget.texts.<lang>.<name>) over them."""
        own = (self["widget.texts"] or {}).get(lang) or {}
        return {**widget_texts(lang), **{str(k): str(v) for k, v in own.items()}}

    def generate_registration(self) -> dict[str, Any]:
        domain = re.escape(self["homeserver.domain"])
        prefix = re.escape(self["appservice.ghost_prefix"])
        return {
            "id": self["appservice.id"],
            "url": self["appservice.address"],
            "as_token": self["appservice.as_token"],
            "hs_token": self["appservice.hs_token"],
            "sender_localpart": self["appservice.bot_localpart"],
            "rate_limited": False,
            "receive_ephemeral": True,
            "de.sorunome.msc2409.push_ephemeral": True,
            "namespaces": {
                "users": [{"exclusive": True, "regex": f"@{prefix}_[a-z0-9]+:{domain}"}],
                "aliases": [],
                "rooms": [],
            },
        }
