"""Canned responses (S4): `#`, `#<name>`, `!canned add|remove|save`."""

from __future__ import annotations
