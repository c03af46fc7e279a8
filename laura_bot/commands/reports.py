"""`!rapport` (`!report`): the organisation's figures over a period, in the control room.

The answer is a short summary; the figures per department and day and per staff member come
as a CSV file in the same room (reports.py says what is counted, and from what)."""

from __future__ import annotations

import logging

from ..db.reports import ReportStore
from ..reports import Report, ReportError, Reports, clock, parse_period
from ..transcript import safe_file_name
from .base import CONTROL, Context, registry

log = logging.getLogger(__name__)


@registry.register("rapport", (CONTROL,), admin=True, aliases=("report",))
async def cmd_rapport(ctx: Context) -> str:
    """!rapport [week|month|today|<yyyy-mm>|<date> [<date>]] [<department>]."""
    t = ctx.bridge.t
    reports = Reports(ReportStore(ctx.store.db), ctx.config["laura.timezone"])
    try:
        period, rest = parse_period(ctx.args, reports.today())
    except ReportError as e:
        return t(e.text_id, **e.values) + " " + t("report_usage")
    department = None
    if rest:
        department = await reports.department(" ".join(rest))
        if department is None:
            return t("department_unknown", id=" ".join(rest)[:40]) + " " + t("report_usage")
    report = await reports.report(period, department)
    first, last = period.first.isoformat(), period.last.isoformat()
    span = first if first == last else f"{first}-{last}"
    suffix = f"-{department.id}" if department else ""
    name = safe_file_name(f"{t('report_file_name')}-{span}{suffix}.csv")
    data = report.as_csv().encode("utf-8-sig")  # with a BOM: spreadsheets then read UTF-8
    await ctx.bridge.sender.send_file(
        ctx.room_id, data, "text/csv", name, f"laura.report.{ctx.event_id}", purpose="reports"
    )
    log.info("Report %s to %s (%s) for %s", first, last, suffix[1:] or "all", ctx.sender)
    return summary(ctx, report, name)


def summary(ctx: Context, report: Report, name: str) -> str:
    t = ctx.bridge.t
    figures = report.total.as_dict()
    average = figures["rating_average"]
    return t(
        "report_summary",
        first=report.period.first.isoformat(),
        last=report.period.last.isoformat(),
        where=report.department.label if report.department else t("report_all_departments"),
        started=figures["started"],
        taken=figures["taken"],
        missed=report.total.missed,
        timeout=figures["missed_timeout"],
        declined=figures["missed_declined"],
        abandoned=figures["abandoned"],
        contact=figures["contact_requests"],
        take_median=clock(figures["take_median_s"]),
        take_p90=clock(figures["take_p90_s"]),
        duration=clock(figures["duration_median_s"]),
        ratings=figures["ratings"],
        average="–" if average is None else f"{average:.1f}",
        name=name,
    )
