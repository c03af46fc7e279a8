/* Laura chat: the one script tag for a care organisation's site.
 *
 *   <script src="https://chat.example.org/widget/laura.js" defer></script>
 *
 * Options (attributes on the tag): data-lang (a language code such as nl, en or pl; else ?lang=
 * in the page's address, the page's lang, the browser's), data-identity (portal mode: the portal's signed token for the signed-in visitor).
 *
 * This launcher is all that runs on the site. The chat itself runs in an iframe from Laura's
 * own origin (/chat), so the site's scripts cannot read the chat or its token and the site's
 * CSS cannot break it. The two talk with postMessage, each checking the other's origin; the
 * chat tells the launcher how it looks (texts, colour, corner), whether it is open, and how
 * many answers are unread. Laura lets only the sites in web.allowed_origins frame the chat:
 * on any other site no launcher appears.
 */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.lauraChatLauncher) return;
  window.lauraChatLauncher = true;
  var src = new URL(me.src, location.href);
  var LAURA = src.origin;
  var q = new URLSearchParams();
  var lang = me.dataset.lang || new URLSearchParams(location.search).get("lang");
  if (lang) q.set("lang", lang);
  if (document.documentElement.lang) q.set("page_lang", document.documentElement.lang);
  var identity = me.dataset.identity || "";

  var css = ".l{position:fixed;right:1.25rem;bottom:1.25rem;z-index:2147483000;background:var(--a,#0f5c8c);" +
    "color:#fff;border:0;border-radius:2rem;padding:.85rem 1.3rem;font:600 1rem/1.2 system-ui,sans-serif;" +
    "cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".l:focus-visible{outline:3px solid #f2b705;outline-offset:2px}" +
    ".b{display:inline-block;min-width:1.25em;margin-left:.5em;padding:0 .35em;border-radius:1em;" +
    "background:#fff;color:#9b1c1c;font-size:.85em;text-align:center}" +
    "iframe{position:fixed;right:1.25rem;bottom:1.25rem;z-index:2147483001;border:0;border-radius:.8rem;" +
    "width:min(24rem,calc(100vw - 2rem));height:min(36rem,calc(100vh - 2rem));background:#fff;" +
    "box-shadow:0 8px 30px rgba(0,0,0,.3);color-scheme:normal}" +
    ".left{right:auto;left:1.25rem}[hidden]{display:none!important}";

  var host = document.createElement("div");
  host.id = "laura-launcher";
  var root = host.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    var sheet = new CSSStyleSheet();   // not an inline style: the site's CSP needs no exception
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = css;
    root.appendChild(style);
  }
  var button = document.createElement("button");
  button.type = "button";
  button.className = "l";
  // Hidden, and without a word of its own, until the chat says what it is called (in the
  // visitor's language, from Laura) and that it may be here.
  button.hidden = true;
  button.setAttribute("aria-haspopup", "dialog");
  var label = document.createTextNode("");
  var badge = document.createElement("span");
  badge.className = "b";
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  button.appendChild(label);
  button.appendChild(badge);
  var frame = document.createElement("iframe");
  frame.hidden = true;
  frame.title = "Chat";
  frame.src = new URL("../chat", src).href + "?" + q + "#embed";
  // The video call inside the chat asks for the camera and microphone.
  frame.allow = "camera; microphone; display-capture; autoplay; fullscreen; clipboard-write";
  root.appendChild(button);
  root.appendChild(frame);

  var isOpen = false;
  var shown = 0;   // the count in the site's title (which is the site's: touched only for a count)
  function send(m) { if (frame.contentWindow) frame.contentWindow.postMessage(m, LAURA); }
  frame.addEventListener("load", function () { send({ laura: "init", identity: identity }); });
  button.addEventListener("click", function () {
    frame.hidden = false;
    button.hidden = true;
    frame.focus();   // the keyboard goes into the chat, which focuses its first control
    send({ laura: "open" });
  });

  window.addEventListener("message", function (ev) {
    if (ev.source !== frame.contentWindow || ev.origin !== LAURA || !ev.data) return;
    var m = ev.data;
    if (m.laura === "look") {
      label.nodeValue = m.label;
      frame.title = m.title || "Chat";
      if (/^#[0-9a-fA-F]{6}$/.test(m.color || "")) host.style.setProperty("--a", m.color);
      button.classList.toggle("left", m.position === "left");
      frame.classList.toggle("left", m.position === "left");
      button.hidden = isOpen;
    } else if (m.laura === "state") {
      var was = isOpen;
      isOpen = !!m.open;
      frame.hidden = !isOpen;
      button.hidden = isOpen || !label.nodeValue;
      if (was && !isOpen) button.focus();   // back where the visitor came from
    } else if (m.laura === "unread") {
      var n = m.count | 0;
      badge.hidden = !n;
      badge.textContent = n ? String(n) : "";
      button.setAttribute("aria-label", m.label || label.nodeValue);
      if (n !== shown) {
        shown = n;
        var base = document.title.replace(/^\(\d+\) /, "");
        document.title = n ? "(" + n + ") " + base : base;
      }
    } else if (m.laura === "ask-notify") {
      // Asked here: a browser does not let a chat from another origin ask for itself.
      if (window.Notification && Notification.permission === "default") {
        try { Notification.requestPermission(); } catch (e) { /* an old browser */ }
      }
    } else if (m.laura === "notify") {
      if (!window.Notification || Notification.permission !== "granted") return;
      try {
        var note = new Notification(String(m.title), { body: String(m.body), tag: "laura-chat" });
        note.onclick = function () { window.focus(); button.click(); note.close(); };
      } catch (e) { /* some mobile browsers only notify from a service worker */ }
    }
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
