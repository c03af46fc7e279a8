"""Portal mode (V15): the host portal vouches for a visitor with a signed token; staff see the
verified identity, a forged, expired or missing one is refused with a clear error."""

from __future__ import annotations

import time
from typing import Any

import jwt
import nio
import pytest

from tests.conftest import ON_POSTGRES, ON_SQLITE, LauraHandle, Team
from tests.helpers import Visitor, is_msg

pytestmark = pytest.mark.synapse

SECRET = "portal-secret-" + "x" * 40
PORTAL = {"web.portal_secret": SECRET, "web.portal_required": True}


def token(secret: str = SECRET, **claims: Any) -> str:
    return jwt.encode({"exp": int(time.time()) + 300, **claims}, secret, algorithm="HS256")


async def create(v: Visitor, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return await v.call("POST", "/sessions", body, headers={})


@pytest.mark.laura_config(PORTAL)
async def test_a_verified_visitor_and_what_staff_see(team: Team) -> None:
    anna = team["anna"]
    v = Visitor(team.handle.api)
    try:
        _, widget = await v.call("GET", "/widget", headers={}, expect=200)
        assert widget["portal"] == {"enabled": True, "required": True}
        # The portal's name and e-mail stand over what the visitor typed.
        ident = token(sub="klant-4711", name="Mevrouw Jansen", email="jansen@example.org")
        status, body = await create(v, {"name": "Iemand Anders", "identity": ident})
        assert status == 201, body
        v.session_id, v.token = body["session_id"], body["token"]
        await v.topic("huisarts")
        dispatch = await anna.wait_for(
            is_msg(team.rooms["huisarts"], body_has="van Mevrouw Jansen", msgtype="m.text"),
            what="the dispatch message",
        )
        assert (
            "Aangemeld via het portaal: Mevrouw Jansen (portaal-id klant-4711)"
            in (dispatch["content"]["body"])
        )
        assert "Iemand Anders" not in dispatch["content"]["body"]
        session = await team.laura.store.sessions.get_by_id(v.session_id)
        assert session and session.verified_id == "klant-4711"
        assert session.email == "jansen@example.org"
        # A token without a name: the visitor's own name is not shown as if vouched for.
        other = Visitor(team.handle.api)
        status, body = await create(other, {"name": "Dr. Nep", "identity": token(sub="k-9")})
        assert status == 201, body
        named = await team.laura.store.sessions.get_by_id(body["session_id"])
        assert named and named.name is None and named.verified_id == "k-9"
        status, body = await create(
            other, {"email": "nep@example.org", "identity": token(sub="k")}
        )
        assert status == 201, body
        unsigned = await team.laura.store.sessions.get_by_id(body["session_id"])
        assert unsigned and unsigned.email is None
        await other.close()
        await anna.react(team.rooms["huisarts"], dispatch["event_id"], "Ik!")
        consult = await anna.wait_invite()
        await anna.join(consult)
        intro = await anna.wait_for(is_msg(consult, body_has="Nieuwe bezoeker"))
        assert "portaal-id klant-4711" in intro["content"]["body"]
        # On every message: the visitor's name carries Laura's portal marker, which no name
        # a visitor chooses can hold (tests/test_textsafety.py).
        ghost = team.laura.config.ghost_mxid(session.ghost_id)
        member = await anna.client.room_get_state_event(consult, "m.room.member", ghost)
        assert isinstance(member, nio.RoomGetStateEventResponse), member
        assert member.content["displayname"] == "Mevrouw Jansen ✔️ portaal"
    finally:
        await v.close()


@pytest.mark.laura_config(PORTAL)
@ON_SQLITE
async def test_missing_forged_and_expired_identities_are_refused(
    laura_handle: LauraHandle,
) -> None:
    v = Visitor(laura_handle.api)
    try:
        cases: list[tuple[dict[str, Any], int, str]] = [
            ({}, 403, "identity_required"),
            ({"name": "Piet"}, 403, "identity_required"),
            ({"identity": ""}, 403, "identity_required"),
            ({"identity": token("another-secret-" + "y" * 40, sub="a")}, 400, "bad_identity"),
            ({"identity": token(sub="a", exp=int(time.time()) - 120)}, 400, "identity_expired"),
            ({"identity": token(sub="")}, 400, "bad_identity"),
            (
                {"identity": jwt.encode({"sub": "a"}, SECRET, algorithm="HS256")},
                400,
                "bad_identity",
            ),
            ({"identity": token(sub="a", email="not an address")}, 400, "bad_identity"),
            ({"identity": "not.a.token"}, 400, "bad_identity"),
            # A token meant for something else (it names an audience) is not taken.
            ({"identity": token(sub="a", aud="https://portal.example/api")}, 400, "bad_identity"),
            ({"identity": 42}, 400, "bad_identity"),
            # "alg": "none" with the signature left off: never accepted.
            (
                {"identity": jwt.encode({"sub": "a", "exp": 9999999999}, None, algorithm="none")},
                400,
                "bad_identity",
            ),
        ]
        for body, status, code in cases:
            got, answer = await create(v, body)
            assert got == status and answer["error"]["code"] == code, (body, got, answer)
            assert "Traceback" not in answer["error"]["message"]
        # A token a few seconds past its expiry still counts (clocks differ a little).
        got, answer = await create(v, {"identity": token(sub="a", exp=int(time.time()) - 5)})
        assert got == 201, answer
    finally:
        await v.close()


@ON_SQLITE
async def test_without_portal_mode_anonymous_visitors_chat_and_tokens_are_refused(
    laura_handle: LauraHandle,
) -> None:
    v = Visitor(laura_handle.api)
    try:
        _, widget = await v.call("GET", "/widget", headers={}, expect=200)
        assert widget["portal"] == {"enabled": False, "required": False}
        got, _ = await create(v, {"name": "Piet"})
        assert got == 201
        got, answer = await create(v, {"identity": token(sub="a")})
        assert got == 400 and answer["error"]["code"] == "bad_identity", answer
    finally:
        await v.close()


@pytest.mark.laura_config({"web.portal_secret": SECRET, "web.portal_required": False})
@ON_POSTGRES
async def test_portal_mode_optional_lets_anonymous_visitors_in(laura_handle: LauraHandle) -> None:
    v = Visitor(laura_handle.api)
    try:
        got, body = await create(v, {"name": "Piet"})
        assert got == 201
        session = await laura_handle.laura.store.sessions.get_by_id(body["session_id"])  # type: ignore[union-attr]
        assert session and session.verified_id is None and session.name == "Piet"
    finally:
        await v.close()
