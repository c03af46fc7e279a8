"""Append-only schema migrations; never edit a released one."""

from mautrix.util.async_db import UpgradeTable

upgrade_table = UpgradeTable(version_table_name="laura_version", database_name="Laura")

from . import (  # noqa: E402,F401  (register themselves)
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
)
