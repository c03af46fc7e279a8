"""Consult-room commands for staff."""

from __future__ import annotations

from ..db.conversations import Conversation
from ..status import Status
from ..video import jitsi_widget
from .base import CONSULT, Context, registry


@registry.register("close", (CONSULT,))
async def cmd_close(ctx: Context) -> str:
    conv = await ctx.store.conversations.get_by_room(ctx.room_id)
    if conv is None:
        return ctx.bridge.t("already_closed")
    if not await ctx.staff_actions.close_by_staff(conv, ctx.sender, ctx.event_id):
        return ctx.bridge.t("already_closed")
    # The answer is the room's closing notice (bridge: who closed it and the deletion date in
    # one event), sent from what the close stored.
    return ""


@registry.register("video", (CONSULT,))
async def cmd_video(ctx: Context) -> str:
    """A Jitsi widget in the room, as Element's own button adds one; the visitor is offered to
    join the same conference in the chat."""
    t, video = ctx.bridge.t, ctx.services.video
    if not video.enabled:
        return t("video_off")
    conv = await ctx.store.conversations.get_by_room(ctx.room_id)
    if conv is None or conv.status != Status.CONNECTED:
        return t("video_not_connected")
    if conv.video_widget_id:
        return t("video_already")
    widget_id, conference = video.new_conference(conv)
    people = ctx.bridge.people
    name = await ctx.store.staff.name_of(conv.id, ctx.sender) or await people.staff_name(
        ctx.room_id, ctx.sender
    )
    content = jitsi_widget(
        video.domain, conference, widget_id, ctx.sender, t("video_widget_name"), conference
    )
    await ctx.bridge.widgets.add(ctx.room_id, widget_id, content)
    await video.started(conv, widget_id, video.domain, conference, name)
    return t("video_started")


@registry.register("pdf", (CONSULT,))
async def cmd_pdf(ctx: Context) -> str:
    """The transcript as a file in the room; `!pdf files` a zip with the files too."""
    t = ctx.bridge.t
    if ctx.args and ctx.args != ["files"]:
        return t("pdf_usage_bad")
    conv = await ctx.store.conversations.get_by_room(ctx.room_id)
    if conv is None:
        return t("pdf_no_chat")
    lang = ctx.config["laura.staff_language"]
    transcripts = ctx.services.transcripts
    if ctx.args:
        data, mime = await transcripts.with_files(conv, lang), "application/zip"
        name = transcripts.file_name(conv, lang, "zip")
    else:
        data, mime = await transcripts.pdf(conv, lang), "application/pdf"
        name = transcripts.file_name(conv, lang, "pdf")
    await ctx.bridge.sender.send_file(
        ctx.room_id,
        data,
        mime,
        name,
        f"laura.pdf.{ctx.event_id}",
        purpose="chat",
        conversation_id=conv.id,
    )
    await ctx.store.audit.record(
        ctx.sender, "exported", conv.id, "pdf files" if ctx.args else "pdf"
    )
    return t("pdf_done", name=name)


@registry.register("invite", (CONSULT,))
async def cmd_invite(ctx: Context) -> str:
    """A colleague joins the chat (staff of any department, or an admin); they read the whole
    history. Element's own invite needs a power level staff do not have in consult rooms."""
    t = ctx.bridge.t
    if len(ctx.args) != 1 or not ctx.args[0].startswith("@") or ":" not in ctx.args[0]:
        return t("invite_usage")
    user = ctx.args[0]
    conv = await ctx.store.conversations.get_by_room(ctx.room_id)
    if conv is None or conv.status != Status.CONNECTED:
        return t("invite_not_connected")
    if ctx.config.is_own_user(user) or not await ctx.bridge.people.is_staff(user):
        return t("invite_not_staff", user=user)
    if user in {u for u, _ in await ctx.store.staff.joined(conv.id)}:
        return t("invite_already", user=user)
    name = await ctx.bridge.people.staff_name(ctx.room_id, user)
    await ctx.staff_actions.invite_colleague(conv, user, name)
    return t("invite_done", user=user)


@registry.register("leave", (CONSULT,))
async def cmd_leave(ctx: Context) -> str:
    """Leave the chat (a transfer is !invite, then !leave). The last staff member cannot leave
    a visitor alone: `!leave queue` hands the visitor back to the queue, at the front."""
    t = ctx.bridge.t
    to_queue = ctx.args == ["queue"] or ctx.args == ["wachtrij"]
    if ctx.args and not to_queue:
        return t("leave_usage")
    conv = await ctx.store.conversations.get_by_room(ctx.room_id)
    others = []
    if conv is not None:  # a colleague invited but not joined yet counts: a transfer
        others = [u for u in await ctx.store.staff.present(conv.id) if u != ctx.sender]
    if conv is not None and conv.status == Status.CONNECTED and not others:
        if not to_queue:
            return t("leave_last")
        # Out of the room first: leaving as the last one hands the visitor back (and a kick
        # that fails leaves the chat as it was, for the command to be given again).
        await _remove(ctx, conv)
        return t("leave_queued")
    if to_queue:
        return t("leave_queue_not_last")
    await _remove(ctx, conv)
    return t("leave_done")


async def _remove(ctx: Context, conv: Conversation | None) -> None:
    """Laura takes the sender out of the room. Her own kick never comes back to her as an
    event (the inbox skips Laura's own events), so the chat is told here."""
    name = (
        conv and await ctx.store.staff.name_of(conv.id, ctx.sender)
    ) or await ctx.bridge.people.staff_name(ctx.room_id, ctx.sender)
    await ctx.bridge.rooms.remove(ctx.room_id, ctx.sender, ctx.bridge.t("leave_reason"))
    if conv is not None:
        await ctx.staff_actions.staff_membership(conv, ctx.sender, name, "leave")
