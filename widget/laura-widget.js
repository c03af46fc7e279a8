/* Laura chat widget (first version). Plain JavaScript, no build step.
 *
 * Embed with: <script src="https://laura.example.org/widget/laura-widget.js" defer></script>
 * Options (attributes on the script tag): data-api (default: same origin /api/v1),
 * data-lang (a language code: nl, en, pl; default: ?lang= in the page URL, the page's lang, the
 * browser's),
 * data-identity (portal mode: the portal's signed token for the signed-in visitor).
 *
 * The chat lives in a shadow root so the host site's CSS cannot break it. Everything shown comes
 * from the server's event stream (ordered by seq), so a reload, a new tab or a browser restart
 * replays the same conversation. All text is inserted with textContent, never as HTML. The
 * widget has no texts of its own: Laura sends them (GET /widget, in the visitor's language), and
 * nothing is drawn before they are there.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src, location.href) : new URL(location.href);
  var API = (script && script.dataset.api) || new URL("/api/v1", base).href.replace(/\/$/, "");
  var CSS = new URL("laura-widget.css", base).href;
  // Portal mode: the host portal's signed token for the signed-in visitor (never checked
  // here, only passed on; Laura checks it). Each portal identity keeps its own chat, so after
  // logging out and in the chat is back, and another person on the same browser does not
  // see it.
  var IDENTITY = (script && script.dataset.identity) || "";
  function storeKey() {
    return "laura.chat." + new URL(API, location.href).host + (function () {
      try {
        var claims = JSON.parse(atob(IDENTITY.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
        return claims.sub ? "." + encodeURIComponent(String(claims.sub)) : "";
      } catch (e) { return ""; }
    })();
  }
  var STORE = storeKey();
  var params = new URLSearchParams(location.search);

  // The visitor's languages, most wanted first: their own choice in the widget (kept), the
  // page's data-lang, ?lang=, the page's own lang, the browser's languages in order of
  // preference. Laura answers in the first one she offers (else in her first).
  var LANG_KEY = "laura.lang." + new URL(API, location.href).host;
  // What storage would keep, for when the browser blocks it: the chat then lives as long as
  // the page (a language switch starts the widget afresh, and must not lose it).
  var memory = { lang: null, session: null, isolated: false };
  // Where the chat runs: on the host page (a launcher and a panel), or on a page of its own
  // (/chat: a link to send visitors, and the window the widget pops out into).
  var PAGE = !!(script && script.dataset.mode === "page");
  var POPUP = PAGE && !!window.opener && location.hash === "#popout";
  // The window a chat was to pop out into, cut off from the page that opened it (a site that
  // sends Cross-Origin-Opener-Policy: same-origin): the chat stays on the site, and this
  // window says so rather than offering a second chat.
  var ORPHAN = PAGE && !window.opener && window.parent === window && location.hash === "#popout";
  // In the iframe the launcher (laura.js) puts on a site: the site is PARENT, once it said hello.
  var FRAME = PAGE && window.parent !== window && location.hash === "#embed";
  var PARENT = null;
  function toHost(m) { if (FRAME && PARENT) window.parent.postMessage(m, PARENT); }
  var LAURA = new URL(API, location.href).origin;
  var CHAT_URL = new URL("../../chat", new URL(API, location.href).href.replace(/\/?$/, "/")).href;
  // The sites the widget may be on (the server lists them on /chat): the only ones a popped-out
  // chat accepts its conversation from.
  var SITES = ((document.querySelector('meta[name="laura-sites"]') || {}).content || "").split(" ")
    .concat(PAGE ? [location.origin] : []);   // Laura's own pages, however they were reached
  // A popped-out chat keeps its conversation for that window only (the page it came from keeps
  // the lasting copy); everywhere else the browser's storage for the site.
  function box() { return POPUP ? window.sessionStorage : window.localStorage; }
  var storageBlocked = (function () {
    try { box().setItem("laura.probe", "1"); box().removeItem("laura.probe"); return false; }
    catch (e) { return true; }
  })();
  // In the popped-out window: the conversation, from the page it came from (never in a URL).
  var handoff = null;
  var handedOver = !POPUP ? Promise.resolve() : new Promise(function (resolve) {
    function receive(ev) {
      var m = ev.data;
      if (ev.source !== window.opener || SITES.indexOf(ev.origin) < 0 || !m || m.laura !== "chat") return;
      window.removeEventListener("message", receive);
      handoff = { origin: ev.origin };
      if (typeof m.identity === "string") IDENTITY = m.identity;
      memory.session = m.session || null;
      try { if (m.session) box().setItem(STORE, JSON.stringify(m.session)); } catch (e) { /* in memory */ }
      resolve();
    }
    window.addEventListener("message", receive);
    try { window.opener.postMessage({ laura: "ready" }, "*"); } catch (e) { resolve(); }
    // Too late is never: a chat handed over after this window went on without one is not taken.
    setTimeout(function () { window.removeEventListener("message", receive); resolve(); }, 5000);
  });
  function wantedLanguages() {
    var chosen = memory.lang;
    try { chosen = localStorage.getItem(LANG_KEY) || chosen; } catch (e) { /* blocked */ }
    // (The chat's own page has no language of its own to go by: its lang follows the chat's.)
    var wanted = [chosen, script && script.dataset.lang, params.get("lang"), PAGE ? (FRAME ? params.get("page_lang") : "") : document.documentElement.lang]
      .concat(navigator.languages || [navigator.language]);
    var codes = [];
    wanted.forEach(function (w) {
      var code = String(w || "").toLowerCase().split("-")[0];
      if (/^[a-z]{2,3}$/.test(code) && codes.indexOf(code) < 0) codes.push(code);
    });
    return codes.slice(0, 10);
  }

  // One running widget; switching the language stops it and starts it again in the new one
  // (every text, the history included, is drawn again from the event stream). First Laura is
  // asked how the widget should look and what it says, in the visitor's language; until she
  // answers (tried again, less and less often, while she cannot) nothing is shown.
  function launch(options) {
    var delay = 1000;
    (function ask() {
      fetch(API + "/widget?lang=" + encodeURIComponent(wantedLanguages().join(",")))
        .then(function (r) { if (!r.ok) throw new Error(r.statusText); return r.json(); })
        .then(function (w) { run(options, w); }, function () {
          setTimeout(ask, delay);
          delay = Math.min(delay * 2, 60000);
        });
    })();
  }

  function run(options, widget) {
    var LANG = widget.language;
    var T = widget.texts;
    var gone = false;


    function t(key, vars) {
      return T[key].replace(/\{(\w+)\}/g, function (_, k) { return vars[k]; });
    }

    function el(tag, attrs, children) {
      var node = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (k) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "on") Object.keys(attrs.on).forEach(function (e) { node.addEventListener(e, attrs.on[e]); });
        else node.setAttribute(k, attrs[k]);
      });
      (children || []).forEach(function (c) { node.appendChild(c); });
      return node;
    }

    // An icon drawn with lines (SVG needs its own namespace, so not through el()).
    function icon(d) {
      var NS = "http://www.w3.org/2000/svg";
      var svg = document.createElementNS(NS, "svg");
      [["viewBox", "0 0 24 24"], ["width", "20"], ["height", "20"], ["aria-hidden", "true"], ["focusable", "false"]]
        .forEach(function (a) { svg.setAttribute(a[0], a[1]); });
      var path = document.createElementNS(NS, "path");
      [["d", d], ["fill", "none"], ["stroke", "currentColor"], ["stroke-width", "2"], ["stroke-linecap", "round"],
        ["stroke-linejoin", "round"]].forEach(function (a) { path.setAttribute(a[0], a[1]); });
      svg.appendChild(path);
      return svg;
    }
    var POPOUT = "M14 3h7v7M21 3l-9 9M19 14v5a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h5";
    var PAPERCLIP = "M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19" +
      "a2 2 0 0 1-2.83-2.83l8.49-8.48";

    function formatSize(bytes) {
      var units = ["B", "KB", "MB", "GB"], n = bytes, i = 0;
      while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
      return n.toLocaleString(LANG, { maximumFractionDigits: i ? 1 : 0 }) + " " + units[i];
    }

    var TYPE_NAMES = { "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP", "application/pdf": "PDF" };
    function typeNames(types) {
      return types.map(function (m) { return TYPE_NAMES[m] || m.split("/").pop().toUpperCase(); }).join(", ");
    }

    function listNames(names) {
      return names.length < 2 ? names.join("") : names.slice(0, -1).join(", ") + T.and + names[names.length - 1];
    }

    // Message text as text, with http(s) addresses as links that open in a new tab without a
    // way back to this page (noopener) and without telling where they came from (noreferrer).
    // Nothing is ever parsed as HTML; other schemes (javascript:, data:) stay plain text.
    function linked(text) {
      var frag = document.createDocumentFragment(), last = 0, m;
      var re = /\bhttps?:\/\/[^\s<>"']+/g;
      while ((m = re.exec(text))) {
        var url = m[0].replace(/[.,;:!?)\]]+$/, "");
        var href = null;
        try { href = new URL(url).href; } catch (e) { href = null; }
        if (!href) continue;
        frag.appendChild(document.createTextNode(text.slice(last, m.index)));
        frag.appendChild(el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: url }));
        last = m.index + url.length;
        re.lastIndex = last;
      }
      frag.appendChild(document.createTextNode(text.slice(last)));
      return frag;
    }

    function uuid() {
      if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
      return Date.now().toString(36) + Math.random().toString(36).slice(2);
    }

    // State -----------------------------------------------------------------------------------
    var saved = memory.session;
    try { saved = JSON.parse(box().getItem(STORE) || "null") || (POPUP ? memory.session : null); }
    catch (e) { /* blocked: this page's */ }
    var state = {
      session: saved, cursor: 0, status: null, widget: null, polling: false,
      transport: null, abort: null, rendered: {},
      popped: false, gen: 0,   // popped out into its own window; which run of the event loop is current
      video: null,   // the call on offer ({name}) while the latest video event is "started"
      blobs: [],     // object URLs of fetched files, released when the chat is cleared
      focusTopics: false,  // after "New chat": focus the first topic once the choice is shown
      unread: 0            // staff messages the visitor has not seen yet (launcher, page title)
    };

    function save() {
      if (gone) return;
      memory.session = state.session ? JSON.parse(JSON.stringify(state.session)) : null;
      try {
        if (state.session) box().setItem(STORE, JSON.stringify(state.session));
        else box().removeItem(STORE);
      } catch (e) { /* storage blocked: the chat still works until the page closes */ }
      // Popped out: the page it came from keeps the lasting copy (a new chat, or none).
      if (POPUP && handoff) {
        try { window.opener.postMessage({ laura: "session", session: state.session }, handoff.origin); }
        catch (e) { /* that page is gone */ }
      }
    }

    // limit: give up after that many ms (a network that went silent answers nothing, ever).
    // ctl: the caller's AbortController, to call it off (the long poll, at a pop-out).
    async function api(method, path, body, limit, ctl) {
      var headers = { "Content-Type": "application/json" };
      if (state.session) headers.Authorization = "Bearer " + state.session.token;
      ctl = ctl || new AbortController();
      var timer = limit ? setTimeout(function () { ctl.abort(); }, limit) : null;
      try {
        var resp = await fetch(API + path, { method: method, headers: headers, signal: ctl.signal,
          body: body ? JSON.stringify(body) : undefined });
      } finally { clearTimeout(timer); }
      if (!resp.ok) throw await errorOf(resp);
      try { return await resp.json(); } catch (e) { return null; }
    }

    function sessionPath(rest) { return "/sessions/" + state.session.session_id + rest; }

    async function errorOf(resp) {
      var data = null;
      try { data = await resp.json(); } catch (e) { data = null; }
      var err = new Error((data && data.error && data.error.message) || resp.statusText);
      err.status = resp.status; err.code = data && data.error && data.error.code;
      err.retryAfter = parseInt(resp.headers.get("Retry-After") || "", 10) || 0;   // seconds, on a 429
      return err;
    }

    // Files are only served with the visitor's token, so they are fetched and shown as blobs.
    async function fetchFile(path) {
      var resp = await fetch(API + path, { headers: { Authorization: "Bearer " + state.session.token } });
      if (!resp.ok) throw await errorOf(resp);
      return resp;
    }

    async function blobURL(path) {
      var url = URL.createObjectURL(await (await fetchFile(path)).blob());
      state.blobs.push(url);
      return url;
    }

    function fileNameOf(resp, fallback) {
      var cd = resp.headers.get("Content-Disposition") || "";
      var m = /filename\*=UTF-8''([^;]+)/i.exec(cd);
      if (m) { try { return decodeURIComponent(m[1]); } catch (e) { /* fall through */ } }
      m = /filename="([^"]+)"/i.exec(cd);
      return m ? m[1] : fallback;
    }

    // Save a file: fetched with the token, handed to the browser as a download.
    async function saveFile(path, name) {
      try {
        var resp = await fetchFile(path);
        var fileName = fileNameOf(resp, name);
        var url = URL.createObjectURL(await resp.blob());
        var a = el("a", { href: url, download: fileName, hidden: "" });
        root.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      } catch (e) { showError(e.status && e.status < 500 ? e.message : T.downloadFailed); }
    }

    // DOM -------------------------------------------------------------------------------------
    var host = el("div", { id: "laura-chat" });
    var root = host.attachShadow({ mode: "open" });
    root.appendChild(el("link", { rel: "stylesheet", href: CSS }));
    var launcher = el("button", { class: "launcher", type: "button", "aria-haspopup": "dialog", text: T.launcher });
    var sub = el("span", { class: "sub" });
    var title = el("span", { class: "title", text: T.title }, [sub]);
    var endBtn = el("button", { type: "button", class: "end", text: T.end, hidden: "" });
    var closeBtn = el("button", { type: "button", class: "close", "aria-label": T.close, text: "✕" });
    var langSelect = el("select", { class: "lang", "aria-label": T.language, hidden: "" });
    var popBtn = el("button", { type: "button", class: "popout", "aria-label": T.popOut, title: T.popOut, hidden: "" },
      [icon(POPOUT)]);
    var backBtn = el("button", { type: "button", class: "primary bring-back", text: T.bringBack });
    var poppedBox = el("div", { class: "popped", role: "status", hidden: "" }, [el("p", { text: T.popped }), backBtn]);
    var storageNote = el("div", { class: "info storage", role: "status", text: T.noStorage });
    storageNote.hidden = !storageBlocked;
    // Said once the chat is back from a window the site cut off; the pop-out is not offered
    // again on this page (memory.isolated: it outlives the widget being drawn anew).
    var isolatedNote = el("div", { class: "info isolated", role: "status", text: T.popupIsolated });
    isolatedNote.hidden = !memory.isolated;
    var queueBar = el("div", { class: "queue", role: "status", hidden: "" });
    // Focusable, so that the log scrolls by keyboard when it overflows (200 % zoom, a phone).
    var body = el("div", { class: "body", role: "log", "aria-live": "polite", tabindex: "0", "aria-label": T.messages });
    var textarea = el("textarea", { placeholder: T.placeholder, "aria-label": T.placeholder, rows: "1", maxlength: "4000" });
    var sendBtn = el("button", { type: "submit", text: T.send });
    var fileInput = el("input", { type: "file", hidden: "", tabindex: "-1" });
    var attachBtn = el("button", { type: "button", class: "attach", "aria-label": T.attach, title: T.attach, hidden: "" },
      [icon(PAPERCLIP)]);
    var compose = el("form", { class: "compose", hidden: "" }, [attachBtn, fileInput, textarea, sendBtn]);
    var uploadName = el("span", { class: "name" });
    var progress = el("progress", { max: "1", value: "0" });
    var uploadBar = el("div", { class: "upload", role: "status", hidden: "" }, [uploadName, progress]);
    var typingLine = el("div", { class: "typing", role: "status", "aria-live": "polite" });
    var errorLine = el("div", { class: "error", role: "alert" });
    var videoText = el("span");
    var joinBtn = el("button", { type: "button", class: "join", text: T.videoJoin });
    var videoBar = el("div", { class: "videobar", role: "status", hidden: "" }, [videoText, joinBtn]);
    var callFrame = el("div", { class: "call-frame" });
    var leaveBtn = el("button", { type: "button", class: "leave", text: T.videoLeave });
    var callBox = el("div", { class: "call", role: "region", "aria-label": T.videoTitle, hidden: "" }, [callFrame, leaveBtn]);
    var bigImage = el("img", { alt: "" });
    var bigCaption = el("span", { class: "caption" });
    var bigClose = el("button", { type: "button", class: "close-image", "aria-label": T.closeImage, text: "✕" });
    var bigSave = el("button", { type: "button", class: "secondary", text: T.save });
    var lightbox = el("div", { class: "lightbox", role: "dialog", "aria-modal": "true", hidden: "" },
      [el("div", { class: "bar" }, [bigCaption, bigSave, bigClose]), el("div", { class: "frame" }, [bigImage])]);
    // "End the chat?" asked inside the widget (not window.confirm, which blocks the page and
    // cannot be styled or translated): Continue is the first button, so Enter keeps the chat.
    var keepBtn = el("button", { type: "button", class: "secondary keep", text: T.keepChatting });
    var endNowBtn = el("button", { type: "button", class: "primary end-now", text: T.endNow });
    var askEndError = el("div", { class: "error", role: "alert" });
    var askEnd = el("div", { class: "ask-end", role: "alertdialog", "aria-labelledby": "laura-ask-end", hidden: "" },
      [el("p", { id: "laura-ask-end", text: T.confirmEnd }), askEndError, el("div", { class: "row" }, [keepBtn, endNowBtn])]);
    var panel = el("div", { class: "panel", role: "dialog", "aria-label": T.title, hidden: "" },
      [el("div", { class: "head" }, [el("div", { class: "top" }, [title, closeBtn]),
        el("div", { class: "tools" }, [langSelect, popBtn, endBtn])]), poppedBox, storageNote, isolatedNote, askEnd, queueBar, videoBar, callBox, body, typingLine,
        uploadBar, errorLine, compose, lightbox]);
    root.appendChild(launcher);
    root.appendChild(panel);

    function open() {
      panel.hidden = false; launcher.hidden = true;
      toHost({ laura: "state", open: true });
      if (state.session && state.session.closed) { delete state.session.closed; save(); }
      focusInside();
      boot().then(focusInside);   // the first screen may only be there once the API answered
      markSeen();
    }
    // Focus into the chat: the message box when there is one, else the screen's first control.
    function focusInside() {
      if (state.popped && !panel.hidden) { backBtn.focus(); return; }
      if (panel.hidden || root.activeElement && root.activeElement !== closeBtn) return;
      var target = !compose.hidden ? textarea
        : body.querySelector("input:not([type=hidden]), select, textarea, button");
      (target || closeBtn).focus();
    }
    function close() {
      closeAskEnd(false);
      if (FRAME) {   // the launcher on the site takes the focus back
        panel.hidden = true;
        toHost({ laura: "state", open: false });
        return;
      }
      if (PAGE) {   // popped out: back to the page it came from, which takes over the chat
        if (POPUP && handoff) {
          try { window.opener.postMessage({ laura: "back" }, handoff.origin); } catch (e) { /* gone */ }
        }
        window.close();
        return;
      }
      panel.hidden = true; launcher.hidden = false; launcher.focus();
    }
    launcher.addEventListener("click", open);
    closeBtn.addEventListener("click", close);

    function openAskEnd() {
      askEndError.textContent = "";
      keepBtn.disabled = endNowBtn.disabled = false;
      askEnd.hidden = false;
      keepBtn.focus();
    }
    function closeAskEnd(refocus) {
      if (askEnd.hidden) return;
      askEnd.hidden = true;
      if (refocus) (compose.hidden ? endBtn : textarea).focus();
    }
    endBtn.addEventListener("click", openAskEnd);
    keepBtn.addEventListener("click", function () { closeAskEnd(true); });
    endNowBtn.addEventListener("click", async function () {
      keepBtn.disabled = endNowBtn.disabled = true;
      try {
        await api("POST", sessionPath("/end"), {});
        closeAskEnd(false);   // the ended screen follows from the event stream
      } catch (e) {
        askEndError.textContent = e.status === 429 ? T.tooMany : e.status && e.status < 500 ? e.message : T.failed;
        keepBtn.disabled = endNowBtn.disabled = false;
      }
    });

    function showError(text) { errorLine.textContent = text || ""; }
    function scroll() { body.scrollTop = body.scrollHeight; }
    function clearBody() {
      body.textContent = ""; state.rendered = {};
      closeImage();
      state.blobs.forEach(function (u) { URL.revokeObjectURL(u); });
      state.blobs = [];
    }

    // The consent step (when the organisation asks for it): a required tick box with its text
    // and a link to the privacy statement; null when not asked.
    function consentBox() {
      var c = state.widget && state.widget.consent;
      if (!c || !c.required) return null;
      var box = el("input", { type: "checkbox", name: "consent", required: "" });
      var parts = [box, el("span", { text: " " + c.text })];
      if (c.privacy_url && /^https?:\/\//.test(c.privacy_url)) {
        parts.push(document.createTextNode(" "));
        parts.push(el("a", { href: c.privacy_url, target: "_blank", rel: "noopener noreferrer", text: T.privacyLink }));
      }
      return el("label", { class: "consent" }, parts);
    }

    // Screens ---------------------------------------------------------------------------------
    function startScreen() {
      clearBody();
      popBtn.hidden = true;
      if (state.widget && state.widget.portal && state.widget.portal.required && !IDENTITY) {
        body.appendChild(el("p", { class: "info sign-in", text: T.signIn }));
        return;
      }
      if (state.widget && !state.widget.available) {
        offlineScreen();
        return;
      }
      var name = el("input", { name: "name", maxlength: "60", autocomplete: "nickname" });
      var email = el("input", { name: "email", type: "email", maxlength: "254", autocomplete: "email" });
      var err = el("div", { class: "error", role: "alert" });
      var consent = consentBox();
      // Signed in on the portal: it tells who the visitor is, nothing to fill in.
      var fields = IDENTITY ? [] : [el("label", { text: T.name }, [name]), el("label", { text: T.email }, [email])];
      var form = el("form", { class: "card start" }, [el("p", { text: IDENTITY ? T.introSigned : T.intro })]
        .concat(fields)
        .concat(consent ? [consent] : [])
        .concat([err, el("button", { class: "primary", type: "submit", text: T.start })]));
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        try {
          askNotify();
          var payload = { language: LANG };
          if (IDENTITY) payload.identity = IDENTITY;
          if (consent) payload.consent = true;   // the browser let the form through: ticked
          if (name.value.trim()) payload.name = name.value.trim();
          if (email.value.trim()) payload.email = email.value.trim();
          var created = await api("POST", "/sessions", payload);
          state.session = { session_id: created.session_id, token: created.token };
          state.cursor = 0;   // a new session's events start at 1 (an earlier one may have gone before)
          save();
          clearBody();
          poll();
        } catch (e) { err.textContent = e.code === "bad_name" ? T.nameRefused : e.message; }
      });
      body.appendChild(form);
    }

    function topicButtons() {
      if (root.querySelector(".topics") || !state.widget) return;
      var box = el("div", { class: "topics" }, [el("div", { class: "info", text: T.choose })]);
      state.widget.topics.forEach(function (topic) {
        var b = el("button", { type: "button", "data-topic": topic.id, text: topic.label });
        if (!topic.available) b.disabled = true;
        b.addEventListener("click", async function () {
          box.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          try { await api("POST", "/sessions/" + state.session.session_id + "/topic", { topic_id: topic.id }); }
          catch (e) { showError(e.message); box.querySelectorAll("button").forEach(function (x) { x.disabled = false; }); }
        });
        box.appendChild(b);
      });
      var closed = state.widget.topics.some(function (topic) { return !topic.available; });
      if (bookingOffered(closed)) {
        var book = el("button", { type: "button", class: "secondary book", text: T.bookOffer });
        book.addEventListener("click", function () { bookingForm(null, null); });
        box.appendChild(book);
      }
      body.appendChild(box);
      if (state.focusTopics) {   // after "New chat": the clicked button is gone, the choice is next
        state.focusTopics = false;
        var first = box.querySelector("button:not([disabled])");
        if (first) first.focus();
      }
      scroll();
    }

    // Booking a conversation (chat, phone or video) in a free slot: offered beside the live chat
    // when the organisation wants that, else when nobody can chat on a topic now.
    function bookingOffered(nobodyNow) {
      var b = state.widget && state.widget.booking;
      if (!b || !b.kinds || !b.kinds.length) return false;
      return b.offer === "always" || (b.offer === "when_unavailable" && nobodyNow);
    }

    async function bookingForm(topicId, replacing) {
      if (root.querySelector("form.booking")) return;
      var kinds = state.widget.booking.kinds;
      var kindNames = { chat: T.bookChat, phone: T.bookPhone, video: T.bookVideo };
      var err = el("div", { class: "error", role: "alert" });
      var topic = el("select", { name: "topic_id" }, [el("option", { value: "", text: "—" })].concat(
        state.widget.topics.map(function (x) { return el("option", { value: x.id, text: x.label }); })));
      if (topicId) topic.value = topicId;
      var kindBox = el("fieldset", { class: "kinds" }, [el("legend", { text: T.bookKind })].concat(
        kinds.map(function (k, i) {
          var radio = el("input", { type: "radio", name: "kind", value: k });
          if (i === 0) radio.checked = true;
          return el("label", { class: "kind" }, [radio, el("span", { text: " " + kindNames[k] })]);
        })));
      var slot = el("select", { name: "start", required: "" });
      var none = el("p", { class: "info none", text: T.bookNone, hidden: "" });
      var email = el("input", { name: "email", type: "email", maxlength: "254", autocomplete: "email", required: "" });
      var phone = el("input", { name: "phone", type: "tel", maxlength: "30", autocomplete: "tel" });
      var phoneLabel = el("label", { text: T.phone, hidden: "" }, [phone]);
      var send = el("button", { class: "primary", type: "submit", text: T.bookSend });
      var back = el("button", { type: "button", class: "secondary", text: T.bookBack });
      var form = el("form", { class: "card booking", "aria-label": T.bookTitle }, [
        el("strong", { text: T.bookTitle }), el("label", { text: T.bookTopic }, [topic]), kindBox,
        el("label", { text: T.bookWhen }, [slot]), none,
        el("label", { text: T.email.replace(/ \(.*\)/, "") }, [email]), phoneLabel, err,
        el("div", { class: "row" }, [send, back])]);
      function kind() { var c = form.querySelector("input[name=kind]:checked"); return c ? c.value : kinds[0]; }
      kindBox.addEventListener("change", function () {
        phoneLabel.hidden = kind() !== "phone";
        phone.required = kind() === "phone";
      });
      async function loadSlots() {
        slot.textContent = ""; none.hidden = true; err.textContent = "";
        if (!topic.value) { slot.disabled = true; return; }
        try {
          var data = await api("GET", sessionPath("/slots?topic=" + encodeURIComponent(topic.value)));
          var day = new Intl.DateTimeFormat(LANG, { weekday: "long", day: "numeric", month: "long", timeZone: data.timezone });
          var clock = new Intl.DateTimeFormat(LANG, { hour: "2-digit", minute: "2-digit", timeZone: data.timezone });
          var groups = {};
          data.slots.forEach(function (x) {
            var label = day.format(new Date(x.start));
            if (!groups[label]) { groups[label] = el("optgroup", { label: label }); slot.appendChild(groups[label]); }
            groups[label].appendChild(el("option", { value: x.start,
              text: clock.format(new Date(x.start)) + "–" + clock.format(new Date(x.end)) }));
          });
          slot.disabled = !data.slots.length;
          none.hidden = !!data.slots.length;
        } catch (e) { err.textContent = e.message; slot.disabled = true; }
      }
      topic.addEventListener("change", loadSlots);
      back.addEventListener("click", function () {
        if (replacing) form.replaceWith(replacing); else form.remove();
      });
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        err.textContent = "";
        var payload = { topic_id: topic.value, kind: kind(), start: slot.value, email: email.value.trim() };
        if (phone.value.trim()) payload.phone = phone.value.trim();
        send.disabled = true;
        try {
          await api("POST", sessionPath("/appointments"), payload);
          form.replaceWith(el("p", { class: "info booked", role: "status", text: T.booked }));
        } catch (e) {
          send.disabled = false;
          err.textContent = e.code === "slot_taken" || e.code === "bad_slot" ? T.bookTaken : e.message;
          if (e.code === "slot_taken" || e.code === "bad_slot") loadSlots();
        }
      });
      if (replacing) replacing.replaceWith(form); else body.appendChild(form);
      await loadSlots();
      (topicId ? kindBox.querySelector("input") : topic).focus();
      scroll();
    }

    // Nobody available (or every department closed): the out-of-office text and a form for
    // contact details, sent as a new chat's contact request.
    function offlineScreen() {
      body.appendChild(el("p", { class: "info offline", text: state.widget.out_of_office || T.offline }));
      var name = el("input", { name: "name", maxlength: "100", autocomplete: "name" });
      var phone = el("input", { name: "phone", type: "tel", maxlength: "30", autocomplete: "tel" });
      var email = el("input", { name: "email", type: "email", maxlength: "254", autocomplete: "email" });
      var message = el("textarea", { name: "message", maxlength: "2000", rows: "2" });
      var topic = el("select", { name: "topic_id" }, [el("option", { value: "", text: "—" })].concat(
        state.widget.topics.map(function (t) { return el("option", { value: t.id, text: t.label }); })));
      var err = el("div", { class: "error", role: "alert" });
      var consent = consentBox();
      var form = el("form", { class: "card contact offline" }, [
        el("strong", { text: T.contactTitle }), el("label", { text: T.name }, [name]),
        el("label", { text: T.phone }, [phone]), el("label", { text: T.email.replace(/ \(.*\)/, "") }, [email]),
        el("label", { text: T.topic }, [topic]), el("label", { text: T.message }, [message])]
        .concat(consent ? [consent] : [])
        .concat([err,
          el("div", { class: "row" }, [el("button", { class: "primary", type: "submit", text: T.sendContact })])]));
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        if (!phone.value.trim() && !email.value.trim()) { err.textContent = T.contactNeed; return; }
        var payload = {};
        [["name", name], ["phone", phone], ["email", email], ["message", message], ["topic_id", topic]].forEach(function (p) {
          if (p[1].value.trim()) payload[p[0]] = p[1].value.trim();
        });
        try {
          var created = await api("POST", "/sessions", { language: LANG, consent: !!consent,
            name: payload.name ? payload.name.slice(0, 60) : undefined, identity: IDENTITY || undefined });
          state.session = { session_id: created.session_id, token: created.token };
          await api("POST", "/sessions/" + created.session_id + "/contact-request", payload);
          state.session = null; save();
          form.replaceWith(el("p", { class: "info thanks", role: "status", text: T.offlineThanks }));
        } catch (e) { state.session = null; err.textContent = e.code === "bad_name" ? T.nameRefused : e.message; }
      });
      body.appendChild(form);
      if (bookingOffered(true)) {
        // Or a conversation at a time that suits: that needs a chat of its own to book from.
        var book = el("button", { type: "button", class: "secondary book", text: T.bookOffer });
        var bookErr = el("div", { class: "error", role: "alert" });
        book.addEventListener("click", async function () {
          var tick = consent && consent.querySelector("input");
          if (tick && !tick.checked) { tick.reportValidity(); return; }
          try {
            var created = await api("POST", "/sessions", { language: LANG, consent: !!consent,
              identity: IDENTITY || undefined });
            state.session = { session_id: created.session_id, token: created.token };
            state.cursor = 0;
            save();
            clearBody();
            poll();
            bookingForm(null, null);
          } catch (e) { bookErr.textContent = e.message; }
        });
        body.appendChild(el("div", { class: "row book-offer" }, [book, bookErr]));
      }
    }

    function contactForm() {
      if (root.querySelector("form.contact")) return;
      var name = el("input", { name: "name", maxlength: "100", autocomplete: "name" });
      var phone = el("input", { name: "phone", type: "tel", maxlength: "30", autocomplete: "tel" });
      var email = el("input", { name: "email", type: "email", maxlength: "254", autocomplete: "email" });
      var message = el("textarea", { name: "message", maxlength: "2000", rows: "2" });
      var err = el("div", { class: "error", role: "alert" });
      var no = el("button", { type: "button", class: "secondary", text: T.noContact });
      var wait = el("button", { type: "button", class: "secondary wait", text: T.keepWaiting });
      var form = el("form", { class: "card contact" }, [
        el("strong", { text: T.contactTitle }), el("label", { text: T.name }, [name]),
        el("label", { text: T.phone }, [phone]), el("label", { text: T.email.replace(/ \(.*\)/, "") }, [email]),
        el("label", { text: T.message }, [message]), err,
        el("div", { class: "row" }, [el("button", { class: "primary", type: "submit", text: T.sendContact }), no, wait])]);
      if (bookingOffered(false)) {   // or a conversation at a time that suits
        var book = el("button", { type: "button", class: "secondary book", text: T.bookOffer });
        book.addEventListener("click", async function () {
          var view = await refreshSub();
          bookingForm(view && view.topic ? view.topic : null, form);
        });
        form.appendChild(book);
      }
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        if (!phone.value.trim() && !email.value.trim()) { err.textContent = T.contactNeed; return; }
        var payload = {};
        [["name", name], ["phone", phone], ["email", email], ["message", message]].forEach(function (p) {
          if (p[1].value.trim()) payload[p[0]] = p[1].value.trim();
        });
        try { await api("POST", "/sessions/" + state.session.session_id + "/contact-request", payload); form.remove(); }
        catch (e) { err.textContent = e.code === "bad_name" ? T.nameRefused : e.message; }
      });
      wait.addEventListener("click", async function () {
        try { await api("POST", "/sessions/" + state.session.session_id + "/wait"); form.remove(); }
        catch (e) { err.textContent = e.message; }
      });
      no.addEventListener("click", async function () {
        try { await api("POST", "/sessions/" + state.session.session_id + "/end", { reason: "declined_contact" }); form.remove(); }
        catch (e) { err.textContent = e.message; }
      });
      body.appendChild(form);
      scroll();
    }

    // After the end: a rating (when the server says this chat can be rated), the transcript, and
    // the choice between a new chat in the same session and closing the panel. The box goes once
    // a new chat starts (the transcript would then be the new chat's); the old messages stay.
    function endedScreen() {
      if (root.querySelector(".ended-actions")) return;
      var transcript = el("button", { type: "button", class: "secondary transcript", text: T.transcript });
      transcript.addEventListener("click", async function () {
        transcript.disabled = true;
        await saveFile(sessionPath("/transcript.pdf"), "transcript.pdf");
        transcript.disabled = false;
      });
      var again = el("button", { type: "button", class: "primary newchat", text: T.newChat });
      var closeChat = el("button", { type: "button", class: "secondary closechat", text: T.close });
      var err = el("div", { class: "error", role: "alert" });
      var forget = el("button", { type: "button", class: "secondary forget", text: T.forget });
      var box = el("div", { class: "ended-actions", tabindex: "-1", "aria-label": T.ended },
        [el("div", { class: "rating-slot" }), transcript, err, el("div", { class: "row" }, [again, closeChat]),
         forget]);
      // "Delete my data" (DELETE /sessions/{id}): asked once more, then everything goes, here too.
      forget.addEventListener("click", function () {
        var yes = el("button", { type: "button", class: "primary forget-yes", text: T.forgetYes });
        var no = el("button", { type: "button", class: "secondary forget-no", text: T.forgetNo });
        var ask = el("div", { class: "forget-ask", role: "alertdialog", "aria-label": T.forget },
          [el("p", { text: T.forgetAsk }), el("div", { class: "row" }, [yes, no])]);
        forget.replaceWith(ask);
        no.focus();
        no.addEventListener("click", function () { ask.replaceWith(forget); forget.focus(); });
        yes.addEventListener("click", async function () {
          yes.disabled = no.disabled = true;
          err.textContent = "";
          try {
            await api("DELETE", sessionPath(""));
          } catch (e) {
            if (e.status !== 401 && e.status !== 404) {   // gone already: that is what was asked
              err.textContent = e.status && e.status < 500 ? e.message : T.failed;
              yes.disabled = no.disabled = false;
              return;
            }
          }
          stopEvents();
          state.session = null;
          save();
          clearBody();
          var done = el("div", { class: "forgotten", tabindex: "-1", role: "status" },
            [el("p", { text: T.forgotten })]);
          body.appendChild(done);
          done.focus();
        });
      });
      // A new chat in the same session: the visitor keeps their details, the event stream goes on
      // (a "choosing" status and the welcome follow) and the topics come back.
      again.addEventListener("click", async function () {
        again.disabled = closeChat.disabled = true;
        err.textContent = "";
        try {
          await api("POST", sessionPath("/restart"));
        } catch (e) {
          if (e.status === 401 || e.status === 404) {   // deleted meanwhile (another tab): afresh
            state.session = null; save(); startScreen(); return;
          }
          if (e.code !== "chat_not_ended") {   // not ended: another tab started the new chat already
            err.textContent = e.status === 429 ? T.tooMany : e.status && e.status < 500 ? e.message : T.failed;
            again.disabled = closeChat.disabled = false;
            return;
          }
        }
        state.focusTopics = true;
        poll();
      });
      closeChat.addEventListener("click", function () {
        state.session.closed = true;   // a reload then shows the launcher, not the ended chat
        save();
        close();
      });
      body.appendChild(box);
      if (!panel.hidden && focusLost()) box.focus();
      scroll();
    }

    function focusLost() {
      var active = root.activeElement;
      return !active || !active.getClientRects().length;
    }

    // 1-5 stars and a comment, which 1 or 2 stars make required. The browser says so before
    // sending; the server checks the same rule and its refusals are said in the widget's language.
    function ratingForm(view) {
      var slot = root.querySelector(".ended-actions .rating-slot");
      if (!slot || !view.can_rate || slot.firstChild) return;
      var chosen = 0;
      var stars = el("fieldset", { class: "stars" }, [el("legend", { text: T.rateTitle })]);
      var labels = [];
      for (var n = 1; n <= 5; n++) {
        var label = n === 1 ? T.star1 : t("stars", { n: n });
        var star = el("label", { class: "star", title: label },
          [el("input", { type: "radio", name: "stars", value: String(n), "aria-label": label }),
            el("span", { "aria-hidden": "true", text: "★" })]);
        labels.push(star);
        stars.appendChild(star);
      }
      var commentLabel = el("span", { text: T.comment });
      var comment = el("textarea", { name: "comment", maxlength: "2000", rows: "2" });
      var hint = el("p", { class: "hint", id: "laura-comment-hint", text: T.commentHint, hidden: "" });
      var err = el("div", { class: "error", role: "alert" });
      var send = el("button", { type: "submit", class: "primary", text: T.sendRating });
      var form = el("form", { class: "card rating", novalidate: "" },
        [stars, el("label", { class: "comment" }, [commentLabel, comment]), hint, err, send]);

      function needComment() { return chosen > 0 && chosen <= 2; }
      stars.addEventListener("change", function (ev) {
        chosen = Number(ev.target.value);
        labels.forEach(function (l, i) { l.classList.toggle("on", i < chosen); });
        var need = needComment();
        commentLabel.textContent = need ? T.commentNeeded : T.comment;
        hint.hidden = !need;
        if (need) { comment.required = true; comment.setAttribute("aria-describedby", "laura-comment-hint"); }
        else { comment.required = false; comment.removeAttribute("aria-describedby"); }
        err.textContent = "";
      });
      function done(text) {
        var note = el("p", { class: "info rated", role: "status", tabindex: "-1", text: text });
        form.replaceWith(note);
        note.focus();
      }
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        if (!chosen) { err.textContent = T.chooseStars; labels[0].firstChild.focus(); return; }
        var text = comment.value.trim();
        if (needComment() && !text) { err.textContent = T.commentRequired; comment.focus(); return; }
        // The chat this form was shown for: another tab may have started a new one since.
        var payload = { stars: chosen, conversation_id: view.conversation_id };
        if (text) payload.comment = text;
        send.disabled = true;
        try {
          await api("POST", sessionPath("/rating"), payload);
          done(T.rateThanks);
        } catch (e) {
          var known = {
            comment_required: T.commentRequired, bad_stars: T.chooseStars, bad_comment: T.commentTooLong,
            already_rated: T.alreadyRated, not_ratable: T.notRatable
          };
          var message = known[e.code] || (e.status === 429 ? T.tooMany : e.status && e.status < 500 ? e.message : T.failed);
          if (e.status === 409) { done(message); return; }   // rated already, or not ratable: no form
          err.textContent = message;
          send.disabled = false;
        }
      });
      slot.appendChild(form);
      scroll();
    }

    // Events ----------------------------------------------------------------------------------
    // Unread: what staff (or Laura) said while the chat was closed or the tab hidden counts on
    // the launcher and in the page title, until the visitor looks. Replayed history counts not:
    // the last seq the visitor saw is kept with the session.
    var pageTitle = document.title;
    var badge = el("span", { class: "badge", hidden: "", "aria-hidden": "true" });
    launcher.appendChild(badge);
    function looking() { return !panel.hidden && !document.hidden; }
    var shownUnread = 0;
    function showUnread() {
      var n = state.unread;
      launcher.setAttribute("aria-label", n ? T.launcher + " (" + t("unread", { n: n }) + ")" : T.launcher);
      if (n === shownUnread) return;   // the page's title is the page's: touched only for a count
      shownUnread = n;
      badge.hidden = !n;
      badge.textContent = n ? String(n) : "";
      var base = document.title.replace(/^\(\d+\) /, "");
      document.title = n ? "(" + n + ") " + base : base;
      toHost({ laura: "unread", count: n, label: launcher.getAttribute("aria-label") });
    }
    function markSeen() {
      if (!state.session || !looking()) return;
      if (state.cursor > (state.session.seen || 0)) { state.session.seen = state.cursor; save(); }
      if (state.unread) { state.unread = 0; showUnread(); }
    }
    document.addEventListener("visibilitychange", markSeen);

    // Attention beyond the count, as the organisation set it (GET /widget attention): a soft
    // chime and a browser notification when staff answer while the visitor is not looking.
    // Browsers allow sound only after a click in the page, so the chime's audio is readied on
    // the visitor's first click in the chat; the notification names who answered, never what.
    var audio = null;
    function readyAudio() {
      var want = state.widget && state.widget.attention;
      if (!want || !want.sound || audio || !(window.AudioContext || window.webkitAudioContext)) return;
      try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
    }
    // Asked when the visitor starts a chat, not before: then it is clear what it is for.
    function askNotify() {
      var want = state.widget && state.widget.attention;
      if (want && want.notifications && FRAME) toHost({ laura: "ask-notify" });
      else if (want && want.notifications && window.Notification && Notification.permission === "default") {
        try { Notification.requestPermission(); } catch (e) { /* an old browser: no prompt */ }
      }
    }
    panel.addEventListener("click", readyAudio);
    panel.addEventListener("keydown", readyAudio);
    function chime() {
      if (!audio) return;
      try {
        if (audio.state === "suspended") audio.resume();
        var tone = audio.createOscillator(), gain = audio.createGain(), at = audio.currentTime;
        tone.type = "sine";
        tone.frequency.setValueAtTime(660, at);
        tone.frequency.setValueAtTime(880, at + 0.12);
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.15, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.4);
        tone.connect(gain); gain.connect(audio.destination);
        tone.start(at); tone.stop(at + 0.42);
      } catch (e) { /* no sound, the count still shows */ }
    }
    function notifyAnswer(name) {
      var want = state.widget && state.widget.attention;
      if (want && want.notifications && FRAME) {   // the site shows it: the permission is its
        // (Not who answered: every script on the site can read what goes to the launcher.)
        toHost({ laura: "notify", title: state.widget.organization || T.title, body: T.answeredHere });
        return;
      }
      if (!want || !want.notifications || !window.Notification || Notification.permission !== "granted") return;
      try {
        var note = new Notification(state.widget.organization || T.title,
          { body: t("answered", { name: name }), tag: "laura-chat" });
        note.onclick = function () { window.focus(); open(); note.close(); };
      } catch (e) { /* some mobile browsers only notify from a service worker */ }
    }

    function render(ev) {
      if (state.rendered[ev.seq]) return;
      state.rendered[ev.seq] = true;
      if (ev.type === "message" && ev.sender !== "visitor" && !looking() && state.session
          && ev.seq > (state.session.seen || 0)) {
        state.unread += 1;
        showUnread();
        // Once per message (not again when the history is replayed after a reload), and only
        // for what just came.
        if (ev.sender === "staff" && ev.seq > (state.session.alerted || 0) && Date.now() - ev.ts < 60000) {
          state.session.alerted = ev.seq; save();
          chime(); notifyAnswer(ev.name);
        }
      }
      if (ev.type === "message") {
        var who = ev.sender === "visitor" ? T.you : ev.name;
        if (ev.sender === "staff") showTyping([]);
        body.appendChild(el("div", { class: "msg " + ev.sender + (ev.attachment ? " attachment" : ""), "data-seq": String(ev.seq) },
          [el("span", { class: "who", text: who }), ev.attachment ? attachmentView(ev.attachment) : linked(ev.body)]));
      } else if (ev.type === "typing") {
        // Replayed history (after a reload) may hold someone typing long ago: only fresh ones count.
        showTyping(Date.now() - ev.ts < 30000 ? ev.names || [] : []);
      } else if (ev.type === "video") {
        if (ev.video === "started") {
          state.video = { name: ev.name || "" };
          body.appendChild(el("div", { class: "info video", text: t("videoStarted", { name: ev.name || "" }) }));
        } else if (ev.video === "ended") {
          state.video = null;
          leaveCall();
          body.appendChild(el("div", { class: "info video ended", text: T.videoEnded }));
        }
        updateVideo();
      } else if (ev.type === "appointment" && ev.appointment) {
        body.appendChild(appointmentView(ev.appointment, ev.seq));
      } else if (ev.type === "queue") {
        queueBar.textContent = t("queue", { n: ev.position });
        queueBar.hidden = state.status !== "waiting";
      } else if (ev.type === "status") {
        if (ev.status === "ended" && state.status !== "ended") {
          body.appendChild(el("div", { class: "info ended", text: T.ended }));
        } else if (ev.status !== "ended" && state.status === "ended") {
          // A new chat in the same session: a line between the old chat and the new one.
          body.appendChild(el("div", { class: "divider", "data-seq": String(ev.seq) }, [el("span", { text: T.newChat })]));
        }
        setStatus(ev.status);
      }
      scroll();
    }

    async function refreshSub() {
      if (!state.session) return null;
      try {
        var s = await api("GET", "/sessions/" + state.session.session_id);
        var names = s.staff.map(function (x) { return x.name; }).join(", ");
        sub.textContent = s.status === "connected" && names ? t("connected", { names: names }) :
          s.status === "waiting" ? T.waiting : "";
        return s;
      } catch (e) { return null; /* shown by the poll loop */ }
    }

    function setStatus(status) {
      state.status = status;
      popBtn.hidden = PAGE && !FRAME || !window.open || memory.isolated;
      compose.hidden = status === "ended" || status === "contact";
      endBtn.hidden = status === "ended";
      if (status !== "waiting") queueBar.hidden = true;
      if (status !== "connected") { showTyping([]); typingReset(); }
      if (status === "ended") { state.video = null; leaveCall(); closeAskEnd(false); }
      updateVideo();
    }

    async function afterBatch() {
      if (state.status === "choosing") topicButtons();
      else { var tb = root.querySelector(".topics"); if (tb) tb.remove(); }
      if (state.status === "contact") contactForm();
      else { var cf = root.querySelector("form.contact"); if (cf) cf.remove(); }
      if (state.status === "ended") endedScreen();
      else { var ea = root.querySelector(".ended-actions"); if (ea) ea.remove(); }
      var view = await refreshSub();
      if (view && view.status === "ended" && state.status === "ended") ratingForm(view);
    }

    // Events come over a stream (Server-Sent Events read with fetch, so the token stays in a
    // header, never in a URL); where streaming does not get through (a proxy that buffers it),
    // over the long poll for the rest of the page's life. Either resumes from the cursor.
    function batch(data) {
      if (state.popped || gone) return;
      showError("");
      data.events.forEach(render);
      state.cursor = data.next;
      markSeen();
      if (data.events.length) afterBatch();
    }

    // The server sends something at once and then at least every 20 s: silence for longer
    // means a connection the network dropped without telling anyone.
    async function stream(sid) {
      var ctl = new AbortController(), heard = false, silent = false, timer = null, gen = state.gen;
      function watch(ms) {
        clearTimeout(timer);
        timer = setTimeout(function () { silent = true; ctl.abort(); }, ms);
      }
      state.abort = function () { ctl.abort(); };
      watch(10000);
      try {
        var resp = await fetch(API + "/sessions/" + sid + "/stream?after=" + state.cursor, {
          headers: { Authorization: "Bearer " + state.session.token, Accept: "text/event-stream" },
          cache: "no-store", signal: ctl.signal
        });
        if (!resp.ok) throw await errorOf(resp);
        if (!resp.body || !window.TextDecoder) { state.transport = "poll"; return; }
        var reader = resp.body.getReader(), decoder = new TextDecoder(), buf = "";
        for (;;) {
          var chunk = await reader.read();
          if (chunk.done) {
            // Ended before its first event (Laura stopping, or a proxy answering for it): not
            // a stream to open again at once, but a pause like any failure.
            if (!heard) throw new Error("stream ended empty");
            return;
          }
          if (heard) watch(45000);
          buf += decoder.decode(chunk.value, { stream: true }).replace(/\r/g, "");
          var end;
          while ((end = buf.indexOf("\n\n")) >= 0) {
            var lines = buf.slice(0, end).split("\n");
            buf = buf.slice(end + 2);
            for (var i = 0; i < lines.length; i++) {
              if (lines[i].indexOf("data:") !== 0) continue;
              if (!heard) { heard = true; watch(45000); }
              if (gen !== state.gen) { ctl.abort(); return; }
              batch(JSON.parse(lines[i].slice(5)));
            }
            if (!state.session || state.session.session_id !== sid || state.status === "ended") {
              ctl.abort(); return;
            }
          }
        }
      } catch (e) {
        if (silent) { var err = new Error("silent"); err.silent = true; err.heard = heard; throw err; }
        if (ctl.signal.aborted) return;
        throw e;
      } finally {
        clearTimeout(timer);
        state.abort = null;
      }
    }

    async function longPoll(sid, wait) {
      var gen = state.gen, ctl = new AbortController();
      state.abort = function () { ctl.abort(); };
      var data = await api("GET", "/sessions/" + sid + "/events?after=" + state.cursor + "&timeout=" + wait,
        null, wait * 1000 + 15000, ctl);
      if (gen === state.gen) batch(data);   // else the chat popped out (or came back) meanwhile
    }

    async function poll() {
      if (state.polling) return;
      state.polling = true;
      var first = true;
      while (state.session && !gone && !state.popped) {
        var sid = state.session.session_id;
        try {
          if (state.transport !== "poll" && !first) await stream(sid);
          else await longPoll(sid, first ? 0 : 25);
          first = false;
          if (state.status === "ended") break;
        } catch (e) {
          if (gone || state.popped) break;   // called off: popped out, or started afresh
          if (e.status === 401 || e.status === 404) {  // the session is gone: start afresh
            state.session = null; save(); startScreen(); break;
          }
          if (e.silent && !e.heard) {
            // Not even the first event: either something between holds streams back (then the
            // long poll gets through, and serves from now on) or the network is down.
            try { await longPoll(sid, 0); state.transport = "poll"; continue; } catch (e2) { /* down */ }
          }
          // Refused for being open in too many places (or another limit): wait as long as
          // Laura says, and say why; anything else is the network.
          showError(e.status === 429 ? (e.code === "too_many_listening" ? T.tooManyOpen : T.tooMany) : T.reconnecting);
          await new Promise(function (r) { setTimeout(r, e.status === 429 ? Math.max(2, e.retryAfter) * 1000 : 2000); });
        }
      }
      state.polling = false;
    }

    function stopEvents() { if (state.abort) state.abort(); }

    // Files ------------------------------------------------------------------------------------
    function attachmentView(att) {
      var path = sessionPath("/attachments/" + encodeURIComponent(att.id));
      var size = formatSize(att.size || 0);
      if (att.kind === "image") {
        var img = el("img", { alt: att.name });
        if (att.width && att.height) {   // reserve the space, so the log does not jump when it loads
          var scale = Math.min(1, 220 / att.width, 220 / att.height);
          img.width = Math.max(1, Math.round(att.width * scale));
          img.height = Math.max(1, Math.round(att.height * scale));
        }
        var thumb = el("button", { type: "button", class: "thumb", "aria-label": t("enlarge", { name: att.name }) }, [img]);
        thumb.addEventListener("click", function () { openImage(att, path, thumb); });
        blobURL(path + "?thumbnail=1").then(function (url) { img.src = url; scroll(); })
          .catch(function () { img.alt = att.name + " (" + size + ")"; });
        return el("div", { class: "file-image" }, [thumb, el("span", { class: "meta", text: att.name + " · " + size })]);
      }
      var link = el("button", { type: "button", class: "file", "aria-label": t("download", { name: att.name, size: size }) },
        [icon(PAPERCLIP), el("span", { class: "name", text: att.name }), el("span", { class: "meta", text: size })]);
      link.addEventListener("click", async function () {
        link.disabled = true;
        await saveFile(path + "?download=1", att.name);
        link.disabled = false;
      });
      return link;
    }

    // An appointment staff booked for this chat (or its change): when, where, with whom, and
    // the calendar file. Each change is a new card; the chat's history shows the sequence.
    function appointmentView(a, seq) {
      var when = a.start;
      try {
        when = new Intl.DateTimeFormat(LANG, {
          weekday: "long", day: "numeric", month: "long", year: "numeric",
          hour: "2-digit", minute: "2-digit", timeZone: a.timezone
        }).format(new Date(a.start));
      } catch (e) { /* the ISO time, then */ }
      var heading = { moved: T.appointmentMoved, cancelled: T.appointmentCancelled }[a.status] || T.appointmentBooked;
      var where = { video: T.appointmentVideo, home: T.appointmentHome, phone: T.bookPhone,
        chat: T.bookChat }[a.location_kind] || a.location;
      var lines = [el("strong", { text: heading }), el("span", { class: "when", text: when })];
      if (a.title) lines.push(el("span", { text: a.title }));
      if (where) lines.push(el("span", { text: t("appointmentWhere", { place: where }) }));
      if (a.adviser) lines.push(el("span", { text: t("appointmentWith", { name: a.adviser }) }));
      if (a.remarks) lines.push(el("span", { class: "remarks", text: a.remarks }));
      var card = el("div", { class: "info appointment" + (a.status === "cancelled" ? " cancelled" : ""), "data-seq": String(seq), role: "group", "aria-label": heading }, lines);
      if (a.status !== "cancelled") {
        var add = el("button", { type: "button", class: "file", text: T.appointmentCalendar });
        add.addEventListener("click", async function () {
          add.disabled = true;
          await saveFile(sessionPath("/appointments/" + encodeURIComponent(a.id) + ".ics"), "afspraak.ics");
          add.disabled = false;
        });
        card.appendChild(add);
      }
      return card;
    }

    var imageOpener = null;
    async function openImage(att, path, opener) {
      imageOpener = opener;
      bigCaption.textContent = att.name;
      bigImage.alt = att.name;
      lightbox.setAttribute("aria-label", att.name);
      bigSave.onclick = function () { saveFile(path + "?download=1", att.name); };
      lightbox.hidden = false;
      bigClose.focus();
      try {
        if (!att.url) att.url = await blobURL(path);
        if (!lightbox.hidden && imageOpener === opener) bigImage.src = att.url;
      } catch (e) { showError(e.status && e.status < 500 ? e.message : T.downloadFailed); closeImage(); }
    }

    function closeImage() {
      if (lightbox.hidden) return;
      lightbox.hidden = true;
      bigImage.removeAttribute("src");
      if (imageOpener && imageOpener.isConnected) imageOpener.focus();
      imageOpener = null;
    }
    bigClose.addEventListener("click", closeImage);
    // The host page receives key presses from inside the shadow root too.
    function onKey(ev) {
      if (ev.key !== "Escape") return;
      if (!lightbox.hidden) { ev.preventDefault(); closeImage(); }
      else if (!askEnd.hidden) { ev.preventDefault(); closeAskEnd(true); }
      // (In the frame the whole page is the chat; on a site, only a key pressed inside it.)
      else if ((FRAME || !PAGE && ev.composedPath().indexOf(host) >= 0) && !panel.hidden) {
        ev.preventDefault(); close();   // focus goes back to the launcher
      }
    }
    document.addEventListener("keydown", onKey);

    function filesOn() {
      return !!(state.widget && state.widget.files && state.widget.files.types && state.widget.files.types.length);
    }

    // The browser refuses what the server would refuse anyway, before a byte is sent; the
    // server still checks the content itself.
    function refusal(file) {
      var rules = state.widget.files;
      if (file.size > rules.max_bytes) return t("fileTooLarge", { max: formatSize(rules.max_bytes) });
      if (file.type && rules.types.indexOf(file.type) < 0) return t("fileType", { types: typeNames(rules.types) });
      if (!file.size) return T.fileEmpty;
      return null;
    }

    function upload(file) {
      var refused = refusal(file);
      if (refused) { showError(refused); return; }
      showError("");
      var form = new FormData();
      form.append("file", file, file.name);
      var xhr = new XMLHttpRequest();   // not fetch(): XHR reports the upload's progress
      xhr.open("POST", API + sessionPath("/attachments"));
      xhr.setRequestHeader("Authorization", "Bearer " + state.session.token);
      uploadName.textContent = t("uploading", { name: file.name });
      progress.value = 0;
      uploadBar.hidden = false;
      attachBtn.disabled = true;
      xhr.upload.addEventListener("progress", function (ev) {
        if (ev.lengthComputable) progress.value = ev.loaded / ev.total;
      });
      function done(message) {
        uploadBar.hidden = true;
        attachBtn.disabled = false;
        showError(message);
      }
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) { done(""); return; }
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        var code = data && data.error && data.error.code;
        var message = data && data.error && data.error.message;
        // The server's messages are English; the ones the widget knows are said in its language.
        var rules = state.widget.files;
        var known = {
          file_too_large: t("fileTooLarge", { max: formatSize(rules.max_bytes) }),
          file_type_not_allowed: t("fileType", { types: typeNames(rules.types) }),
          file_empty: T.fileEmpty,
          file_unreadable: T.fileUnreadable,
          file_active_content: T.fileActive
        };
        done(known[code] || (xhr.status < 500 && message ? message : T.failed));
      });
      xhr.addEventListener("error", function () { done(T.failed); });
      xhr.addEventListener("abort", function () { done(""); });
      xhr.send(form);
    }

    attachBtn.addEventListener("click", function () { fileInput.click(); });
    fileInput.addEventListener("change", function () {
      var file = fileInput.files && fileInput.files[0];
      fileInput.value = "";   // choosing the same file again is a new choice
      if (file) upload(file);
    });

    function applyFileRules() {
      attachBtn.hidden = !filesOn();
      if (filesOn()) fileInput.setAttribute("accept", state.widget.files.types.join(","));
    }

    // Typing -----------------------------------------------------------------------------------
    var typingTimer = null;
    function showTyping(names) {
      clearTimeout(typingTimer);
      if (!names.length) { typingLine.textContent = ""; return; }
      typingLine.textContent = t(names.length > 1 ? "typingMany" : "typingOne", { names: listNames(names) });
      typingTimer = setTimeout(function () { typingLine.textContent = ""; }, 35000);  // a missed "stopped"
    }

    // The visitor's own typing: "typing" at most every 3 s while they type, "stopped" after 5 s
    // without input or when the box is emptied. The draft itself goes only when the server said the
    // admin turned the preview on, and at most every 2 s (a last update follows the final key).
    var me = { active: false, sentAt: 0, preview: false, idle: null, trailing: null };
    function typingReset() {
      clearTimeout(me.idle); clearTimeout(me.trailing);
      me.idle = me.trailing = null; me.active = false;
    }

    async function sendTyping(typing) {
      if (!state.session) return;
      var payload = { typing: typing };
      if (typing && me.preview) payload.draft = textarea.value;
      me.sentAt = Date.now();
      try {
        var wasPreview = me.preview;
        var answer = await api("POST", sessionPath("/typing"), payload);
        me.preview = !!answer.preview;
        if (me.preview && !wasPreview && me.active) trailingDraft();
      } catch (e) { /* typing is a courtesy: never an error for the visitor */ }
    }

    function trailingDraft() {
      if (me.trailing) return;
      me.trailing = setTimeout(function () {
        me.trailing = null;
        if (me.active && textarea.value.trim()) sendTyping(true);
      }, Math.max(0, me.sentAt + 2000 - Date.now()));
    }

    function stopTyping() {
      var was = me.active;
      typingReset();
      if (was) sendTyping(false);
    }

    function onInput() {
      if (state.status !== "connected" || !state.session) return;
      if (!textarea.value.trim()) { stopTyping(); return; }
      clearTimeout(me.idle);
      me.idle = setTimeout(stopTyping, 5000);
      var since = Date.now() - me.sentAt;
      if (!me.active || since >= 3000 || (me.preview && since >= 2000)) {
        me.active = true;
        clearTimeout(me.trailing); me.trailing = null;
        sendTyping(true);
      } else if (me.preview) {
        trailingDraft();
      }
    }

    // Video ------------------------------------------------------------------------------------
    var call = null;
    var scripts = {};

    // Jitsi's external_api.js goes into the host document (a shadow root has no head of its
    // own), once per page and server; a failed load may be tried again.
    function loadScript(src) {
      if (!scripts[src]) {
        scripts[src] = new Promise(function (resolve, reject) {
          var s = document.createElement("script");
          s.src = src; s.async = true;
          s.onload = resolve;
          s.onerror = function () { delete scripts[src]; s.remove(); reject(new Error(T.videoFailed)); };
          document.head.appendChild(s);
        });
      }
      return scripts[src];
    }

    function updateVideo() {
      var offer = state.video && state.status === "connected" && !call;
      if (offer) videoText.textContent = t("videoOffer", { name: state.video.name });
      videoBar.hidden = !offer;
    }

    async function joinCall() {
      joinBtn.disabled = true;
      var info = null;
      try {
        info = await api("GET", sessionPath("/video"));
        await loadScript(info.external_api);
        if (typeof window.JitsiMeetExternalAPI !== "function") throw new Error(T.videoFailed);
        if (!state.video || call) return;   // ended (or joined) while loading
        callFrame.textContent = "";
        callBox.hidden = false;
        panel.classList.add("in-call");
        // Jitsi asks for the camera and microphone now; its iframe carries the permissions.
        call = new window.JitsiMeetExternalAPI(info.domain, {
          roomName: info.room, jwt: info.jwt || undefined, parentNode: callFrame,
          userInfo: { displayName: info.display_name },
          configOverwrite: { prejoinConfig: { enabled: true } }, interfaceConfigOverwrite: {}
        });
        if (typeof call.addListener === "function") call.addListener("readyToClose", leaveCall);
        showError("");
      } catch (e) {
        // On Laura's own pages (the frame, /chat) the security policy lets in only Laura's
        // Jitsi server: a call on another (Element's own) opens in a window of its own.
        if (PAGE && info && /^https:\/\//.test(info.url || "") && window.open(info.url, "_blank", "noopener")) {
          showError("");
          leaveCall();
          return;
        }
        showError(e.status && e.status < 500 ? e.message : T.videoFailed);
        leaveCall();
      } finally {
        joinBtn.disabled = false;
        updateVideo();
      }
    }

    function leaveCall() {
      if (call) {
        var current = call;
        call = null;
        try { current.dispose(); } catch (e) { /* already gone */ }
      }
      callFrame.textContent = "";
      callBox.hidden = true;
      panel.classList.remove("in-call");
      updateVideo();
    }
    joinBtn.addEventListener("click", joinCall);
    leaveBtn.addEventListener("click", leaveCall);

    // Sending -----------------------------------------------------------------------------------
    var pendingTxn = null;
    compose.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var text = textarea.value.trim();
      if (!text) return;
      typingReset();   // the server stops the typing itself once the message is in
      pendingTxn = pendingTxn || uuid();   // a retry after a failure reuses the same id
      sendBtn.disabled = true;
      try {
        await api("POST", "/sessions/" + state.session.session_id + "/messages", { body: text, client_txn_id: pendingTxn });
        textarea.value = ""; pendingTxn = null; showError("");
      } catch (e) {
        showError(e.status && e.status < 500 ? e.message : T.failed);
        if (e.status && e.status < 500) pendingTxn = null;
      }
      sendBtn.disabled = false;
      textarea.focus();
    });
    textarea.addEventListener("input", function () { pendingTxn = null; onInput(); });
    textarea.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); compose.requestSubmit(); }
    });

    var booted = null;   // the first screen, once the API answered
    function boot() {
      if (!booted) booted = start();
      return booted;
    }
    async function start() {
      await handedOver;
      if (POPUP && !state.session) state.session = memory.session;
      try { state.widget = await info(); title.firstChild.textContent = state.widget.organization; }
      catch (e) { showError(T.reconnecting); }
      if (PAGE && state.widget) document.title = pageTitle = state.widget.organization + " – " + T.title;
      languageChoice();
      applyFileRules();
      if (state.session) poll();
      else if (ORPHAN) orphanScreen();
      else startScreen();
    }

    function orphanScreen() {
      clearBody();
      popBtn.hidden = true;
      var shut = el("button", { class: "primary", type: "button", text: T.closeWindow });
      var fresh = el("button", { type: "button", text: T.newChatHere });
      shut.addEventListener("click", function () { window.close(); });
      fresh.addEventListener("click", function () {
        try { history.replaceState(null, "", location.pathname + location.search); } catch (e) { /* stays */ }
        startScreen();
        focusInside();
      });
      body.appendChild(el("form", { class: "card orphan" }, [el("p", { text: T.orphan }), shut, fresh]));
    }

    // The languages Laura offers, each named in its own language.
    function languageChoice() {
      var names = (state.widget && state.widget.language_names) || {};
      var codes = ((state.widget && state.widget.languages) || []).filter(function (c) { return names[c]; });
      langSelect.textContent = "";
      codes.forEach(function (c) {
        langSelect.appendChild(el("option", { value: c, lang: c, text: names[c] }));
      });
      langSelect.value = LANG;
      langSelect.hidden = codes.length < 2;
    }
    langSelect.addEventListener("change", async function () {
      var code = langSelect.value;
      if (code === LANG) return;
      memory.lang = code;
      try { localStorage.setItem(LANG_KEY, code); } catch (e) { /* kept for this page */ }
      langSelect.disabled = true;
      // Laura's own texts to the visitor (queue places, the transcript) follow; a failure
      // here leaves them in the old language, the widget switches all the same.
      if (state.session) {
        try { await api("POST", sessionPath("/language"), { language: code }, 10000); } catch (e) { /* see above */ }
      }
      teardown();
      launch({ open: true, focus: "language" });
    });

    // Pop-out: the chat moves to a window of its own (Laura's /chat page) and back; one of the
    // two is live at a time. The conversation goes over postMessage to Laura's origin only,
    // and comes back (a new chat, or none) the same way; this page keeps the lasting copy.
    var popup = null, popWatch = null, popReady = false, poppedAt = 0;
    function popOut() {
      var w = null;
      try { w = window.open(CHAT_URL + "?lang=" + LANG + "#popout", "laura-chat", "popup,width=420,height=680"); }
      catch (e) { w = null; }
      if (!w) {   // a pop-up blocker, or (from the frame) a site that cuts new windows off
        isolatedNote.textContent = T.popupBlocked; isolatedNote.hidden = false;
        return;
      }
      if (!memory.isolated) isolatedNote.hidden = true;
      popup = w; popReady = false; poppedAt = Date.now();
      state.popped = true; state.gen += 1;
      stopEvents(); leaveCall(); stopTyping(); closeImage(); closeAskEnd(false);
      panel.classList.add("is-popped");
      poppedBox.hidden = false;
      backBtn.focus();
      popWatch = setInterval(function () {
        if (popup && !popup.closed) return;
        // Gone before it could say hello: the site cut the window off from this page
        // (Cross-Origin-Opener-Policy), not a visitor closing it.
        var cutOff = !popReady && Date.now() - poppedAt < 4000;
        comeBack(cutOff);
        if (cutOff) {
          memory.isolated = true; popBtn.hidden = true;
          isolatedNote.textContent = T.popupIsolated; isolatedNote.hidden = false;
        }
      }, 250);
    }
    function comeBack(focus) {
      clearInterval(popWatch); popWatch = null;
      if (popup && !popup.closed) { try { popup.close(); } catch (e) { /* gone */ } }
      popup = null;
      if (!state.popped || gone) return;
      state.popped = false; state.gen += 1;
      panel.classList.remove("is-popped");
      poppedBox.hidden = true;
      // Drawn again from the start: the other window may have moved the chat on, or ended it.
      clearBody(); state.cursor = 0; state.status = null; sub.textContent = "";
      if (state.session) poll(); else startScreen();
      if (focus) boot().then(focusInside);
    }
    function onMessage(ev) {
      if (!popup || ev.source !== popup || ev.origin !== LAURA) return;
      var m = ev.data || {};
      if (m.laura === "ready") {
        popReady = true;
        popup.postMessage({ laura: "chat", session: state.session, identity: IDENTITY }, LAURA);
      } else if (m.laura === "session") {
        state.session = m.session && m.session.session_id && m.session.token ? m.session : null;
        save();
      } else if (m.laura === "back") {
        comeBack(true);
      }
    }
    if (!PAGE || FRAME) window.addEventListener("message", onMessage);
    popBtn.addEventListener("click", popOut);
    backBtn.addEventListener("click", function () { comeBack(true); });

    function teardown() {
      gone = true;
      clearBody();   // frees the thumbnails' object URLs
      window.removeEventListener("message", onMessage);
      window.removeEventListener("message", fromHost);
      clearInterval(popWatch);
      stopEvents();
      leaveCall();
      typingReset();
      clearTimeout(typingTimer);
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("visibilitychange", markSeen);
      if (audio) { try { audio.close(); } catch (e) { /* closed */ } }
      document.title = pageTitle;
      host.remove();
    }

    // What Laura says about the chat (topics, availability, how it looks, its texts): asked
    // once, before the widget was drawn.
    var asked = Promise.resolve(widget);
    function info() { return asked; }
    // The organisation's look (config widget.*): colour, corner, logo (its own wording is in
    // the texts already).
    function brand(w) {
      var b = w && w.branding;
      if (!b || gone) return;
      if (/^#[0-9a-fA-F]{6}$/.test(b.color || "")) host.style.setProperty("--accent", b.color);
      launcher.classList.toggle("left", b.position === "left");
      panel.classList.toggle("left", b.position === "left");
      if (b.logo_url && /^https?:\/\//.test(b.logo_url) && !root.querySelector(".head .logo")) {
        title.parentNode.insertBefore(el("img", { class: "logo", src: b.logo_url, alt: "" }), title);
      }
      showUnread();
      look(w);
    }
    // Tell the launcher on the site what it is called and how it looks.
    function look(w) {
      var b = (w && w.branding) || {};
      toHost({ laura: "look", label: T.launcher, title: (w && w.organization) || T.title,
        color: b.color, position: b.position });
    }
    function fromHost(ev) {
      if (ev.source === window.parent && ev.origin === PARENT && ev.data && ev.data.laura === "open") open();
    }
    if (FRAME) window.addEventListener("message", fromHost);

    function mount() {
      document.body.appendChild(host);
      info().then(brand, function () { look(null); /* the failure is said when the chat opens */ });
      if (PAGE) {
        document.documentElement.lang = LANG;
        panel.classList.add("page");
        launcher.hidden = true;
      }
      if (PAGE && !FRAME) {
        closeBtn.hidden = !POPUP;
        closeBtn.setAttribute("aria-label", T.back);
        closeBtn.title = T.back;
      }
      // A chat in progress reopens after navigation or reload, unless the visitor closed it
      // after the end; after a language switch the chat stays open where it was.
      if (PAGE && !FRAME || options.open || state.session && !state.session.closed) open();
      else toHost({ laura: "state", open: false });
      if (options.focus === "language") boot().then(function () { langSelect.focus(); });
    }
    if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
    return teardown;
  }
  // In the iframe: first the site's hello (from a site Laura is configured for), with the
  // portal identity if there is one; it comes as soon as this page has loaded.
  if (FRAME) {
    var hello = new Promise(function (resolve) {
      function greet(ev) {
        var m = ev.data;
        if (ev.source !== window.parent || SITES.indexOf(ev.origin) < 0 || !m || m.laura !== "init") return;
        window.removeEventListener("message", greet);
        PARENT = ev.origin;
        if (typeof m.identity === "string" && m.identity) { IDENTITY = m.identity; STORE = storeKey(); }
        resolve();
      }
      window.addEventListener("message", greet);
      // A hello after this is not taken: the chat would change whose it is while running.
      setTimeout(function () { window.removeEventListener("message", greet); resolve(); }, 5000);
    });
    hello.then(function () { launch({}); });
  } else {
    launch({});
  }
})();
