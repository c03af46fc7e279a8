"""Control-room commands: admins steer Laura, everybody else is refused."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import ON_POSTGRES, ON_SQLITE, Team
from tests.helpers import Visitor, is_msg, reply_to

pytestmark = pytest.mark.synapse


async def command(team: Team, user: str, room: str, text: str, expect: str) -> str:
    """Send a command; its reply (a notice in reply to it) must contain expect."""
    staff = team[user]
    body = await reply_to(staff, room, await staff.send(room, text), text)
    assert expect in body, body
    return body


async def test_admin_commands(team: Team) -> None:
    control = team.rooms["control"]
    help_text = await command(team, "admin", control, "!help", "!departments")
    for name in ("!department", "!staff", "!settings", "!set", "!stats"):
        assert name in help_text
    await command(team, "admin", control, "!departments", "huisarts: Huisartsenpraktijk")
    await command(team, "admin", control, "!settings", "dispatch_timeout: 5m")
    await command(team, "admin", control, "!set dispatch_timeout 90s", "is nu 90s")
    await command(team, "admin", control, "!settings", "dispatch_timeout: 90s")
    await command(team, "admin", control, "!set dispatch_timeout soon", "Niet gewijzigd")
    await command(team, "admin", control, "!set colour blue", "Niet gewijzigd")
    await command(team, "admin", control, "!set typing_preview misschien", "on (aan) of off")
    await command(team, "admin", control, "!set typing_preview aan", "is nu on")
    assert await team.laura.settings.flag("typing_preview") is True
    await command(team, "admin", control, "!set typing_preview off", "is nu off")
    await command(team, "admin", control, "!set max_file_mb 500", "Niet gewijzigd")
    await command(team, "admin", control, "!department add geen_spaties!! X", "kleine letters")
    await command(
        team,
        "admin",
        control,
        "!department add ggz Geestelijke zorg",
        "ggz (Geestelijke zorg) is toegevoegd",
    )
    await command(team, "admin", control, "!department add ggz Nog eens", "bestaat al")
    dept = await team.laura.store.departments.get_by_id("ggz")
    assert dept and dept.room_id
    await command(team, "admin", control, "!staff add @carla:localhost ggz", "uitgenodigd")
    await team["carla"].wait_invite(dept.room_id)
    await team["carla"].join(dept.room_id)
    await command(team, "admin", control, "!staff add carla ggz", "geen Matrix-gebruiker")
    await command(team, "admin", control, "!staff add @carla:localhost nergens", "geen afdeling")
    v = Visitor(team.handle.api)
    try:
        _, widget = await v.call("GET", "/widget", headers={}, expect=200)
        assert "ggz" in [t["id"] for t in widget["topics"]]
        await v.start(name="Gijs", topic="ggz")
        await team["carla"].wait_for(is_msg(dept.room_id, body_has="van Gijs"))
        await command(team, "admin", control, "!stats", "0 lopend, 3 vrij, 1 wachtend")
        await command(
            team, "admin", control, "!staff remove @carla:localhost ggz", "verwijderd uit"
        )
        await command(team, "admin", control, "!department remove ggz", "is verwijderd")
        _, widget = await v.call("GET", "/widget", headers={}, expect=200)
        assert "ggz" not in [t["id"] for t in widget["topics"]]
    finally:
        await v.close()
    await command(team, "admin", control, "!frobnicate", "Onbekend commando")


@ON_SQLITE
async def test_non_admin_is_refused(team: Team) -> None:
    control = team.rooms["control"]
    await team.laura.bridge.rooms.invite(control, team["anna"].user_id)
    await team["anna"].wait_invite(control)
    await team["anna"].join(control)
    for text in ("!set dispatch_timeout 1s", "!department add x X", "!stats", "!settings"):
        await command(team, "anna", control, text, "Alleen beheerders")
    assert await team.laura.settings.all() == {
        "dispatch_timeout": "5m",
        "queue_update_interval": "5m",
        "escalation_after": "2m",
        "offer_timeout": "1m",
        "inactivity_timeout": "30m",
        "inactivity_grace": "5m",
        "max_chats": "3",
        "max_file_mb": "10",
        "welcome_message": "-",
        "typing_preview": "off",
        "retention": "30d",
        "contact_retention": "30d",
        "case_retention": "365d",
        "audit_years": "5",
        "appointment_mail_auto": "on",
        "appointment_reminder_client": "1d",
        "appointment_reminder_adviser": "15m",
    }
    assert [d.id for d in await team.laura.store.departments.all_active()] == [
        "huisarts",
        "thuiszorg",
    ]
    # Admin commands are not available in a dispatch room either.
    await command(
        team, "anna", team.rooms["huisarts"], "!set dispatch_timeout 1s", "Onbekend commando"
    )
    help_text = await command(team, "anna", control, "!help", "!help")
    assert "!set" not in help_text


@ON_POSTGRES
async def test_config_changes_are_applied_at_start_up(team: Team) -> None:
    """An admin or staff member added to the config after the first start is invited where they
    belong; one removed from it is removed. People added with !staff add are left alone."""
    from tests.conftest import DEPARTMENTS, laura_overrides

    handle = team.handle
    outsider, bram, carla = team["outsider"], team["bram"], team["carla"]
    huisarts = team.rooms["huisarts"]
    # Carla joins huisarts by command (not in the config): a config change leaves her there.
    await command(team, "admin", team.rooms["control"], f"!staff add {carla.user_id} huisarts", "")
    await carla.wait_invite(huisarts)
    await carla.join(huisarts)
    env = handle.env
    base = laura_overrides(env, handle.db_url, handle.web_port)
    departments = [
        {
            "id": d["id"],
            "label": d["label"],
            "staff": [env.mxid(u) for u in d["staff"] if u != "bram"]
            + ([env.mxid("outsider")] if d["id"] == "huisarts" else []),
        }
        for d in DEPARTMENTS
    ]
    await handle.stop()
    handle.extra = {
        "laura.admins": base["laura.admins"] + [env.mxid("outsider")],
        "laura.departments": departments,
    }
    await handle.start()
    for room in (team.rooms["control"], huisarts, team.rooms["contact"]):
        await outsider.wait_invite(room)
    laura = handle.laura
    assert laura
    async with asyncio.timeout(20):
        while bram.user_id in await laura.bridge.people.members(huisarts):
            await asyncio.sleep(0.2)
    assert carla.user_id in await laura.bridge.people.members(huisarts)


@pytest.mark.laura_config({"laura.staff_language": "en"})
@ON_SQLITE
async def test_command_replies_follow_the_staff_language(team: Team) -> None:
    control = team.rooms["control"]
    help_text = await command(team, "admin", control, "!help", "Commands here:")
    assert "changes a setting" in help_text and "!deadletters" in help_text
    reply = await command(team, "admin", control, "!set dispatch_timeout 1s", "Not changed")
    assert "between 10s and 1d" in reply
    await command(team, "admin", control, "!set dispatch_timeout 2m", "is now 2m")
    await command(team, "admin", control, "!department add x", "Usage: !department add")
