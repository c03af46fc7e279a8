"""The admin API: what admins get in the control room, for the organisation's own systems.

`GET /api/v1/admin/report?from=YYYY-MM-DD&to=YYYY-MM-DD[&department=<id>]`: the figures of
`!rapport` as JSON (reports.py says what they count). Only for a request whose bearer token is
web.admin_token, compared in constant time; with no token configured the admin API is off and
answers 404, as an address that does not exist does. The token is never logged.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from ..db.reports import ReportStore
from ..errors import BadRequest, ErrorCode, Unauthorized
from ..reports import ReportError, Reports, parse_range

if TYPE_CHECKING:
    from ..config import Config
    from ..db import Store

log = logging.getLogger(__name__)

# What a ReportError says, for a program's user (the staff texts are for the control room).
_PERIOD_MESSAGES = {
    "report_bad_period": "from and to must both be dates like 2026-11-03 (between 1970 and 9998).",
    "report_reversed": "from ({first}) is after to ({last}).",
    "report_too_long": "A report covers at most {days} days.",
}


@dataclass
class AdminApi:
    token: str  # web.admin_token; "": the admin API is off
    reports: Reports | None  # None: built without a database (the API document's test)


ADMIN_KEY = web.AppKey("admin_api", AdminApi)


def _authorise(request: web.Request, token: str) -> None:
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("Missing bearer token.", code=ErrorCode.MISSING_TOKEN)
    if not hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), token.encode("utf-8", "replace")
    ):
        raise Unauthorized("Invalid token.", code=ErrorCode.INVALID_TOKEN)


async def get_report(request: web.Request) -> web.Response:
    admin = request.app[ADMIN_KEY]
    if not admin.token or admin.reports is None:
        raise web.HTTPNotFound()
    _authorise(request, admin.token)
    try:
        period = parse_range(request.query.get("from", ""), request.query.get("to", ""))
    except ReportError as e:
        message = _PERIOD_MESSAGES[e.text_id].format(**e.values)
        raise BadRequest(message, code=ErrorCode.BAD_PERIOD) from None
    department = None
    if wanted := request.query.get("department", ""):
        department = await admin.reports.department(wanted)
        if department is None:
            raise BadRequest(
                "There is no department with that id.", code=ErrorCode.UNKNOWN_DEPARTMENT
            )
    report = await admin.reports.report(period, department)
    log.info(
        "Admin API: report %s to %s (%s)",
        period.first,
        period.last,
        department.id if department else "all",
    )
    return web.json_response(report.as_json())


def add_admin_routes(app: web.Application, config: Config, store: Store | None) -> None:
    """The routes are always there (the API document lists them); they answer only with a
    token configured."""
    token = str(config["web.admin_token"] or "")
    reports = None
    if store is not None:
        reports = Reports(ReportStore(store.db), str(config["laura.timezone"]))
    app[ADMIN_KEY] = AdminApi(token, reports)
    app.router.add_get("/api/v1/admin/report", get_report)
