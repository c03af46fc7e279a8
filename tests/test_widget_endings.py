"""The visitor's side of ending a chat, in real headless Chromium (issue #8, "Endings"): the end
button asks first, the rating after a chat with staff (1-2 stars need a comment, once), and a
new chat in the same session that keeps the visitor's details and the old messages. Staff are
in Matrix through matrix-nio."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from laura_bot.dev.synapse import free_port
from tests.conftest import ON_POSTGRES, ON_SQLITE, Team
from tests.helpers import INLINE, CuttableLink, is_msg, secret

pytestmark = pytest.mark.synapse

# The widget lives in an open shadow root; this reaches into it from page.evaluate.
# The widget's shadow root; an empty fragment until the widget has drawn itself (it does once
# Laura has told it its texts), so a wait polls on instead of failing.
ROOT = "(document.querySelector('#laura-chat')?.shadowRoot ?? document.createDocumentFragment())"
SESSION = (
    "() => JSON.parse(Object.entries(localStorage).find(([k]) => k.startsWith('laura.chat.'))[1])"
)


def dispatch_of(team: Team, name: str) -> Any:
    """The dispatch request for `name` in the huisarts room (not its later edits)."""
    return lambda e: (
        is_msg(team.rooms["huisarts"], body_has=f"van {name}", msgtype="m.text")(e)
        and "m.relates_to" not in e["content"]
    )


async def connected_page(
    browser: Any,
    team: Team,
    name: str,
    query: str = "",
    origin: str | None = None,
    clock: bool = False,
) -> tuple[Any, str, str]:
    """A visitor in the page whose chat anna took: (page, consult room, dispatch event id);
    the page from Laura's own address unless origin says another; clock: the page's timers
    run on Playwright's clock (time flows, and the test can jump it ahead)."""
    anna = team["anna"]
    context = await browser.new_context(viewport={"width": 1000, "height": 760})
    page = await context.new_page()
    if clock:
        await page.clock.install()
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # The widget asks inside itself; a window.confirm() or alert() would land here.
    page.on("dialog", lambda d: dialogs.append(d.message))
    page.errors = errors
    page.dialogs = dialogs
    await page.goto(f"{origin or f'http://127.0.0.1:{team.handle.web_port}'}/{INLINE}{query}")
    await page.click("button.launcher")
    await page.fill("input[name=name]", name)
    await page.click("form.start button[type=submit]")
    await page.click("button[data-topic=huisarts]")
    dispatch = await anna.wait_for(dispatch_of(team, name), what="the dispatch message")
    await anna.react(team.rooms["huisarts"], dispatch["event_id"], "Ik!")
    consult = await anna.wait_invite()
    await anna.join(consult)
    await page.wait_for_function(
        f"() => {ROOT}.querySelector('.sub').textContent.includes('anna')"
    )
    return page, consult, dispatch["event_id"]


async def api(team: Team, page: Any, method: str, rest: str, body: Any = None) -> tuple[int, Any]:
    """The widget API as this page's visitor (with the token from its localStorage)."""
    session = await page.evaluate(SESSION)
    url = f"{team.handle.api}/sessions/{session['session_id']}{rest}"
    headers = {"Authorization": f"Bearer {session['token']}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def focused_text(page: Any) -> str:
    return str(await page.evaluate(f"() => ({ROOT}.activeElement || {{}}).textContent || ''"))


@ON_SQLITE
async def test_end_asks_first(browser: Any, team: Team) -> None:
    anna = team["anna"]
    page, consult, _ = await connected_page(browser, team, "Ilse")

    # Continue closes the question and the chat goes on.
    await page.click("button.end")
    await page.wait_for_selector(".ask-end:not([hidden]) >> text=Wil je het gesprek beëindigen?")
    assert await focused_text(page) == "Doorgaan"
    await page.click(".ask-end button >> text=Doorgaan")
    await page.wait_for_selector(".ask-end", state="hidden")
    assert (await api(team, page, "GET", ""))[1]["status"] == "connected"
    assert await page.is_visible("form.compose")

    # Escape is Continue too, and the question is reachable with the keyboard alone.
    await page.click("button.end")
    await page.wait_for_selector(".ask-end:not([hidden])")
    await page.keyboard.press("Escape")
    await page.wait_for_selector(".ask-end", state="hidden")
    await page.click("button.end")
    await page.wait_for_selector(".ask-end:not([hidden])")
    await page.keyboard.press("Tab")
    assert await focused_text(page) == "Beëindigen"
    await page.keyboard.press("Enter")

    notice = await anna.wait_for(
        is_msg(consult, body_has="De bezoeker heeft het gesprek beëindigd"),
        what="the visitor's end in the consult room",
    )
    assert notice["content"]["msgtype"] == "m.notice"
    # When it will be deleted is said in the same notice (one event, not two).
    assert "Dit gesprek wordt op" in notice["content"]["body"], notice["content"]["body"]
    await page.wait_for_selector("button.newchat")
    await page.wait_for_selector(".info.ended >> text=Het gesprek is beëindigd.")
    assert (await api(team, page, "GET", ""))[1]["status"] == "ended"
    assert await page.is_hidden("form.compose")
    assert await page.is_hidden("button.end")
    assert page.dialogs == []
    assert page.errors == []


@ON_POSTGRES
async def test_rating_with_comment_once(browser: Any, team: Team) -> None:
    anna = team["anna"]
    page, consult, _ = await connected_page(browser, team, "Joost")
    await anna.send(consult, "!close")
    await page.wait_for_selector("form.rating")
    assert await page.is_visible("button.transcript")
    for n, label in ((1, "1 ster"), (2, "2 sterren"), (5, "5 sterren")):
        radio = page.get_by_role("radio", name=label, exact=True)
        assert await radio.get_attribute("value") == str(n)

    # Two stars: the comment becomes required, with a visible hint, and the browser refuses.
    await page.get_by_role("radio", name="2 sterren", exact=True).check()
    await page.wait_for_selector("form.rating .hint:visible")
    assert await page.locator("form.rating textarea[name=comment][required]").count() == 1
    assert "(verplicht)" in await page.inner_text("form.rating label.comment")
    await page.click("form.rating button[type=submit]")
    await page.wait_for_selector("form.rating .error >> text=toelichting nodig")
    status, view = await api(team, page, "GET", "")
    assert view["rating"] is None and view["can_rate"] is True
    # The server holds the same rule.
    status, answer = await api(team, page, "POST", "/rating", {"stars": 2})
    assert (status, answer["error"]["code"]) == (400, "comment_required")

    comment = "De wachttijd was erg lang vandaag"
    secret(comment)
    await page.fill("form.rating textarea[name=comment]", comment)
    await page.click("form.rating button[type=submit]")
    await page.wait_for_selector(".rated >> text=Dank je wel voor je beoordeling")
    assert await page.locator("form.rating").count() == 0
    notice = await anna.wait_for(
        is_msg(consult, body_has="★★☆☆☆"), what="the rating in the consult room"
    )
    assert comment in notice["content"]["body"]
    status, view = await api(team, page, "GET", "")
    assert (view["rating"], view["can_rate"]) == (2, False)
    status, answer = await api(team, page, "POST", "/rating", {"stars": 5})
    assert (status, answer["error"]["code"]) == (409, "already_rated")

    # A reload shows the ended chat again, without a second rating form.
    await page.reload()
    await page.wait_for_selector("button.newchat")
    await page.wait_for_function(f"() => {ROOT}.querySelector('.sub') !== null")
    await page.wait_for_timeout(800)  # the session view (can_rate) has been read by now
    assert await page.locator("form.rating").count() == 0
    assert await page.is_visible("button.transcript")

    # Close closes the panel, and a reload then leaves it closed.
    await page.click("button.closechat")
    await page.wait_for_selector(".panel", state="hidden")
    assert await page.is_visible("button.launcher")
    await page.reload()
    await page.wait_for_selector("button.launcher")
    assert await page.is_hidden(".panel")
    await page.click("button.launcher")
    await page.wait_for_selector("button.newchat")
    assert page.errors == []


@ON_SQLITE
async def test_new_chat_in_the_same_session(browser: Any, team: Team) -> None:
    anna = team["anna"]
    page, consult, first = await connected_page(browser, team, "Gijs", "?lang=en")
    question = "My first question about the repeat prescription"
    secret(question)
    await page.fill("textarea[aria-label]", question)
    await page.keyboard.press("Enter")
    await anna.wait_for(is_msg(consult, body_has="first question"))
    session_id = (await page.evaluate(SESSION))["session_id"]
    await anna.send(consult, "!close")
    await page.wait_for_selector("form.rating")
    assert await page.get_by_role("radio", name="5 stars", exact=True).count() == 1

    # Rated meanwhile (another tab): the form says so in the widget's language.
    status, _ = await api(team, page, "POST", "/rating", {"stars": 4})
    assert status == 201
    await page.get_by_role("radio", name="5 stars", exact=True).check()
    await page.click("form.rating button[type=submit]")
    await page.wait_for_selector(".rated >> text=You have rated this chat already.")
    await anna.wait_for(is_msg(consult, body_has="★★★★☆"), what="the rating notice")

    # New chat: the topics again, no name/e-mail form, the old messages above a divider.
    await page.click("button.newchat >> text=New chat")
    await page.wait_for_selector("button[data-topic=huisarts]")
    assert await focused_text(page) != ""  # focus moved on to the topic choice
    assert await page.locator("form.start").count() == 0
    assert await page.locator("input[name=name]").count() == 0
    assert await page.is_visible(f".msg.visitor >> text={question}")
    await page.wait_for_selector(".divider >> text=New chat")
    assert await page.locator(".ended-actions, button.transcript, form.rating").count() == 0
    assert (await page.evaluate(SESSION))["session_id"] == session_id
    status, view = await api(team, page, "GET", "")
    assert view["status"] == "choosing" and view["rating"] is None and not view["can_rate"]
    assert await page.is_visible("button.end")

    await page.click("button[data-topic=huisarts]")
    second = await anna.wait_for(
        lambda e: dispatch_of(team, "Gijs")(e) and e["event_id"] != first,
        what="a second dispatch request",
    )
    assert second["event_id"] != first
    await page.wait_for_selector(".queue:not([hidden])")

    # A reload replays both chats, in order, with one divider and no ended screen.
    before = await page.locator(".msg, .divider, .info.ended").all_inner_texts()
    await page.reload()
    await page.wait_for_selector(".divider >> text=New chat")
    await page.wait_for_selector(".queue:not([hidden])")
    await page.wait_for_timeout(500)
    assert await page.locator(".msg, .divider, .info.ended").all_inner_texts() == before
    assert await page.locator(".divider").count() == 1
    assert await page.locator(".ended-actions").count() == 0
    assert await page.is_visible(f".msg.visitor >> text={question}")
    assert (await page.evaluate(SESSION))["session_id"] == session_id
    assert page.errors == []


@ON_SQLITE
async def test_delete_my_data(browser: Any, team: Team) -> None:
    """The ended screen offers "delete my data": asked once more, then the session is gone
    (the token no longer works, the stored chat is forgotten by the page) and Laura's tables
    hold nothing of the chat."""
    anna = team["anna"]
    page, consult, _ = await connected_page(browser, team, "Vera")
    await anna.send(consult, "Tot ziens Vera")
    await anna.send(consult, "!close")
    await page.wait_for_selector("button.forget")
    session = await page.evaluate(SESSION)
    conv_id = (await api(team, page, "GET", ""))[1]["conversation_id"]

    await page.click("button.forget")
    await page.wait_for_selector(".forget-ask >> text=niet ongedaan")
    assert await focused_text(page) == "Annuleren"
    await page.click("button.forget-no")
    await page.wait_for_selector(".forget-ask", state="detached")
    assert (await api(team, page, "GET", ""))[0] == 200  # cancelled: nothing deleted

    await page.click("button.forget")
    await page.click("button.forget-yes")
    await page.wait_for_selector(".forgotten >> text=Je gegevens zijn verwijderd.")
    stored = "() => Object.keys(localStorage).filter(k => k.startsWith('laura.chat.')).length"
    assert await page.evaluate(stored) == 0  # the page forgot the chat
    store = team.handle.laura.store if team.handle.laura else None
    assert store is not None
    assert await store.sessions.get_by_id(session["session_id"]) is not None
    assert (await store.sessions.get_by_id(session["session_id"])).name is None  # type: ignore[union-attr]
    assert (
        await store.db.fetchval("SELECT COUNT(*) FROM event WHERE conversation_id=$1", conv_id)
        == 0
    )
    url = f"{team.handle.api}/sessions/{session['session_id']}"
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": f"Bearer {session['token']}"}) as resp,
    ):
        assert resp.status == 401
    assert page.errors == []


@ON_POSTGRES
async def test_deleted_elsewhere_then_a_new_chat(browser: Any, team: Team) -> None:
    """The chat is deleted from another tab while this one listens: this tab hears it at once
    (its stream is closed with the session) and starts afresh, and the new chat's first
    events (the topics, the welcome) show, although the old chat had got further."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{team.handle.web_port}/{INLINE}")
        await page.click("button.launcher")
        await page.fill("input[name=name]", "Truus")
        await page.click("form.start button[type=submit]")
        await page.click("button[data-topic=huisarts]")
        await page.wait_for_selector(".queue:not([hidden])")
        for n in range(3):
            await page.fill("textarea[aria-label]", f"Bericht {n}")
            await page.keyboard.press("Enter")
            await page.wait_for_selector(f".msg.visitor >> text=Bericht {n}")
        status, _ = await api(team, page, "DELETE", "")  # "delete my data" in another tab
        assert status == 204
        # Whether the "ended" reached this tab before the chat was gone is a race: either
        # the ended screen (then "New chat" finds the session gone) or the start form at once.
        await page.wait_for_selector("form.start, button.newchat", timeout=15000)
        if await page.locator("button.newchat").count():
            await page.click("button.newchat")
        await page.wait_for_selector("form.start")
        await page.click("form.start button[type=submit]")
        await page.wait_for_selector("button[data-topic=huisarts]")
        assert await page.locator(".msg.visitor").count() == 0
    finally:
        await context.close()


LINK_PORT = free_port()
LINK = f"http://127.0.0.1:{LINK_PORT}"


@pytest.mark.laura_config({"web.allowed_origins": [LINK]})
@ON_POSTGRES
async def test_network_drop_and_resume(browser: Any, team: Team) -> None:
    """The chat listens on an event stream. The visitor's network drops (every connection
    cut, new ones refused): the visitor sees that it is reconnecting, and once the network is
    back every staff message sent meanwhile appears once, in order, resumed from the cursor."""
    anna = team["anna"]
    link = CuttableLink(LINK_PORT, team.handle.web_port)
    await link.start()
    try:
        page, consult, _ = await connected_page(browser, team, "Nora", origin=LINK)
        streams: list[str] = []
        page.on("request", lambda r: "/stream?" in r.url and streams.append(r.url))
        await anna.send(consult, "Eerste bericht.")
        await page.wait_for_selector(".msg.staff >> text=Eerste bericht.")
        link.cut()
        await page.wait_for_function(
            f"() => {ROOT}.querySelector('.panel > .error').textContent"
            ".includes('opnieuw verbinden')"
        )
        for text in ("Tweede bericht.", "Derde bericht."):
            await anna.send(consult, text)
        await asyncio.sleep(1)
        link.restore()
        await page.wait_for_selector(".msg.staff >> text=Derde bericht.", timeout=15000)
        await page.wait_for_function(
            f"() => {ROOT}.querySelector('.panel > .error').textContent === ''"
        )
        staff = await page.evaluate(
            f"() => [...{ROOT}.querySelectorAll('.msg.staff')].map(m => m.lastChild.textContent)"
        )
        assert staff == ["Eerste bericht.", "Tweede bericht.", "Derde bericht."], staff
        assert streams, "the widget never opened an event stream"
        assert page.errors == []
    finally:
        await link.stop()


@pytest.mark.parametrize(
    "db_url", ["sqlite"], indirect=True
)  # the widget's part: one DB is enough
@pytest.mark.laura_config({"web.allowed_origins": [LINK]})
async def test_silent_network_drop(browser: Any, team: Team) -> None:
    """A network that drops without closing anything (a phone between networks): nothing
    comes through, not even the stream's keep-alive. The widget notices within a minute, says
    it is reconnecting, and once bytes flow again goes on where it was, on the stream. (The
    page's clock is jumped over the 45 seconds of silence the widget waits for.)"""
    anna = team["anna"]
    link = CuttableLink(LINK_PORT, team.handle.web_port)
    await link.start()
    try:
        page, consult, _ = await connected_page(browser, team, "Otto", origin=LINK, clock=True)
        streams: list[str] = []
        polls: list[str] = []
        page.on("request", lambda r: "/stream?" in r.url and streams.append(r.url))
        page.on("request", lambda r: "timeout=25" in r.url and polls.append(r.url))
        link.stalled = True
        await anna.send(consult, "Hoort u mij?")
        await asyncio.sleep(1)  # the message is on its way: held in the stalled link
        error = f"{ROOT}.querySelector('.panel > .error').textContent"
        assert await page.evaluate(f"() => {error}") == ""  # no alarm before its time
        # (The page's clock also runs on in real time: 15 s of it spare for a slow machine.)
        await page.clock.run_for(30000)
        assert await page.evaluate(f"() => {error}") == ""  # 30 s of silence: still waiting
        await page.clock.run_for(16000)
        await page.wait_for_function(f"() => {error}.includes('opnieuw verbinden')", timeout=30000)
        link.cut()  # the stalled connections are gone for good; new ones get through
        link.restore()
        await page.wait_for_selector(".msg.staff >> text=Hoort u mij?", timeout=15000)
        await page.wait_for_function(
            f"() => {ROOT}.querySelector('.panel > .error').textContent === ''"
        )
        await anna.send(consult, "Fijn.")
        await page.wait_for_selector(".msg.staff >> text=Fijn.")
        assert streams and polls == []  # back on the stream, never fallen back to polling
        assert page.errors == []
    finally:
        await link.stop()
