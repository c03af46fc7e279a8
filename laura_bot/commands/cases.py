"""Cases (S14) and unclosed chats (S16): `!case`, `!cases`, `!open`."""

from __future__ import annotations
