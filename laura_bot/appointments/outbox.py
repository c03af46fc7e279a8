"""Sending the outbox: mails written in the transaction of the change they report go out
from here, one at a time, each marked sent as soon as the server took it.

A mail the server refuses for good (5xx) or that failed `mail.max_attempts` times is given up
and shown to admins (a notice in the control room; `!mails` lists them, `!mails retry <nr>`
tries again). Temporary failures are tried again after 1 minute, doubling up to an hour. A
crash between the server's "taken" and the mark would send that one mail again on restart,
with the same Message-ID and calendar SEQUENCE, which mail and calendar programs take as the
same mail; no other path sends a mail twice.
"""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..db.appointments import OutboxMail
from ..db.base import checkpoint
from ..mail.smtp import SendFailed, SmtpSettings, send
from ..scheduler import Clock
from ..tasks import KeyedRunner
from ..util import now_ms

if TYPE_CHECKING:
    from ..config import Config
    from ..db import Store

log = logging.getLogger(__name__)

FIRST_RETRY = 60_000
LAST_RETRY = 3_600_000
KEY = "outbox"


class Outbox:
    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock,
        after: Callable[[OutboxMail], Awaitable[None]],
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.after = after  # a mail was sent or given up: its line in the thread, admins told
        self.runner = KeyedRunner("mail outbox", self._pass)

    def kick(self) -> None:
        self.runner.kick(KEY)

    @property
    def settings(self) -> SmtpSettings:
        c = self.config
        return SmtpSettings(
            host=str(c["mail.host"]),
            port=int(c["mail.port"]),
            username=str(c["mail.username"] or "") or None,
            password=str(c["mail.password"] or "") or None,
            security=str(c["mail.security"]),
        )

    async def _pass(self, _key: str) -> None:
        if not self.config["mail.host"]:
            return
        for mail in await self.store.appointments.due_mails(now_ms()):
            await self._send(mail)
        logged = await self.store.appointments.mails_to_log()
        for mail in logged:
            await self.after(mail)
            await self.store.appointments.mail_logged(mail)
        if logged:
            await checkpoint(self.store.db)  # sent mails were deleted: none stays in the WAL
        next_at = await self.store.appointments.next_mail_at()
        if next_at is not None:
            self.clock.at("mail-outbox", next_at, self._wake)

    async def _wake(self) -> None:
        self.kick()

    async def _send(self, mail: OutboxMail) -> None:
        msg = email.message_from_string(mail.message, policy=email.policy.default)
        attempts = mail.attempts + 1
        try:
            await send(
                self.settings,
                msg,
                sender=str(self.config["mail.from"]),
                recipients=[mail.recipient],
            )
        except SendFailed as e:
            give_up = e.permanent or attempts >= int(self.config["mail.max_attempts"])
            delay = min(FIRST_RETRY * 2 ** (attempts - 1), LAST_RETRY)
            await self.store.appointments.mail_failed(
                mail.id, str(e), None if give_up else now_ms() + delay, attempts
            )
            log.warning(
                "Mail %s (%s) failed, try %d%s: %s",
                mail.id,
                mail.kind,
                attempts,
                ", given up" if give_up else "",
                e,
            )
            return
        await self.store.appointments.mail_sent(mail.id)
        log.info("Mail %s (%s) sent", mail.id, mail.kind)

    async def close(self) -> None:
        await self.runner.close()
