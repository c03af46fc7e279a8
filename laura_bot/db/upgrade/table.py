"""The table of Laura's schema migrations; each vNN_*.py module registers itself in it."""

from mautrix.util.async_db import UpgradeTable

upgrade_table = UpgradeTable(version_table_name="laura_version", database_name="Laura")
