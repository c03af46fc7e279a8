"""The widget's weight budget (issue #10): what a visitor's browser downloads, gzipped."""

from __future__ import annotations

import gzip
from pathlib import Path

WIDGET = Path(__file__).parents[1] / "widget"


def test_the_chat_stays_within_40_kb_gzipped() -> None:
    sizes = {
        name: len(gzip.compress((WIDGET / name).read_bytes(), compresslevel=9))
        for name in ("laura-widget.js", "laura-widget.css")
    }
    assert sum(sizes.values()) <= 40 * 1024, sizes


def test_the_launcher_on_the_site_stays_within_5_kb_gzipped() -> None:
    size = len(gzip.compress((WIDGET / "laura.js").read_bytes(), compresslevel=9))
    assert size <= 5 * 1024, size


def test_the_team_dashboard_stays_within_20_kb_gzipped() -> None:
    """The dashboard widget (#26): plain JS and CSS, no framework; 20 KB is what a framework's
    runtime alone would weigh."""
    sizes = {
        name: len(gzip.compress((WIDGET / "dashboard" / name).read_bytes(), compresslevel=9))
        for name in ("dashboard.js", "dashboard.css", "index.html")
    }
    assert sum(sizes.values()) <= 20 * 1024, sizes
