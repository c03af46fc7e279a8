"""Every migration, in order: importing this module registers them all in upgrade_table."""

from . import (  # noqa: F401  (they register themselves)
    v01_initial,
    v02_robustness,
    v03_command_runs,
    v04_escalation,
    v05_routing,
    v06_queue_index,
    v07_media,
    v08_toolkit,
    v09_privacy,
    v10_session_index,
    v11_portal,
    v12_dispatch_txn_index,
    v13_closing_notice,
    v14_appointments,
    v15_webhooks,
    v16_reports,
)
from .table import upgrade_table

__all__ = ["upgrade_table"]
