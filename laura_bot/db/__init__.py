"""Storage: one module per table, SQL lives only here. Works on SQLite and PostgreSQL."""

from __future__ import annotations

from mautrix.util.async_db import Database

from .answers import DispatchAnswerStore
from .appointments import AppointmentStore
from .attachments import AttachmentStore
from .audit import AuditStore
from .canned import CannedStore
from .cases import CaseStore
from .closed_days import ClosedDayStore
from .commands import CommandStore
from .contact_requests import ContactRequestStore
from .conversations import ConversationStore
from .departments import DepartmentStore
from .erasure import ErasureStore
from .events import EventStore
from .inbox import InboxStore
from .monitors import MonitorStore
from .offers import DispatchOfferStore
from .outbound import OutboundStore
from .privacy import PrivacyStore
from .sends import SendStore
from .sessions import SessionStore
from .settings import SettingStore
from .staff import ConversationStaffStore
from .staff_members import StaffMemberStore
from .upgrade.migrations import upgrade_table


class Store:
    """All table stores over one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sessions = SessionStore(db)
        self.conversations = ConversationStore(db)
        self.events = EventStore(db)
        self.departments = DepartmentStore(db)
        self.settings = SettingStore(db)
        self.inbox = InboxStore(db)
        self.sends = SendStore(db)
        self.commands = CommandStore(db)
        self.contact_requests = ContactRequestStore(db)
        self.answers = DispatchAnswerStore(db)
        self.staff = ConversationStaffStore(db)
        self.staff_members = StaffMemberStore(db)
        self.offers = DispatchOfferStore(db)
        self.closed_days = ClosedDayStore(db)
        self.attachments = AttachmentStore(db)
        self.canned = CannedStore(db)
        self.cases = CaseStore(db)
        self.appointments = AppointmentStore(db)
        self.audit = AuditStore(db)
        self.monitors = MonitorStore(db)
        self.erasure = ErasureStore(db)
        self.privacy = PrivacyStore(db)
        self.outbound = OutboundStore(db)


def create_database(url: str, args: dict | None = None) -> Database:
    db_args = dict(args or {})
    if url.startswith("sqlite"):
        # Deleted content is overwritten with zeros, not left in free pages of the file
        # (retention must really delete). mautrix adds its own pragmas to these.
        db_args["init_commands"] = [
            *db_args.get("init_commands", []),
            "PRAGMA secure_delete = ON",
        ]
    return Database.create(url, upgrade_table=upgrade_table, db_args=db_args, owner_name="laura")


__all__ = ["Store", "create_database", "upgrade_table"]
