"""Reports (#25, point 5): `!rapport` in the control room with a CSV file, and the same figures
from the admin API, counted from what retention keeps of each chat.

The computation (periods, percentiles, what counts as what) is pure and tested without a
database; the store, the department lookup and the admin API run on SQLite and PostgreSQL; one
test runs chats through the real Synapse, deletes one by retention's own path, and reads the
CSV Laura puts in the control room."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from laura_bot.db import Store
from laura_bot.db.base import transaction
from laura_bot.db.reports import ChatFacts, DepartmentName, ReportStore
from laura_bot.reports import (
    DAY_COLUMNS,
    Period,
    ReportError,
    Reports,
    build_report,
    clock,
    parse_period,
    parse_range,
    percentile,
)
from laura_bot.web.auth import Authenticator
from laura_bot.web.server import build_app
from tests.conftest import Team
from tests.helpers import is_msg, reply_to
from tests.test_config import load

AMS = ZoneInfo("Europe/Amsterdam")
TODAY = dt.date(2026, 11, 18)
D = dt.date
HUISARTS = DepartmentName("huisarts", "Huisartsenpraktijk", True)
THUISZORG = DepartmentName("thuiszorg", "Thuiszorg", True)
TOKEN = "rapport-token-0123456789abcdef0123456789"


def ms(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> int:
    """A local time in Amsterdam, in ms since the epoch."""
    return int(
        dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=AMS).timestamp()
        * 1000
    )


def chat(
    start: int,
    *,
    department: str = "huisarts",
    take: float | None = None,
    length: float | None = None,
    missed: str | None = None,
    ended_by: str | None = None,
    taker: str | None = None,
    rating: int | None = None,
    queued: bool = True,
) -> ChatFacts:
    """A chat's skeleton: it entered the queue at start, was taken `take` seconds later and
    ended `length` seconds after that."""
    taken_at = start + int(take * 1000) if take is not None else None
    ended_at = taken_at + int(length * 1000) if taken_at and length is not None else None
    if ended_by and ended_at is None:
        ended_at = start + 60_000
    return ChatFacts(
        department_id=department,
        created_at=start,
        queued_at=start if queued else None,
        taken_at=taken_at,
        ended_at=ended_at,
        ended_by=ended_by,
        missed=missed,
        taker=taker or ("@anna:localhost" if take is not None else None),
        rating=rating,
    )


# -- periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,first,last,rest",
    [
        ([], D(2026, 11, 12), TODAY, []),
        (["week"], D(2026, 11, 12), TODAY, []),
        (["Week", "huisarts"], D(2026, 11, 12), TODAY, ["huisarts"]),
        (["huisarts"], D(2026, 11, 12), TODAY, ["huisarts"]),  # no period: the week
        (["maand"], D(2026, 10, 20), TODAY, []),
        (["month"], D(2026, 10, 20), TODAY, []),
        (["miesiąc"], D(2026, 10, 20), TODAY, []),
        (["vandaag"], TODAY, TODAY, []),
        (["today", "Thuis", "zorg"], TODAY, TODAY, ["Thuis", "zorg"]),
        (["2026-11"], D(2026, 11, 1), D(2026, 11, 30), []),
        (["2026-12"], D(2026, 12, 1), D(2026, 12, 31), []),
        (["2028-02"], D(2028, 2, 1), D(2028, 2, 29), []),  # a leap year
        (["2026-11-03"], D(2026, 11, 3), D(2026, 11, 3), []),
        (["3-11-2026", "thuiszorg"], D(2026, 11, 3), D(2026, 11, 3), ["thuiszorg"]),
        (["2026-11-01", "2026-11-15"], D(2026, 11, 1), D(2026, 11, 15), []),
        (["2026-11-01", "15-11-2026", "huisarts"], D(2026, 11, 1), D(2026, 11, 15), ["huisarts"]),
        (["2025-11-19", "2026-11-18"], D(2025, 11, 19), TODAY, []),  # 365 days
    ],
)
def test_periods(args: list[str], first: dt.date, last: dt.date, rest: list[str]) -> None:
    period, words = parse_period(args, TODAY)
    assert (period.first, period.last, words) == (first, last, rest)


@pytest.mark.parametrize(
    "args,text_id",
    [
        (["2026-13"], "report_bad_period"),
        (["2026-00"], "report_bad_period"),
        (["9999-12"], "report_bad_period"),
        (["2026-11-31"], "report_bad_period"),
        (["2026/11/31"], "report_bad_period"),
        (["11.2026"], "report_bad_period"),
        (["1969-12-31"], "report_bad_period"),
        (["2026-11-15", "2026-11-01"], "report_reversed"),
        (["2024-01-01", "2026-11-18"], "report_too_long"),
    ],
)
def test_what_is_no_period(args: list[str], text_id: str) -> None:
    with pytest.raises(ReportError) as e:
        parse_period(args, TODAY)
    assert e.value.text_id == text_id


def test_the_admin_apis_dates() -> None:
    assert parse_range("2026-11-01", "2026-11-15") == Period(D(2026, 11, 1), D(2026, 11, 15))
    for first, last in [("", "2026-11-01"), ("2026-11-1", "2026-11-02"), ("x", "y")]:
        with pytest.raises(ReportError, match="report_bad_period"):
            parse_range(first, last)
    with pytest.raises(ReportError, match="report_bad_period"):
        parse_range("9999-12-31", "9999-12-31")
    with pytest.raises(ReportError, match="report_reversed"):
        parse_range("2026-11-02", "2026-11-01")


def test_a_period_is_whole_local_days_in_summer_time_and_winter_time() -> None:
    """25 October 2026 has 25 hours in Amsterdam: the clocks go back."""
    start, end = Period(D(2026, 10, 25), D(2026, 10, 25)).bounds(AMS)
    assert end - start == 25 * 3600 * 1000
    assert start == ms(D(2026, 10, 25), 0)
    start, end = Period(D(2026, 3, 29), D(2026, 3, 30)).bounds(AMS)
    assert end - start == 47 * 3600 * 1000  # and 29 March 2026 has 23


# -- the computation -------------------------------------------------------------------------


def test_percentiles_interpolate_between_the_nearest_values() -> None:
    assert percentile([], 50) is None
    assert percentile([7], 50) == percentile([7], 90) == 7
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
    assert percentile([10, 20], 90) == pytest.approx(19)
    assert percentile([5, 1, 9], 0) == 1 and percentile([5, 1, 9], 100) == 9
    assert clock(None) == "–" and clock(45) == "0:45" and clock(125) == "2:05"
    assert clock(3725) == "1:02:05"


def test_what_each_chat_counts_as() -> None:
    day = D(2026, 11, 3)
    chats = [
        chat(ms(day, 9), take=30, length=600, rating=4),
        chat(ms(day, 10), take=90, length=1200, taker="@bram:localhost", rating=2),
        chat(ms(day, 11), take=150, length=300, missed="timeout"),  # missed, then taken
        chat(ms(day, 12), missed="timeout", ended_by="contact"),
        chat(ms(day, 13), missed="declined", ended_by="visitor"),
        chat(ms(day, 14), ended_by="visitor"),  # left the queue
        chat(ms(day, 15), ended_by="idle"),  # walked away; retention closed it
        chat(ms(day, 16), ended_by="contact", queued=False),  # the offline form
        chat(ms(day, 17), ended_by="contact"),  # contact details while waiting
        chat(ms(day, 18)),  # still waiting
        chat(ms(day, 8), department="thuiszorg", take=10),  # still running
    ]
    report = build_report(chats, Period(day, day), AMS, [HUISARTS, THUISZORG])
    huisarts = report.departments[0].days[day].as_dict()
    assert huisarts == {
        "started": 10,
        "taken": 3,
        "missed_timeout": 1,
        "missed_declined": 1,
        "abandoned": 2,
        "contact_requests": 3,
        "take_median_s": 90,
        "take_p90_s": 138,  # 90 + (150 - 90) * 0.8
        "duration_median_s": 600,
        "ratings": 2,
        "rating_average": 3.0,
    }
    thuiszorg = report.departments[1].total.as_dict()
    assert thuiszorg["taken"] == 1 and thuiszorg["duration_median_s"] is None
    assert report.total.started == 11 and report.total.missed == 2
    assert {u: s.as_dict() for u, s in report.staff.items()} == {
        "@anna:localhost": {"taken": 3, "ratings": 1, "rating_average": 4.0},
        "@bram:localhost": {"taken": 1, "ratings": 1, "rating_average": 2.0},
    }


def test_a_chat_counts_on_the_local_day_it_started() -> None:
    late = int(dt.datetime(2026, 11, 2, 23, 30, tzinfo=dt.UTC).timestamp() * 1000)  # 00:30 local
    period = Period(D(2026, 11, 2), D(2026, 11, 4))
    report = build_report([chat(late, take=5)], period, AMS, [HUISARTS])
    days = report.departments[0].days
    assert [days[d].started for d in period.days()] == [0, 1, 0]


def test_the_departments_a_report_shows() -> None:
    """Every active department, and a removed one only when it had chats; a department
    asked for alone."""
    day = D(2026, 11, 3)
    gone = DepartmentName("oud", "Oude afdeling", False)
    empty_gone = DepartmentName("weg", "Weg", False)
    departments = [HUISARTS, gone, THUISZORG, empty_gone]
    chats = [chat(ms(day, 9), department="oud"), chat(ms(day, 10), department="onbekend")]
    shown = build_report(chats, Period(day, day), AMS, departments).departments
    assert [d.department.id for d in shown] == ["huisarts", "oud", "thuiszorg", "onbekend"]
    alone = build_report([], Period(day, day), AMS, departments, THUISZORG)
    assert [d.department.id for d in alone.departments] == ["thuiszorg"]


def test_the_csv_and_the_json() -> None:
    first, last = D(2026, 11, 2), D(2026, 11, 3)
    chats = [
        chat(ms(last, 9), take=30, length=600, rating=5),
        chat(ms(last, 10), missed="timeout"),
    ]
    label = DepartmentName("huisarts", "=HYPERLINK(1)", True)
    report = build_report(chats, Period(first, last), AMS, [label])
    text = report.as_csv()
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == list(DAY_COLUMNS)
    assert lines[1][:5] == ["huisarts", "'=HYPERLINK(1)", "2026-11-02", "0", "0"]
    assert lines[1][9:] == ["", "", "", "0", ""]  # nothing to count from: empty cells
    row = dict(zip(DAY_COLUMNS, lines[2], strict=True))
    assert row["date"] == "2026-11-03" and row["started"] == "2" and row["missed_timeout"] == "1"
    assert row["take_median_s"] == "30" and row["rating_average"] == "5.0"
    assert lines[3] == []
    assert lines[4:] == [
        ["staff", "taken", "ratings", "rating_average"],
        ["'@anna:localhost", "1", "1", "5.0"],
    ]
    data = report.as_json()
    assert (
        data["from"] == "2026-11-02" and data["to"] == "2026-11-03" and data["department"] is None
    )
    assert data["timezone"] == "Europe/Amsterdam"
    assert [d["date"] for d in data["departments"][0]["days"]] == ["2026-11-02", "2026-11-03"]
    assert data["staff"] == [
        {"user_id": "@anna:localhost", "taken": 1, "ratings": 1, "rating_average": 5.0}
    ]
    assert data["total"]["started"] == 2


# -- the store, on SQLite and PostgreSQL -----------------------------------------------------


async def add_chat(store: Store, cid: str, facts: ChatFacts, status: str = "ended") -> None:
    await store.db.execute(
        "INSERT INTO session (id, token_hash, language, ghost_id, created_at) "
        "VALUES ($1, 'h', 'nl', $2, $3) ON CONFLICT (id) DO NOTHING",
        f"s-{cid}",
        f"g-{cid}",
        facts.created_at,
    )
    await store.db.execute(
        "INSERT INTO conversation (id, session_id, status, department_id, created_at, queued_at, "
        "taken_at, ended_at, ended_by, missed, taker, taker_name, rating, rating_comment) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'Anna', $12, $13)",
        cid,
        f"s-{cid}",
        status,
        facts.department_id,
        facts.created_at,
        facts.queued_at,
        facts.taken_at,
        facts.ended_at,
        facts.ended_by,
        facts.missed,
        facts.taker,
        facts.rating,
        "Heel fijn geholpen" if facts.rating else None,
    )


async def seeded(store: Store) -> Reports:
    await store.departments.add("huisarts", "Huisartsenpraktijk")
    await store.departments.add("thuiszorg", "Thuiszorg")
    await store.departments.deactivate("thuiszorg")
    day = D(2026, 11, 3)
    await add_chat(store, "c1", chat(ms(day, 9), take=20, length=300, rating=5))
    await add_chat(store, "c2", chat(ms(day, 10), take=40, length=500))
    await add_chat(store, "c3", chat(ms(day, 11), missed="declined", ended_by="contact"))
    await add_chat(store, "c4", chat(ms(day, 12), department="thuiszorg", ended_by="visitor"))
    await add_chat(store, "c5", chat(ms(D(2026, 11, 4), 0, 5), take=60))  # the next day
    await add_chat(store, "c6", chat(ms(day, 13), queued=False), status="choosing")
    await store.db.execute("UPDATE conversation SET department_id=NULL WHERE id='c6'")
    return Reports(ReportStore(store.db), "Europe/Amsterdam")


async def test_the_report_reads_the_skeletons_and_still_counts_deleted_chats(
    store: Store,
) -> None:
    reports = await seeded(store)
    day = Period(D(2026, 11, 3), D(2026, 11, 3))
    before = (await reports.report(day)).as_json()
    assert before["total"]["started"] == 4  # c5 is the next day; c6 never chose a topic
    async with transaction(store.db) as conn:
        for cid in ("c1", "c3", "c4"):
            assert await store.privacy.erase_chat(conn, cid) is not None
    assert await store.db.fetchval("SELECT rating_comment FROM conversation WHERE id='c1'") is None
    after = (await reports.report(day)).as_json()
    assert after == before
    huisarts = after["departments"][0]
    assert {k: v for k, v in huisarts["days"][0].items() if k != "date"} == huisarts["total"]
    assert huisarts["total"]["taken"] == 2 and huisarts["total"]["missed_declined"] == 1
    assert huisarts["total"]["contact_requests"] == 1 and huisarts["total"]["take_median_s"] == 30
    assert after["departments"][1]["id"] == "thuiszorg"  # removed, but it had a chat
    assert after["departments"][1]["total"]["abandoned"] == 1
    assert after["staff"] == [
        {"user_id": "@anna:localhost", "taken": 2, "ratings": 1, "rating_average": 5.0}
    ]
    two = await reports.report(Period(D(2026, 11, 3), D(2026, 11, 4)))
    assert two.total.taken == 3 and len(two.departments[0].days) == 2
    only = await reports.report(day, await reports.department("THUISZORG"))
    assert [d.department.id for d in only.departments] == ["thuiszorg"]
    assert only.total.started == 1 and only.staff == {}


async def test_a_department_by_its_id_or_label(store: Store) -> None:
    reports = await seeded(store)
    assert (await reports.department("huisarts")) == HUISARTS
    assert (await reports.department("huisartsenpraktijk ")) == HUISARTS
    assert (await reports.department("Thuiszorg")) == DepartmentName(
        "thuiszorg", "Thuiszorg", False
    )
    assert await reports.department("nergens") is None


async def test_the_admin_api(store: Store, tmp_path: Path) -> None:
    """Off without a token (404, like any unknown address); 401 without the token or with a
    wrong one; 400 for bad dates and an unknown department; else the report as JSON."""
    await seeded(store)

    async def client(token: str) -> TestClient[Any, Any]:
        config = load(tmp_path, web__admin_token=token, laura__timezone="Europe/Amsterdam")
        config.validate()
        none = cast(Any, None)
        app = build_app(none, Authenticator(store), none, config, none)
        c: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await c.start_server()
        return c

    url = "/api/v1/admin/report?from=2026-11-03&to=2026-11-04"
    off = await client("")
    try:
        resp = await off.get(url, headers={"Authorization": "Bearer x"})
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    finally:
        await off.close()
    on = await client(TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def call(url: str, headers: dict[str, str]) -> tuple[int, Any]:
        resp = await on.get(url, headers=headers)
        return resp.status, await resp.json()

    try:
        for headers, code in [
            ({}, "missing_token"),
            ({"Authorization": "Basic eDp5"}, "missing_token"),
            ({"Authorization": f"Bearer {TOKEN}x"}, "invalid_token"),
            ({"Authorization": "Bearer ë"}, "invalid_token"),
        ]:
            status, body = await call(url, headers)
            assert (status, body["error"]["code"]) == (401, code)
        for query, code in [
            ("from=2026-11-03", "bad_period"),
            ("from=2026-11-3&to=2026-11-04", "bad_period"),
            ("from=2026-11-05&to=2026-11-04", "bad_period"),
            ("from=2024-01-01&to=2026-11-04", "bad_period"),
            ("from=2026-11-03&to=2026-11-04&department=nergens", "unknown_department"),
        ]:
            status, body = await call(f"/api/v1/admin/report?{query}", auth)
            assert (status, body["error"]["code"]) == (400, code), body
        status, body = await call(url, auth)
        assert status == 200
        assert body["total"]["started"] == 5 and body["total"]["taken"] == 3
        assert [d["id"] for d in body["departments"]] == ["huisarts", "thuiszorg"]
        status, body = await call(url + "&department=huisarts", auth)
        assert status == 200 and body["department"] == "huisarts"
        assert [d["id"] for d in body["departments"]] == ["huisarts"]
        assert "Anna" not in str(body) and "s-c1" not in str(body)  # no names, no sessions
    finally:
        await on.close()


def test_the_token_is_checked_and_may_come_from_a_file(tmp_path: Path) -> None:
    from laura_bot.config_env import apply_overrides
    from laura_bot.errors import ConfigError

    with pytest.raises(ConfigError, match="web.admin_token"):
        load(tmp_path, web__admin_token="kort").validate()
    secret_file = tmp_path / "admin-token"
    secret_file.write_text(TOKEN + "\n")
    config = load(tmp_path, web__admin_token_file=str(secret_file))
    assert "web.admin_token" in apply_overrides(config, {})
    assert config["web.admin_token"] == TOKEN
    config.validate()


# -- !rapport through Synapse ----------------------------------------------------------------


@pytest.mark.synapse
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_rapport_in_the_control_room(team: Team) -> None:
    """Four chats: one taken, rated and then deleted by retention; one nobody took in time; one
    everybody declined (contact details left); one the visitor left while waiting. The CSV
    Laura puts in the control room counts all four."""
    laura = team.laura
    admin, anna, bram = team["admin"], team["anna"], team["bram"]
    control = team.rooms["control"]

    taken, _ = await team.connected("Kwartel")
    await taken.call("POST", f"/sessions/{taken.session_id}/end", {}, expect=200)
    await taken.call("POST", f"/sessions/{taken.session_id}/rating", {"stars": 4}, expect=201)
    taken_id = (await taken.state())["conversation_id"]

    late = await team.visitor(name="Fazant")
    late_id = (await late.state())["conversation_id"]
    # The dispatch timer's deadline has passed: what the in-process clock then runs.
    await laura.store.conversations.set_fields(late_id, dispatch_deadline=1)
    await laura.timers.dispatch_timeout(late_id)
    await late.wait_status("contact")

    declined = await team.visitor(name="Merel")
    request = await anna.wait_for(
        lambda e: (
            is_msg(team.rooms["huisarts"], body_has="van Merel", msgtype="m.text")(e)
            and "m.relates_to" not in e["content"]
        ),
        what="the third request",
    )
    for member in (anna, bram):
        await member.react(team.rooms["huisarts"], request["event_id"], "Ik kan nu niet")
    await declined.wait_status("contact")
    path = f"/sessions/{declined.session_id}/contact-request"
    await declined.call("POST", path, {"phone": "0612345678"}, expect=201)

    left = await team.visitor(name="Spreeuw")
    await left.call("POST", f"/sessions/{left.session_id}/end", {}, expect=200)

    # Retention deletes the taken chat's content, by its own path.
    assert await laura.retention.erase_chats([taken_id], "retention") == 1
    skeleton = await laura.store.conversations.get_by_id(taken_id)
    assert skeleton and skeleton.purged_at and skeleton.rating == 4

    asked = await admin.send(control, "!rapport week huisarts")
    summary = await reply_to(admin, control, asked, "!rapport")
    assert "Gestart: 4 · opgepakt: 1 · gemist: 2" in summary, summary
    assert "Beoordelingen: 1, gemiddeld 4.0" in summary, summary
    made = await admin.wait_for(
        lambda e: is_msg(control, msgtype="m.file")(e) and e["sender"] == laura.config.bot_mxid,
        what="the CSV",
    )
    assert made["content"]["info"]["mimetype"] == "text/csv"
    assert made["content"]["body"].startswith("rapport-") and made["content"]["body"] in summary
    text = (await admin.download(made["content"]["url"])).decode("utf-8-sig")
    days_part, staff_part = text.split("\r\n\r\n")
    rows = list(csv.DictReader(io.StringIO(days_part)))
    assert {r["department"] for r in rows} == {"huisarts"} and len(rows) == 7
    totals = {
        column: sum(int(r[column]) for r in rows) for column in DAY_COLUMNS[3:9] + ("ratings",)
    }
    assert totals == {
        "started": 4,
        "taken": 1,
        "missed_timeout": 1,
        "missed_declined": 1,
        "abandoned": 1,
        "contact_requests": 1,
        "ratings": 1,
    }
    rated = next(r for r in rows if r["taken"] == "1")
    assert rated["rating_average"] == "4.0" and rated["take_median_s"] != ""
    staff = list(csv.DictReader(io.StringIO(staff_part)))
    assert staff == [
        {"staff": "'@anna:localhost", "taken": "1", "ratings": "1", "rating_average": "4.0"}
    ]
    for name in ("Kwartel", "Fazant", "Merel", "Spreeuw", "0612345678", taken.session_id):
        assert name not in text and name not in summary
