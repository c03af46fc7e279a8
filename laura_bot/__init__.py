"""Laura: live-chat triage for care organisations, native on Matrix."""

__version__ = "0.1.0"
