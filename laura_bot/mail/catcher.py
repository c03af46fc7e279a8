"""A mail server that keeps what it gets: for `laura dev` (so appointment mails can be opened
as .eml files) and for tests (so they can read what Laura sent, over real SMTP).

aiosmtpd's Controller runs its server on a thread of its own with its own event loop. This one
runs on the caller's loop instead (loop.create_server with aiosmtpd's SMTP protocol), so it
starts and stops inside pytest-asyncio and inside Laura's own loop, and its messages can be
awaited without crossing threads. It accepts anything from anyone: bind it to localhost only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import pathlib
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)


class MailCatcher:
    def __init__(
        self, folder: pathlib.Path | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.folder = folder
        self.host = host
        self.port = port  # the real port once started, when 0 asked for a free one
        self.messages: list[EmailMessage] = []  # parsed with email.policy.default, in order
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TO) per message
        self._server: asyncio.Server | None = None
        self._arrived = asyncio.Condition()

    async def start(self) -> None:
        if self._server is not None:
            return
        if self.folder is not None:
            await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="laura-mail-catcher", loop=loop), self.host, self.port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("Mail catcher listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    async def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """All messages so far, once there are at least count; TimeoutError otherwise."""
        async with self._arrived:
            try:
                async with asyncio.timeout(timeout):
                    await self._arrived.wait_for(lambda: len(self.messages) >= count)
            except TimeoutError:
                raise TimeoutError(
                    f"{len(self.messages)} of {count} mails arrived within {timeout:g}s"
                ) from None
            return list(self.messages)

    async def __aenter__(self) -> MailCatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # aiosmtpd's handler hook: called for each message it has taken in.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.content
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        message = BytesParser(policy=default).parsebytes(data)
        assert isinstance(message, EmailMessage)
        async with self._arrived:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
            number = len(self.messages)
            self._arrived.notify_all()
        if self.folder is not None:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
            path = self.folder / f"{stamp}-{number}.eml"
            await asyncio.to_thread(path.write_bytes, data)
            log.info("Mail %s kept as %s", number, path.name)
        return "250 Message accepted for delivery"
