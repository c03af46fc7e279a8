"""Consult-room commands for staff."""

from __future__ import annotations

from mautrix.types import MessageType

from ..status import Status
from ..video import jitsi_widget
from . import CONSULT, Context, registry


@registry.register("close", (CONSULT,))
async def cmd_close(ctx: Context) -> str:
    conv = await ctx.store.conversations.get_by_room(ctx.room_id)
    if conv is None:
        return ctx.bridge.t("already_closed")
    name = await ctx.bridge.display_name(ctx.room_id, ctx.sender)
    if not await ctx.conversations.close_by_staff(conv, ctx.sender):
        return ctx.bridge.t("already_closed")
    return ctx.bridge.t("closed", name=name)


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
    name = await ctx.store.staff.name_of(conv.id, ctx.sender) or await ctx.bridge.display_name(
        ctx.room_id, ctx.sender
    )
    content = jitsi_widget(
        video.domain, conference, widget_id, ctx.sender, t("video_widget_name"), conference
    )
    await ctx.bridge.add_widget(ctx.room_id, widget_id, content)
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
    mxc = await ctx.bridge.bot.upload_media(data, mime_type=mime)
    await ctx.bridge.send(
        ctx.room_id,
        {
            "msgtype": str(MessageType.FILE),
            "body": name,
            "filename": name,
            "url": str(mxc),
            "info": {"mimetype": mime, "size": len(data)},
            "m.mentions": {},
        },
        txn_id=f"laura.pdf.{ctx.event_id}",
    )
    return t("pdf_done", name=name)
