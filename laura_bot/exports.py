"""Transcripts (S7): a conversation as a PDF, alone or with its files in a zip.

The transcript is built from what Laura stored (the visitor's event stream and the files), in
the organisation's time zone, the same for staff (!pdf) and for the visitor (the widget).
"""

from __future__ import annotations

import asyncio
import json
from functools import partial

from .config import Config
from .db import Store
from .db.conversations import Conversation
from .texts import available_languages, staff_text
from .transcript import LABEL_KEYS, Line, TranscriptInfo, bundle, render_pdf, safe_file_name


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{max(1, round(n / 1024))} kB"


class Transcripts:
    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        # One transcript is laid out at a time: fpdf2 is pure Python and holds the GIL, so
        # several at once would slow every chat down, not finish sooner.
        self._rendering = asyncio.Semaphore(1)

    def _t(self, lang: str, text_id: str, **values: str) -> str:
        return staff_text(
            lang if lang in available_languages() else self.config["laura.staff_language"],
            text_id,
            **values,
        )

    async def _content(self, conv: Conversation, lang: str) -> tuple[TranscriptInfo, list[Line]]:
        session = await self.store.sessions.get_by_id(conv.session_id)
        assert session is not None
        dept = await self.store.departments.get_by_id(conv.department_id or "")
        lines: list[Line] = []
        for ev in await self.store.events.of_conversation(conv.id):
            data = json.loads(ev.data) if ev.data else {}
            if ev.type == "message" and "attachment" in data:
                att = data["attachment"]
                text = f"{att.get('name', '?')} ({_size(int(att.get('size') or 0))})"
                lines.append(Line(ev.ts, "file", ev.sender or "bot", ev.name or "", text))
            elif ev.type == "message":
                kind = "system" if ev.sender == "bot" else "message"
                lines.append(Line(ev.ts, kind, ev.sender or "bot", ev.name or "", ev.body or ""))
            elif ev.type == "video":
                started = data.get("video") == "started"
                text = self._t(
                    lang,
                    "pdf_video_started" if started else "pdf_video_ended",
                    name=str(data.get("name") or ""),
                )
                lines.append(Line(ev.ts, "system", "bot", "Laura", text))
        visitor = self._t(lang, "pdf_role_visitor")
        staff_role = self._t(lang, "pdf_role_staff")
        participants = [f"{session.nickname} ({visitor})"] + [
            f"{name} ({staff_role})" for name in await self.store.staff.ever_joined(conv.id)
        ]
        info = TranscriptInfo(
            organization=str(self.config["laura.organization"]),
            topic=dept.label if dept else (conv.department_id or "-"),
            conversation_id=conv.id,
            participants=participants,
            started_at=conv.created_at,
            ended_at=conv.ended_at,
            timezone=str(self.config["laura.timezone"]),
            labels={key: self._t(lang, f"pdf_{key}") for key in LABEL_KEYS},
        )
        return info, lines

    async def pdf(self, conv: Conversation, lang: str) -> bytes:
        info, lines = await self._content(conv, lang)
        fonts = list(self.config["transcripts.fallback_fonts"] or [])
        # Laying out thousands of lines takes a while: not on the event loop.
        async with self._rendering:
            return await asyncio.get_running_loop().run_in_executor(
                None, partial(render_pdf, info, lines, fonts)
            )

    def file_name(self, conv: Conversation, lang: str, ext: str) -> str:
        return safe_file_name(f"{self._t(lang, 'pdf_file_name')}-{conv.id[:8]}.{ext}")

    async def with_files(self, conv: Conversation, lang: str) -> bytes:
        """The PDF and every file exchanged in the chat, each as it was stored, in one zip."""
        pdf = await self.pdf(conv, lang)
        files = []
        for att in await self.store.attachments.of_conversation(conv.id):
            data = await self.store.attachments.data(att.id)
            if data is not None:
                files.append((att.name, data))
        return await asyncio.get_running_loop().run_in_executor(
            None, partial(bundle, self.file_name(conv, lang, "pdf"), pdf, files)
        )
