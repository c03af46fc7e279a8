"""What the metrics read from the database when Prometheus asks: queues and backlogs, counted
(never a row's content)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Store


@dataclass
class Backlogs:
    inbox: int = 0
    inbox_oldest: int | None = None  # ms
    dead_letters: int = 0
    matrix_outbox: int = 0
    matrix_outbox_oldest: int | None = None
    erasure: int = 0
    mail: int = 0
    webhooks: int = 0
    by_department: dict[tuple[str, str], int] = field(default_factory=dict)


async def read_backlogs(store: Store) -> Backlogs:
    """The counts the stores keep for their own commands (!deadletters, !webhooks, the
    erasure's notice) come from them; the rest is read here."""
    db = store.db
    b = Backlogs()
    row = await db.fetchrow(
        "SELECT COUNT(*) AS n, MIN(received_at) AS oldest FROM inbox "
        "WHERE handled_at IS NULL AND dead_at IS NULL"
    )
    assert row is not None
    b.inbox, b.inbox_oldest = int(row["n"]), row["oldest"]
    b.dead_letters = await store.inbox.count_dead()
    row = await db.fetchrow(
        "SELECT COUNT(*) AS n, MIN(ts) AS oldest FROM event WHERE mx_state='pending'"
    )
    assert row is not None
    b.matrix_outbox, b.matrix_outbox_oldest = int(row["n"]), row["oldest"]
    b.erasure = await store.erasure.count_pending()
    b.mail = int(
        await db.fetchval(
            "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL"
        )
    )
    b.webhooks = await store.outbound.backlog()
    rows = await db.fetch(
        "SELECT department_id, status, COUNT(*) AS n FROM conversation "
        "WHERE status IN ('waiting','connected') AND department_id IS NOT NULL "
        "GROUP BY department_id, status"
    )
    b.by_department = {(r["department_id"], r["status"]): int(r["n"]) for r in rows}
    return b
