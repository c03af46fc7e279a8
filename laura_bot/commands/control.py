"""Control-room commands for admins."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from mautrix.types import RoomID, UserID

from ..config import SETTING_KEYS, SETTING_RANGES
from ..db.conversations import Status
from ..errors import LauraError
from ..util import format_duration
from . import CONTROL, Context, registry

_DEPT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_MXID = re.compile(r"^@[^:\s]+:\S+$")


@registry.register(
    "departments", "!departments", "toont de afdelingen (onderwerpen)", (CONTROL,), admin=True
)
async def cmd_departments(ctx: Context) -> str:
    depts = await ctx.laura.store.departments.all_active()
    if not depts:
        return "Er zijn nog geen afdelingen. Voeg er een toe met !department add <id> <naam>."
    lines = ["Afdelingen:"]
    for d in depts:
        members = await ctx.laura.bridge.members(d.room_id) if d.room_id else set()
        lines.append(f"- {d.id}: {d.label} ({len(members)} medewerkers, {d.routing})")
    return "\n".join(lines)


@registry.register(
    "department",
    "!department add <id> <naam> | !department remove <id>",
    "voegt een afdeling toe of haalt haar weg",
    (CONTROL,),
    admin=True,
)
async def cmd_department(ctx: Context) -> str:
    args = ctx.args
    if len(args) >= 3 and args[0] == "add":
        dept_id, label = args[1].lower(), " ".join(args[2:]).strip()
        if not _DEPT_ID.match(dept_id):
            return (
                "Een afdelings-id bestaat uit kleine letters, cijfers, - en _ (hoogstens "
                "32 tekens), bijvoorbeeld: !department add huisarts Huisartsenpraktijk"
            )
        if len(label) > 80:
            return "De naam is te lang (hoogstens 80 tekens)."
        if not await ctx.laura.store.departments.add(dept_id, label):
            return f"Afdeling {dept_id} bestaat al."
        dept = await ctx.laura.store.departments.get_by_id(dept_id)
        if dept and not dept.room_id:
            await ctx.laura.bridge.create_dispatch_room(dept_id, label, [])
        return (
            f"Afdeling {dept_id} ({label}) is toegevoegd, met een eigen aanmeldkamer. "
            f"Voeg medewerkers toe met !staff add <gebruiker> {dept_id}."
        )
    if len(args) == 2 and args[0] == "remove":
        if not await ctx.laura.store.departments.deactivate(args[1]):
            return f"Er is geen afdeling {args[1]}."
        return (
            f"Afdeling {args[1]} is verwijderd: bezoekers kunnen haar niet meer kiezen. "
            "Lopende gesprekken gaan gewoon door."
        )
    return "Gebruik: !department add <id> <naam> of !department remove <id>"


@registry.register(
    "staff",
    "!staff add|remove <gebruiker> <afdeling>",
    "voegt iemand toe aan een afdeling of haalt iemand weg",
    (CONTROL,),
    admin=True,
)
async def cmd_staff(ctx: Context) -> str:
    if len(ctx.args) != 3 or ctx.args[0] not in ("add", "remove"):
        return "Gebruik: !staff add <@gebruiker:server> <afdeling> of !staff remove ..."
    action, user, dept_id = ctx.args
    if not _MXID.match(user):
        return f"{user} is geen Matrix-gebruiker; schrijf het als @naam:server."
    if ctx.laura.config.is_own_user(user):
        return "Laura en bezoekers kunnen geen medewerker zijn."
    dept = await ctx.laura.store.departments.get_by_id(dept_id)
    if dept is None or not dept.active or not dept.room_id:
        return f"Er is geen afdeling {dept_id}. Zie !departments."
    bridge = ctx.laura.bridge
    if action == "add":
        await bridge.invite(dept.room_id, user)
        if bridge.contact_room:
            await bridge.invite(bridge.contact_room, user)
        return (
            f"{user} is uitgenodigd voor de aanmeldkamer van {dept.label}; zodra die "
            "uitnodiging is aangenomen, krijgt die persoon de vragen van deze afdeling."
        )
    members = await bridge.members(dept.room_id)
    if user not in members:
        return f"{user} hoort niet bij {dept.label}."
    await bridge.bot.kick_user(
        RoomID(dept.room_id), UserID(user), reason="Verwijderd uit de afdeling"
    )
    return f"{user} is verwijderd uit {dept.label}."


@registry.register("settings", "!settings", "toont de instellingen", (CONTROL,), admin=True)
async def cmd_settings(ctx: Context) -> str:
    values = await ctx.laura.settings.all()
    return "\n".join(f"{k}: {v}" for k, v in values.items())


@registry.register(
    "set",
    "!set <instelling> <waarde>",
    f"wijzigt een instelling ({', '.join(SETTING_KEYS)}; duur als 30s, 5m, 2h)",
    (CONTROL,),
    admin=True,
)
async def cmd_set(ctx: Context) -> str:
    if len(ctx.args) != 2:
        ranges = ", ".join(
            f"{k} ({format_duration(low)}–{format_duration(high)})"
            for k, (low, high) in SETTING_RANGES.items()
        )
        return (
            f"Gebruik: !set <instelling> <waarde>, bijvoorbeeld !set dispatch_timeout 5m. "
            f"Instellingen: {ranges}."
        )
    try:
        value = await ctx.laura.settings.set(ctx.args[0], ctx.args[1])
    except LauraError as e:
        return f"Niet gewijzigd: {e.message}"
    return f"{ctx.args[0]} is nu {value}. Dit geldt voor nieuwe vragen."


@registry.register(
    "stats", "!stats", "wachtende en lopende gesprekken per afdeling", (CONTROL,), admin=True
)
async def cmd_stats(ctx: Context) -> str:
    counts = await ctx.laura.store.conversations.counts_by_department()
    lines = ["Per afdeling: wachtend / in gesprek / contactgegevens gevraagd"]
    for d in await ctx.laura.store.departments.all_active():
        lines.append(
            f"- {d.id}: {counts.get((d.id, Status.WAITING), 0)} / "
            f"{counts.get((d.id, Status.CONNECTED), 0)} / "
            f"{counts.get((d.id, Status.CONTACT), 0)}"
        )
    return "\n".join(lines)


@registry.register(
    "deadletters",
    "!deadletters [retry <nr>]",
    "toont Matrix-gebeurtenissen die Laura oversloeg (zonder inhoud), of probeert er een opnieuw",
    (CONTROL,),
    admin=True,
)
async def cmd_deadletters(ctx: Context) -> str:
    laura = ctx.laura
    t = laura.bridge.t
    inbox = laura.store.inbox
    if len(ctx.args) == 2 and ctx.args[0] == "retry":
        seq = ctx.args[1].lstrip("#")
        if not seq.isdigit() or len(seq) > 18:
            return t("dead_usage")
        room_id = await inbox.revive(int(seq))
        if room_id is None:
            return t("dead_unknown", seq=seq)
        laura.router.kick([room_id])
        return t("dead_retried", seq=seq)
    if ctx.args:
        return t("dead_usage")
    letters = await inbox.dead_letters()
    if not letters:
        return t("dead_none")
    zone = ZoneInfo(laura.config["laura.timezone"])
    rooms = await _room_names(ctx)
    lines = [t("dead_title", total=await inbox.count_dead())]
    for d in letters:
        when = datetime.fromtimestamp(d.dead_at / 1000, zone).strftime("%d-%m %H:%M")
        lines.append(
            t(
                "dead_line",
                seq=d.seq,
                when=when,
                type=d.type,
                sender=d.sender,
                room=rooms.get(d.room_id, d.room_id),
                reason=d.reason,
                attempts=d.attempts,
            )
        )
    return "\n".join(lines)


async def _room_names(ctx: Context) -> dict[str, str]:
    """Readable names for Laura's fixed rooms and dispatch rooms; consult rooms keep their id."""
    bridge = ctx.laura.bridge
    names = {}
    if bridge.control_room:
        names[bridge.control_room] = bridge.t("control_name")
    if bridge.contact_room:
        names[bridge.contact_room] = bridge.t("contact_name")
    for d in await ctx.laura.store.departments.all_active():
        if d.room_id:
            names[d.room_id] = bridge.t("dispatch_name", label=d.label)
    return names
