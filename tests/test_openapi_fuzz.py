"""Schemathesis fuzz of widget API v1 against the OpenAPI document Laura serves itself
(/api/v1/openapi.json): whatever a client sends, no answer is a 5xx, and every answer
conforms to the document: its status code is documented for the operation, and its content
type, body and documented headers are what the document says. Laura logs no error meanwhile.

Every operation is fuzzed in these ways, each with a small number of examples from a fixed
Hypothesis seed, so that CI sends the same requests on every run of the same code (Hypothesis
also draws strings and numbers from the source of the modules loaded, so a run of this file
alone may differ from the whole suite's; a failure's curl command reproduces it either way):

- valid: input the document allows, with the token and id of a new chat (one per operation),
  so that the requests get past authentication and reach the handlers;
- connected: the same in a chat a staff member took, so that messages, typing and files go to
  a consult room (a chat of its own for the operations that end or rate it, ended first);
- invalid: what the document does not allow (schemathesis' negative mode), in the new chat;
- unauthorised: a generated bearer token, none, a wrong one for the real chat, or a real token
  with another chat's id; the answer must be 401 or 404, as the document says.

The admin API (/api/v1/admin/) is fuzzed the same ways with the admin token of the config
(valid, invalid) and without it (unauthorised: 401), in a test of its own
(test_openapi_fuzz_admin, `-k admin`).

The rate limits are off (test_abuse.py is about them), and a long poll waits at most a second, a
stream a fifth of one.
All failures of a run are collected and reported together, each once per way, operation and
kind, with a curl command that reproduces it (the bearer token filtered out).

Runs on SQLite only: the handlers are the same on both databases, which test_fuzz.py and the
rest of the suite cover; twice the run time would buy nothing here.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from laura_bot.appointments.service import Booking
from tests.conftest import LauraHandle, Team
from tests.helpers import secret

pytestmark = pytest.mark.synapse

ADMIN = "/api/v1/admin/"
DASHBOARD = "/api/v1/dashboard/"
OPERATOR = (ADMIN, DASHBOARD)  # the APIs with a token of their own (not a chat's)
DASHBOARD_SESSION = "/api/v1/dashboard/session"  # takes an OpenID token, gives the token
ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef0123456789"  # web.admin_token (32+ characters)
secret(ADMIN_TOKEN)
RATE_LIMITED = (
    "sessions",
    "messages",
    "topic",
    "contact",
    "uploads",
    "typing",
    "transcripts",
    "dashboard",
)
NO_LIMITS: dict[str, Any] = {
    f"web.rate_limits.{action}.{scope}": ""
    for action in RATE_LIMITED
    for scope in ("per_address", "per_session")
} | {
    "web.max_waiting_per_address": 0,
    "web.max_poll_timeout": 1,
    # A stream of a valid case stays open this long: a second each made the run minutes longer.
    "web.max_stream_time": 0.2,
    "web.admin_token": ADMIN_TOKEN,
}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Examples per operation and way: about 1,000 requests in all (the run's time budget; a deep
# run scales them, below). Operations with nothing to generate (no body, no query) get one
# example each.
EXAMPLES = {"valid": 18, "connected": 18, "invalid": 15, "unauthorised": 8}
# Each way and operation has a seed of its own, the same on every run; another base (say
# LAURA_FUZZ_SEED=7) explores other inputs, and LAURA_FUZZ_SCALE=10 ten times as many.
SEED = int(os.environ.get("LAURA_FUZZ_SEED", "0"))
SCALE = float(os.environ.get("LAURA_FUZZ_SCALE", "1"))

TOPICS = ("huisarts", "thuiszorg")
# Chat text and contact details: messages, contact requests, rating comments, typing drafts.
SECRET_FIELDS = ("body", "phone", "email", "message", "comment", "draft")


def hypothesis_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max(1, round(max_examples * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        # Failures are collected, not raised: nothing to shrink, nothing to explain.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def mark_chat_text(case: Case, data: st.DataObject) -> None:
    """Now and then a canary in the chat text and contact details a case sends, registered
    for the whole-run log scan of conftest.py (none may reach a log line at any level). The
    generated text itself is not registered: Hypothesis draws strings from Laura's own source
    too, and those may well be in a log line."""
    if not isinstance(case.body, dict) or not data.draw(st.booleans()):
        return
    for key in SECRET_FIELDS:
        value = case.body.get(key)
        if isinstance(value, str):
            canary = f"geheim{zlib.crc32(f'{key}={value}'.encode()):08x}"
            secret(canary)
            case.body[key] = f"{value} {canary}"


def changes_the_chat(operation: APIOperation) -> bool:
    """Operations after which a chat is no longer connected (or no longer there)."""
    return operation.method.upper() == "DELETE" or operation.path.endswith(
        ("/end", "/rating", "/restart")
    )


@dataclass
class Chat:
    session_id: str
    token: str
    attachment: str = ""  # a photo the visitor sent in it, for GET .../attachments/{id}
    appointment: str = ""  # an appointment of the chat, for GET .../appointments/{id}.ics

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Fuzz:
    """One run over the whole document, from a worker thread (schemathesis and requests block;
    Laura runs on the test's event loop meanwhile)."""

    root: str  # http://127.0.0.1:PORT: the document's paths start with /api/v1
    connect: Callable[[], Chat]  # a new chat that a staff member took
    appoint: Callable[[Chat], str]  # an appointment booked for the chat: its id
    http: requests.Session = field(default_factory=requests.Session)
    failures: dict[tuple[str, str, str, int], str] = field(default_factory=dict)
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)
    shared: Chat | None = None  # the connected chat of the operations that leave it connected
    dashboard_token: str = ""  # a dashboard session's bearer token (an admin's)

    def post(self, path: str, chat: Chat | None = None, **kw: Any) -> requests.Response:
        headers = chat.auth if chat else {}
        return self.http.post(f"{self.root}/api/v1{path}", headers=headers, timeout=15, **kw)

    def new_chat(self) -> Chat:
        resp = self.post("/sessions", json={})
        assert resp.status_code == 201, (resp.status_code, resp.text)
        body = resp.json()
        secret(body["token"])
        secret(body["token"].split(".", 1)[1])
        return Chat(str(body["session_id"]), str(body["token"]))

    def upload(self, chat: Chat) -> None:
        files = {"file": ("foto.png", png(), "image/png")}
        resp = self.post(f"/sessions/{chat.session_id}/attachments", chat, files=files)
        assert resp.status_code == 201, (resp.status_code, resp.text)
        chat.attachment = str(resp.json()["attachment"]["id"])

    def connected_chat(self, operation: APIOperation) -> Chat:
        if not changes_the_chat(operation):
            if self.shared is None:
                self.shared = self.connect()
                self.upload(self.shared)
            return self.shared
        chat = self.connect()
        if not operation.path.endswith("/end"):
            # Rating and restarting are for a chat that ended.
            resp = self.post(f"/sessions/{chat.session_id}/end", chat, json={})
            assert resp.status_code == 200, (resp.status_code, resp.text)
        return chat

    def fail(self, way: str, case: Case, kind: str, status: int, text: str) -> None:
        self.failures.setdefault((way, case.operation.label, kind, status), text)

    def check(self, way: str, case: Case, expect: tuple[int, ...] = ()) -> None:
        try:
            response = case.call(base_url=self.root, session=self.http, timeout=15)
        except requests.RequestException as exc:
            self.fail(way, case, type(exc).__name__, 0, f"{exc!r}\n\n{case.as_curl_command()}")
            return
        status = response.status_code
        self.statuses[(way, case.operation.label, status)] += 1
        curl = case.as_curl_command(headers=dict(response.request.headers), base_url=self.root)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                self.fail(way, case, failure.title, status, f"{failure}\n\n{curl}")
        if expect and status not in expect:
            kind = f"status {status}, not one of {expect}"
            self.fail(way, case, kind, status, f"{response.text[:300]}\n\n{curl}")

    def run(self, operation: APIOperation) -> None:
        self.operations.add(operation.label)
        if operation.path == DASHBOARD_SESSION:
            # Generated OpenID tokens: the homeserver confirms none of them.
            self.given(operation, "valid", GenerationMode.POSITIVE, expect=(400, 401))
            self.given(operation, "invalid", GenerationMode.NEGATIVE)
            return
        if operation.path.startswith(OPERATOR):
            token = ADMIN_TOKEN if operation.path.startswith(ADMIN) else self.dashboard_token
            auth = {"Authorization": f"Bearer {token}"}
            self.given(operation, "valid", GenerationMode.POSITIVE, headers=auth)
            if len(operation.body) or len(operation.query):  # something to break
                self.given(operation, "invalid", GenerationMode.NEGATIVE, headers=auth)
            self.given(operation, "unauthorised", GenerationMode.POSITIVE, expect=(401,))
            return
        if "{id}" not in operation.path:
            # GET /widget and POST /sessions: no token to give or leave out.
            self.given(operation, "valid", GenerationMode.POSITIVE)
            self.given(operation, "invalid", GenerationMode.NEGATIVE)
            return
        chat = self.new_chat()
        with_file = "{attachment_id}" in operation.path
        if with_file:
            self.upload(chat)
        with_appointment = "{appointment_id}" in operation.path
        if with_appointment:
            chat.appointment = self.appoint(chat)
        self.given(operation, "valid", GenerationMode.POSITIVE, chat)
        connected = self.connected_chat(operation)
        if with_file and not connected.attachment:
            self.upload(connected)
        if with_appointment and not connected.appointment:
            connected.appointment = self.appoint(connected)
        self.given(operation, "connected", GenerationMode.POSITIVE, connected)
        if len(operation.body) or len(operation.query):
            # With the chat's id and token fixed, only a body or a query is left to break.
            self.given(operation, "invalid", GenerationMode.NEGATIVE, chat)
        self.given(operation, "unauthorised", GenerationMode.POSITIVE, chat, (401, 404))

    def given(
        self,
        operation: APIOperation,
        way: str,
        mode: GenerationMode,
        chat: Chat | None = None,
        expect: tuple[int, ...] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        fixed: dict[str, Any] = {"headers": headers} if headers else {}
        if chat and way != "unauthorised":
            fixed = {"path_parameters": {"id": chat.session_id}, "headers": chat.auth}
        strategy = operation.as_strategy(mode, **fixed)
        admin = operation.path.startswith(OPERATOR) and operation.path != DASHBOARD_SESSION

        @seed(SEED + zlib.crc32(f"{way} {operation.label}".encode()))
        @hypothesis_settings(EXAMPLES[way])
        @given(case=strategy, data=st.data())
        def fuzz(case: Case, data: st.DataObject) -> None:
            if chat and way == "unauthorised":
                unauthorise(case, data, chat)
            if chat:
                known_values(case, data, chat)
            if admin and way == "unauthorised":
                unauthorise_admin(case, data)
            elif admin:
                admin_values(case, data)
            mark_chat_text(case, data)
            self.check(way, case, expect)

        fuzz()

    def report(self) -> str:
        return "\n\n".join(
            f"--- {way}: {label}: {kind} (status {status})\n{text[:3000]}"
            for (way, label, kind, status), text in sorted(self.failures.items())
        )


def known_values(case: Case, data: st.DataObject, chat: Chat) -> None:
    """Sometimes a value the server knows, where the document cannot say which."""
    if isinstance(case.body, dict):
        if "topic_id" in case.body and data.draw(st.booleans()):
            case.body["topic_id"] = data.draw(st.sampled_from(TOPICS))
        if case.path.endswith("/contact-request") and data.draw(st.booleans()):
            case.body["phone"] = "0612345678"
    if "attachment_id" in case.path_parameters and chat.attachment and data.draw(st.booleans()):
        case.path_parameters["attachment_id"] = chat.attachment
    if "appointment_id" in case.path_parameters and chat.appointment and data.draw(st.booleans()):
        case.path_parameters["appointment_id"] = chat.appointment


def admin_values(case: Case, data: st.DataObject) -> None:
    """Sometimes a period the report takes (the last days) and a department that exists."""
    if "dept" in case.path_parameters and data.draw(st.booleans()):
        case.path_parameters["dept"] = data.draw(st.sampled_from(TOPICS))
    if not isinstance(case.query, dict) or not data.draw(st.booleans()):
        return
    if "days" in case.query or case.path.startswith(DASHBOARD):
        return
    today = datetime.now(UTC).date()
    case.query["from"] = (today - timedelta(days=data.draw(st.integers(0, 400)))).isoformat()
    case.query["to"] = today.isoformat()
    if data.draw(st.booleans()):
        case.query["department"] = data.draw(st.sampled_from(TOPICS))


def unauthorise_admin(case: Case, data: st.DataObject) -> None:
    """A generated bearer token, none, or a wrong one (the admin token reversed, or the admin
    token for the dashboard)."""
    how = data.draw(st.sampled_from(["generated", "none", "wrong"]))
    if how == "none":
        case.headers.pop("Authorization", None)
    elif how == "wrong":
        case.headers["Authorization"] = f"Bearer {ADMIN_TOKEN[::-1]}"
        if case.path.startswith(DASHBOARD):
            case.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"


def unauthorise(case: Case, data: st.DataObject, chat: Chat) -> None:
    """A generated bearer token, none, a wrong one for the chat, or a real token with another
    chat's (a generated) id."""
    how = data.draw(st.sampled_from(["generated", "none", "wrong", "another chat's"]))
    if how == "another chat's":
        case.headers["Authorization"] = f"Bearer {chat.token}"
        if case.path_parameters.get("id") == chat.session_id:
            case.path_parameters["id"] = chat.session_id[::-1]
        return
    if how == "none":
        case.headers.pop("Authorization", None)
    elif how == "wrong":
        case.headers["Authorization"] = f"Bearer {chat.session_id}.{chat.token[::-1]}"
    if data.draw(st.booleans()):
        case.path_parameters["id"] = chat.session_id


def fuzz_all(
    root: str,
    connect: Callable[[], Chat],
    appoint: Callable[[Chat], str],
    admin: bool = False,
    dashboard_token: str = "",
) -> Fuzz:
    """Every operation of the widget API, or (admin) every one of the operators' APIs: the
    admin API and the team's dashboard."""
    schema = schemathesis.openapi.from_url(f"{root}/api/v1/openapi.json", timeout=10)
    fuzz = Fuzz(root, connect, appoint, dashboard_token=dashboard_token)
    try:
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                raise result.err()  # a part of the document schemathesis cannot read
            if result.ok().path.startswith(OPERATOR) == admin:
                fuzz.run(result.ok())
    finally:
        fuzz.http.close()
    return fuzz


@pytest.mark.laura_config(NO_LIMITS)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_openapi_fuzz(team: Team, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    loop = asyncio.get_running_loop()
    names = iter(f"Fuzz{n}" for n in range(1000))

    def connect() -> Chat:
        """From the fuzz's thread: a chat anna took, made on the test's loop."""
        future = asyncio.run_coroutine_threadsafe(team.connected(next(names)), loop)
        visitor, _ = future.result(timeout=120)
        return Chat(visitor.session_id, visitor.token)

    async def book(chat: Chat) -> str:
        laura = team.laura
        session = await laura.store.sessions.get_by_id(chat.session_id)
        kind = await laura.store.appointments.get_type("intake")
        assert session and kind
        changed = await laura.appointments.service.book(
            Booking(
                kind=kind,
                start=datetime.now(UTC) + timedelta(days=2),
                minutes=45,
                adviser="@anna:localhost",
                created_by="@anna:localhost",
                title="Intake",
                location_kind="address",
                location="Dorpsstraat 1",
                allow_overlap=True,
                conversation_id=session.conversation_id,
                session_id=session.id,
            )
        )
        return changed.appointment.id

    def appoint(chat: Chat) -> str:
        """From the fuzz's thread: an appointment in the chat, made on the test's loop."""
        return asyncio.run_coroutine_threadsafe(book(chat), loop).result(timeout=60)

    root = team.handle.api.removesuffix("/api/v1")
    fuzz = await asyncio.to_thread(fuzz_all, root, connect, appoint)
    assert fuzz.statuses.total() > 800 * SCALE, fuzz.statuses.total()
    no_failures(fuzz, caplog)
    # With a real chat, every operation got past authentication, in both states.
    for way in ("valid", "connected"):
        answered = {
            label for w, label, status in fuzz.statuses if w == way and status not in (401, 404)
        }
        secured = {label for label in fuzz.operations if "{id}" in label}
        assert answered >= secured, (way, secured - answered)


def no_failures(fuzz: Fuzz, caplog: pytest.LogCaptureFixture) -> None:
    """Every failure of the run, and every error Laura logged meanwhile, in one report."""
    logged = [
        f"{r.name} {r.levelname}: {r.getMessage()[:300]}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or (r.name.startswith("aiohttp") and r.exc_info)
    ]
    problems = [f"--- logged: {line}" for line in logged]
    if fuzz.failures:
        problems.insert(0, f"{len(fuzz.failures)} kinds of failure:\n\n{fuzz.report()}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.mark.laura_config(NO_LIMITS | {"dashboard.enabled": True})
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_openapi_fuzz_admin(
    laura_handle: LauraHandle, caplog: pytest.LogCaptureFixture
) -> None:
    """The admin API, over a few chats' skeletons: with the token every operation gets past
    authentication and some answer a report (200); without it, 401."""
    caplog.set_level(logging.INFO)
    laura = laura_handle.laura
    assert laura
    now = int(datetime.now(UTC).timestamp() * 1000)
    await laura.store.db.execute(
        "INSERT INTO session (id, token_hash, language, ghost_id, created_at) "
        "VALUES ('fuzz', 'h', 'nl', 'gfuzz', $1)",
        now,
    )
    for n, (taken, missed, rating) in enumerate([(True, None, 4), (False, "timeout", None)]):
        await laura.store.db.execute(
            "INSERT INTO conversation (id, session_id, status, department_id, created_at, "
            "queued_at, taken_at, taker, ended_at, ended_by, missed, rating) "
            "VALUES ($1, 'fuzz', 'ended', 'huisarts', $2, $2, $3, $4, $5, 'visitor', $6, $7)",
            f"fuzz{n}",
            now - 3_600_000,
            now - 3_000_000 if taken else None,
            "@anna:localhost" if taken else None,
            now - 60_000,
            missed,
            rating,
        )

    def no_chats() -> Chat:
        raise AssertionError("the admin API has no chats to fuzz")

    root = laura_handle.api.removesuffix("/api/v1")
    # The dashboard with an admin's session (as POST .../session gives one for a real token).
    token, _ = laura.dashboard.auth.open("@admin:localhost", True, True, allowed=True)
    secret(token)
    fuzz = await asyncio.to_thread(fuzz_all, root, no_chats, lambda _: "", True, token)
    no_failures(fuzz, caplog)
    assert fuzz.operations, "no admin operations in the document"
    answered = {label for way, label, status in fuzz.statuses if way == "valid" and status == 200}
    # Take and Not now answer 404 for a generated chat id (and the session a generated OpenID
    # token 401): every other operation answered 200 at least once.
    unanswerable = {label for label in fuzz.operations if label.endswith(("/take", "/decline"))}
    unanswerable.add(f"POST {DASHBOARD_SESSION}")
    assert answered == fuzz.operations - unanswerable, fuzz.statuses
    past_auth = {label for way, label, st_ in fuzz.statuses if way == "valid" and st_ != 401}
    assert past_auth >= unanswerable - {f"POST {DASHBOARD_SESSION}"}, fuzz.statuses
