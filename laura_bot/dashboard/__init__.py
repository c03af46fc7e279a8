"""The team's dashboard inside Element: a room widget with the live queue, who is available,
today's appointments and the last weeks in charts (auth.py: who is looking; view.py: what
they see and do; room.py: the widget in the rooms)."""
