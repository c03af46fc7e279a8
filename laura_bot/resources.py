"""What Laura serves and reads from its own package: the widget, fonts, templates, catalogues.

Found through importlib.resources, so an installed wheel works outside the checkout (the
widget in the checkout is `widget/`, which `laura_bot/widget` links to; the wheel carries a
copy). Laura is installed as files, not as a zip: these are real paths.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource(*parts: str) -> Path:
    """The path of a file or folder in the laura_bot package."""
    return Path(str(files("laura_bot").joinpath(*parts)))
