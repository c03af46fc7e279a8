"""Append-only schema migrations; never edit a released one.

Each vNN_*.py registers itself in `upgrade_table` (table.py) when it is imported; migrations.py
imports them all, in order (so the package itself imports none of them: no import cycle)."""

from .table import upgrade_table

__all__ = ["upgrade_table"]
