"""The widget in real headless Chromium, with staff in Matrix through matrix-nio."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Team
from tests.helpers import INLINE, Visitor, is_msg

pytestmark = [pytest.mark.synapse, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


async def open_widget(
    browser: Any, team: Team, query: str = "", locale: str | None = None, init_script: str = ""
) -> Any:
    """The inline demo page in a new context; page.errors collects its script errors."""
    context = await browser.new_context(viewport={"width": 1000, "height": 760}, locale=locale)
    page = await context.new_page()
    if init_script:
        await page.add_init_script(init_script)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    await page.goto(f"http://127.0.0.1:{team.handle.web_port}/{INLINE}{query}")
    return page


async def test_widget_chat_with_staff(browser: Any, team: Team) -> None:
    anna = team["anna"]
    page = await open_widget(browser, team)
    await page.click("button.launcher")
    await page.fill("input[name=name]", "Els")
    await page.click("form.start button[type=submit]")
    await page.click("button[data-topic=huisarts]")
    await page.wait_for_selector(".queue:not([hidden])")
    assert "nummer 1" in await page.inner_text(".queue")
    await page.fill("textarea[aria-label]", "Mag ik mijn recept verlengen?")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".msg.visitor >> text=Mag ik mijn recept verlengen?")

    dispatch = await anna.wait_for(
        is_msg(team.rooms["huisarts"], body_has="van Els", msgtype="m.text")
    )
    await anna.react(team.rooms["huisarts"], dispatch["event_id"], "Ik!")
    consult = await anna.wait_invite()
    await anna.join(consult)
    await anna.wait_for(is_msg(consult, body_has="recept verlengen"))
    await anna.send(consult, "Goedemiddag Els, dat kan zeker.")
    await page.wait_for_selector(".msg.staff >> text=Goedemiddag Els, dat kan zeker.")
    await page.wait_for_selector(".msg.bot >> text=anna neemt deel aan het gesprek.")
    await page.wait_for_function(
        "() => document.querySelector('#laura-chat').shadowRoot"
        ".querySelector('.sub').textContent.includes('anna')"
    )
    assert await page.is_hidden(".queue")

    # V6: a reload replays the same conversation from the server, nothing lost or doubled.
    before = await page.locator(".msg").all_inner_texts()
    await page.reload()
    await page.wait_for_selector(".msg.staff >> text=Goedemiddag Els, dat kan zeker.")
    await page.wait_for_timeout(500)
    assert await page.locator(".msg").all_inner_texts() == before

    # Text is text: markup from staff is shown, not executed.
    await anna.send(consult, "<img src=x onerror=window.pwned=1> <b>vet</b>")
    await page.wait_for_selector(".msg.staff >> text=<b>vet</b>")
    assert await page.evaluate("() => window.pwned === undefined")
    # Web addresses become links that open apart from the page; nothing else does.
    await anna.send(
        consult,
        "Zie https://zorg.example.org/info?a=1&b=2. Of <a href=javascript:alert(1)>hier</a> "
        "en javascript:alert(2) en www.example.org.",
    )
    await page.wait_for_selector(".msg.staff >> text=javascript:alert(2)")
    links = await page.evaluate(
        "() => [...document.querySelector('#laura-chat').shadowRoot"
        ".querySelectorAll('.msg.staff a')].map(a => [a.href, a.textContent, a.target, a.rel])"
    )
    assert links == [
        [
            "https://zorg.example.org/info?a=1&b=2",
            "https://zorg.example.org/info?a=1&b=2",
            "_blank",
            "noopener noreferrer",
        ]
    ], links

    await anna.send(consult, "!close")
    await page.wait_for_selector("button.newchat")
    assert await page.is_hidden("form.compose")
    await page.click("button.newchat")
    # A new chat in the same session: straight to the topics, no details asked again.
    await page.wait_for_selector("button[data-topic=huisarts]")
    assert await page.locator("form.start").count() == 0
    assert page.errors == []


@pytest.mark.laura_config({"laura.settings.dispatch_timeout": "10s"})
async def test_widget_contact_form(browser: Any, team: Team) -> None:
    page = await open_widget(browser, team, "?lang=en")
    await page.click("button.launcher >> text=Chat with us")
    await page.click("form.start button[type=submit]")
    await page.click("button[data-topic=thuiszorg]")
    await page.wait_for_selector("form.contact", timeout=40000)
    # "Keep waiting" starts a new round: the form goes, and comes back after the next timeout.
    await page.click("form.contact button.wait")
    await page.wait_for_selector("form.contact", state="detached")
    await page.wait_for_selector("text=looking for someone again")
    await page.wait_for_selector("form.contact", timeout=40000)
    # The contact state passes the accessibility scan too (its screenshot, in English).
    assert await accessibility(page, "en-desktop-7-contact") == []
    await page.click("form.contact button[type=submit]")
    assert "phone number or an e-mail" in await page.inner_text("form.contact .error")
    await page.fill("form.contact input[name=email]", "jan@example.org")
    await page.fill("form.contact textarea[name=message]", "Bel me morgen")
    await page.click("form.contact button[type=submit]")
    await page.wait_for_selector("button.newchat")
    post = await team["admin"].wait_for(is_msg(team.rooms["contact"], body_has="jan@example.org"))
    assert "Bel me morgen" in post["content"]["body"]
    assert page.errors == []


async def test_widget_offline_state_with_contact_form(browser: Any, team: Team) -> None:
    """V13: nobody available → the out-of-office text and a contact form, no chat."""
    from tests.test_commands import command

    for user, room in (("anna", "huisarts"), ("bram", "huisarts"), ("carla", "thuiszorg")):
        await command(team, user, team.rooms[room], "!status offline", "offline")
    page = await open_widget(browser, team, "?lang=en")
    await page.click("button.launcher")
    await page.wait_for_selector("p.offline >> text=Nobody is available for the chat right now")
    assert await page.locator("form.start").count() == 0
    assert await accessibility(page, "en-desktop-8-offline") == []
    await page.fill("form.offline input[name=phone]", "+31 6 5555 1234")
    await page.select_option("form.offline select[name=topic_id]", "thuiszorg")
    await page.fill("form.offline textarea[name=message]", "Graag terugbellen over zorg")
    await page.click("form.offline button[type=submit]")
    await page.wait_for_selector("p.thanks")
    post = await team["admin"].wait_for(
        is_msg(team.rooms["contact"], body_has="+31 6 5555 1234"), what="the contact request"
    )
    assert "Thuiszorg" in post["content"]["body"]
    assert "Graag terugbellen over zorg" in post["content"]["body"]
    assert page.errors == []


@pytest.mark.parametrize(
    ("locale", "html_lang", "data_lang", "expected"),
    [
        ("en-US", "", "", "Chat with us"),  # the browser's language, on a page without one
        ("en-US", "nl", "", "Chat met ons"),  # the page's own language comes first
        ("nl-NL", "nl", "en", "Chat with us"),  # data-lang on the script tag, first of all
        ("fr-FR", "", "", "Chat met ons"),  # a language Laura does not have: Dutch
    ],
)
async def test_language_from_the_page_and_the_browser(
    browser: Any, team: Team, locale: str, html_lang: str, data_lang: str, expected: str
) -> None:
    origin = f"http://127.0.0.1:{team.handle.web_port}"
    lang_attr = f' lang="{html_lang}"' if html_lang else ""
    data_attr = f' data-lang="{data_lang}"' if data_lang else ""
    html = (
        f"<!doctype html><html{lang_attr}><head><title>Host</title></head><body>"
        f'<script src="/widget/laura-widget.js"{data_attr} defer></script></body></html>'
    )
    context = await browser.new_context(locale=locale)
    try:
        page = await context.new_page()
        await page.route(
            f"{origin}/host-page",
            lambda route: route.fulfill(status=200, content_type="text/html", body=html),
        )
        await page.goto(f"{origin}/host-page")
        launcher = page.locator("button.launcher")
        await launcher.wait_for()
        assert await launcher.inner_text() == expected
    finally:
        await context.close()


async def test_unread_messages_on_the_launcher_and_in_the_title(browser: Any, team: Team) -> None:
    """Staff's messages while the chat is closed count on the launcher and in the page title
    until the visitor opens it; a reload does not count the history again."""
    from tests.test_widget_endings import connected_page

    anna = team["anna"]
    page, consult, _ = await connected_page(browser, team, "Ursula")
    title = await page.title()
    await page.click("button.close")
    await anna.send(consult, "Bent u er nog?")
    await anna.send(consult, "Ik wacht even.")
    await page.wait_for_function(
        "() => document.querySelector('#laura-chat').shadowRoot"
        ".querySelector('.launcher .badge').textContent === '2'"
    )
    assert await page.title() == f"(2) {title}"
    label = await page.get_attribute("#laura-chat >> button.launcher", "aria-label")
    assert label == "Chat met ons (2 nieuw)"
    await page.click("button.launcher")
    await page.wait_for_function(f"() => document.title === {title!r}")
    assert await page.is_hidden("button.launcher")
    await page.click("button.close")  # closed again: a replay must not count as new
    await page.reload()
    await page.wait_for_selector(".msg.staff >> text=Ik wacht even.", state="attached")
    await asyncio.sleep(1)
    assert await page.title() == title
    assert await page.is_hidden(".launcher .badge")
    assert page.errors == []


async def test_keyboard_open_and_escape(browser: Any, team: Team) -> None:
    """Keyboard alone: the launcher opens the chat with focus inside it; Escape closes it and
    focus goes back to the launcher. Escape elsewhere on the page leaves the widget alone."""
    page = await open_widget(browser, team)
    launcher = page.locator("button.launcher")
    await launcher.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".panel:not([hidden])")
    inside = "() => document.activeElement && document.activeElement.id === 'laura-chat'"
    assert await page.evaluate(inside)
    await page.keyboard.press("Escape")
    await page.wait_for_selector(".panel", state="hidden")
    focused = (
        "() => document.querySelector('#laura-chat').shadowRoot.activeElement"
        "?.classList.contains('launcher')"
    )
    assert await page.evaluate(focused)
    await page.keyboard.press("Enter")  # open again, then move focus out of the widget
    await page.wait_for_selector(".panel:not([hidden])")
    await page.evaluate("() => document.activeElement.blur()")
    await page.keyboard.press("Escape")
    assert await page.is_visible(".panel")
    assert page.errors == []


@pytest.mark.laura_config(
    {"web.consent": True, "web.privacy_url": "https://zorg.example.org/privacy"}
)
async def test_consent_before_the_first_message(browser: Any, team: Team) -> None:
    """With web.consent, the start form has a required tick box with the statement's link,
    and the API refuses a chat without consent; the consent is in the audit trail."""
    probe = Visitor(team.handle.api)
    status, body = await probe.call("POST", "/sessions", {"name": "Zonder"})
    assert status == 400 and body["error"]["code"] == "consent_required", body
    status, body = await probe.call("POST", "/sessions", {"consent": "ja"})
    assert status == 400 and body["error"]["code"] == "bad_consent", body
    await probe.close()

    page = await open_widget(browser, team)
    await page.click("button.launcher")
    box = page.locator("form.start input[name=consent]")
    await box.wait_for()
    label = page.locator("form.start label.consent")
    assert "privacyverklaring gelezen" in await label.inner_text()
    link = label.locator("a")
    assert await link.get_attribute("href") == "https://zorg.example.org/privacy"
    assert await link.get_attribute("rel") == "noopener noreferrer"
    await page.fill("input[name=name]", "Wim")
    await page.click("form.start button[type=submit]")
    await asyncio.sleep(0.5)
    assert await page.is_visible("form.start")  # not ticked: the browser held the form back
    await box.check()
    await page.click("form.start button[type=submit]")
    await page.wait_for_selector("button[data-topic=huisarts]")
    session = await page.evaluate(
        "() => JSON.parse(Object.entries(localStorage)"
        ".find(([k]) => k.startsWith('laura.chat.'))[1])"
    )
    assert team.handle.laura
    conv = await team.handle.laura.store.sessions.get_by_id(session["session_id"])
    assert conv and conv.conversation_id
    records = await team.handle.laura.store.audit.of_conversation(conv.conversation_id)
    assert [(r.actor, r.action) for r in records] == [("visitor", "consented")]
    assert page.errors == []


PORTAL_SECRET = "portal-secret-" + "z" * 40


def portal_token(sub: str, name: str) -> str:
    import time

    import jwt

    claims = {"sub": sub, "name": name, "exp": int(time.time()) + 600}
    return jwt.encode(claims, PORTAL_SECRET, algorithm="HS256")


@pytest.mark.laura_config({"web.portal_secret": PORTAL_SECRET, "web.portal_required": True})
async def test_portal_mode_in_the_widget(browser: Any, team: Team) -> None:
    """The host portal puts the signed-in visitor's token on the script tag: the chat starts
    under the portal's name, staff see it verified; logged out, the widget asks to sign in;
    another person signed in on the same browser does not see the chat; the first one, back
    again, does."""
    anna = team["anna"]
    origin = f"http://127.0.0.1:{team.handle.web_port}"
    page_for: dict[str, str] = {}

    async def host(route: Any) -> None:
        token = page_for.get("token", "")
        attr = f' data-identity="{token}"' if token else ""
        html = (
            "<!doctype html><html lang='nl'><head><title>Portaal</title></head><body>"
            f'<script src="/widget/laura-widget.js"{attr} defer></script></body></html>'
        )
        await route.fulfill(status=200, content_type="text/html", body=html)

    context = await browser.new_context()
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.route(f"{origin}/portal", host)
        page_for["token"] = portal_token("klant-1", "Mevrouw De Vries")
        await page.goto(f"{origin}/portal")
        await page.click("button.launcher")
        await page.wait_for_selector("form.start >> text=aangemeld via het portaal")
        assert await page.locator("form.start input[name=name]").count() == 0  # nothing to fill
        await page.click("form.start button[type=submit]")
        await page.click("button[data-topic=huisarts]")
        dispatch = await anna.wait_for(
            is_msg(team.rooms["huisarts"], body_has="van Mevrouw De Vries", msgtype="m.text"),
            what="the dispatch message",
        )
        assert "portaal-id klant-1" in dispatch["content"]["body"]
        await page.fill("textarea[aria-label]", "Vraag van de eerste klant")
        await page.keyboard.press("Enter")
        await page.wait_for_selector(".msg.visitor >> text=Vraag van de eerste klant")

        page_for["token"] = ""  # logged out of the portal
        await page.reload()
        await page.click("button.launcher")
        await page.wait_for_selector(".info.sign-in >> text=Log in op het portaal")
        assert await page.locator(".msg.visitor").count() == 0

        page_for["token"] = portal_token("klant-2", "Meneer Bakker")  # someone else
        await page.reload()
        await page.click("button.launcher")
        await page.wait_for_selector("form.start")
        assert await page.locator(".msg.visitor").count() == 0

        page_for["token"] = portal_token("klant-1", "Mevrouw De Vries")  # the first, again
        await page.reload()
        await page.wait_for_selector(".msg.visitor >> text=Vraag van de eerste klant")
        assert errors == []
    finally:
        await context.close()


OUTPUT = Path(os.environ.get("LAURA_TEST_OUTPUT", Path(__file__).parents[1] / "test-output"))


async def accessibility(page: Any, state: str, frame: Any = None) -> list[str]:
    """axe-core's serious and critical findings on the page as it is (shadow DOM included),
    or inside one of its frames (the chat's, from laura.js), and a screenshot of the whole
    page under test-output/screenshots/."""
    from axe_playwright_python.async_playwright import Axe

    shots = OUTPUT / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(shots / f"{state}.png"))
    results = await Axe().run(frame or page)
    return [
        f"{state}: {v['id']} ({v['impact']}) {v['help']}: "
        + "; ".join(str(n["target"]) for n in v["nodes"])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_accessibility_of_every_state(browser: Any, team: Team) -> None:
    """axe-core finds nothing serious or critical in any state of the chat (launcher, start
    form, topics, waiting, connected, ended with the rating), on a desktop and on a 360 px
    phone; on the phone and at 200 % zoom the chat fits the screen without sideways
    scrolling and its controls stay within reach."""
    anna = team["anna"]
    found: list[str] = []
    for size, (width, height, scale) in {
        "desktop": (1000, 760, 1),
        "phone": (360, 740, 2),
        "zoom200": (640, 360, 2),  # a 1280 × 720 screen at 200 %
    }.items():
        context = await browser.new_context(
            viewport={"width": width, "height": height}, device_scale_factor=scale
        )
        try:
            page = await context.new_page()
            await page.goto(f"http://127.0.0.1:{team.handle.web_port}/{INLINE}")
            await page.locator("button.launcher").wait_for()
            found += await accessibility(page, f"{size}-1-launcher")
            await page.click("button.launcher")
            await page.wait_for_selector("form.start")
            found += await accessibility(page, f"{size}-2-start")
            await page.fill("input[name=name]", f"Toegankelijk {size}")
            await page.click("form.start button[type=submit]")
            await page.wait_for_selector("button[data-topic=huisarts]")
            found += await accessibility(page, f"{size}-3-topics")
            await page.click("button[data-topic=huisarts]")
            await page.wait_for_selector(".queue:not([hidden])")
            found += await accessibility(page, f"{size}-4-waiting")
            dispatch = await anna.wait_for(
                is_msg(team.rooms["huisarts"], body_has=f"van Toegankelijk {size}"),
                what="the dispatch message",
            )
            await anna.react(team.rooms["huisarts"], dispatch["event_id"], "Ik!")
            consult = await anna.wait_invite()
            await anna.join(consult)
            await anna.send(consult, "Goedemiddag, waarmee kan ik u helpen?")
            await page.wait_for_selector(".msg.staff >> text=Goedemiddag, waarmee")
            await page.fill("textarea[aria-label]", "Ik heb een vraag over mijn recept.")
            await page.keyboard.press("Enter")
            await page.wait_for_selector(".msg.visitor >> text=Ik heb een vraag")
            found += await accessibility(page, f"{size}-5-connected")
            # Fits: no sideways scrolling of the page, the panel inside the screen, and the
            # message box, the send button and the header's controls where a finger or a
            # zoomed-in eye reaches them.
            fits = await page.evaluate(
                """() => {
                  const root = document.querySelector('#laura-chat').shadowRoot;
                  const box = e => root.querySelector(e).getBoundingClientRect();
                  const within = (r, o) => r.width > 0 && r.left >= o.left - 0.5
                    && r.right <= o.right + 0.5 && r.top >= o.top - 0.5
                    && r.bottom <= o.bottom + 0.5;
                  const screen = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
                  // The panel clips what sticks out of it: inside it is what can be seen.
                  const inside = r => within(r, screen) && within(r, box('.panel'));
                  return {
                    scroll: document.documentElement.scrollWidth <= innerWidth,
                    panel: within(box('.panel'), screen),
                    textarea: inside(box('textarea')),
                    send: inside(box('.compose button[type=submit]')),
                    close: inside(box('.head .close')),
                    end: inside(box('.head .end')),
                    language: inside(box('.head select.lang')),
                  };
                }"""
            )
            assert all(fits.values()), (size, fits)
            await anna.send(consult, "!close")
            await page.wait_for_selector("button.newchat")
            found += await accessibility(page, f"{size}-6-ended")
        finally:
            await context.close()
    assert found == [], "\n".join(found)


# The browser's own notification and sound cannot be seen from a test: these stand in for
# Notification and count the chime's tones, and nothing else of the widget is changed.
ATTENTION_SPY = """
window.__notes = []; window.__asked = 0; window.__tones = 0;
class FakeNotification {
  constructor(title, options) { window.__notes.push([title, options.body]); }
  close() {}
  static requestPermission() {
    window.__asked += 1;
    FakeNotification.permission = 'granted';
    return Promise.resolve('granted');
  }
}
FakeNotification.permission = 'default';
window.Notification = FakeNotification;
const make = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__tones += 1;
  return make.call(this);
};
"""


@pytest.mark.laura_config({"web.notifications": True})
async def test_sound_and_notification_when_staff_answer_unseen(browser: Any, team: Team) -> None:
    """Permission is asked when the chat starts; a staff answer while the chat is closed
    chimes and notifies (who answered, not what); one while the visitor looks does neither,
    nor does the history replayed after a reload."""
    anna = team["anna"]
    context = await browser.new_context()
    await context.add_init_script(ATTENTION_SPY)
    try:
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{team.handle.web_port}/{INLINE}")
        _, widget = await Visitor(team.handle.api).call("GET", "/widget", headers={})
        assert widget["attention"] == {"sound": True, "notifications": True}
        await page.click("button.launcher")
        await page.fill("input[name=name]", "Gerda")
        await page.click("form.start button[type=submit]")
        await page.click("button[data-topic=huisarts]")
        assert await page.evaluate("() => window.__asked") == 1
        dispatch = await anna.wait_for(
            is_msg(team.rooms["huisarts"], body_has="van Gerda", msgtype="m.text"),
            what="the dispatch message",
        )
        await anna.react(team.rooms["huisarts"], dispatch["event_id"], "Ik!")
        consult = await anna.wait_invite()
        await anna.join(consult)
        await anna.send(consult, "Ik kijk even mee.")  # the visitor is looking
        await page.wait_for_selector(".msg.staff >> text=Ik kijk even mee.")
        assert await page.evaluate("() => [window.__tones, window.__notes.length]") == [0, 0]
        await page.click("button.close")
        await anna.send(consult, "Geheime uitslag: alles goed.")
        await page.wait_for_function("() => window.__notes.length === 1")
        notes = await page.evaluate("() => window.__notes")
        assert notes == [["Zorgorganisatie", "anna heeft geantwoord in de chat."]], notes
        assert await page.evaluate("() => window.__tones") == 1
        await page.reload()  # the same history again: no chime, no notification
        await page.wait_for_selector(".msg.staff >> text=Geheime uitslag", state="attached")
        await asyncio.sleep(1)
        assert await page.evaluate("() => [window.__tones, window.__notes.length]") == [0, 0]
    finally:
        await context.close()
