"""Monitoring (S15): `!monitor <chat>` in the control room."""

from __future__ import annotations
