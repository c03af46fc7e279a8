/* Laura chat widget (first version). Plain JavaScript, no build step.
 *
 * Embed with: <script src="https://laura.example.org/widget/laura-widget.js" defer></script>
 * Options (attributes on the script tag): data-api (default: same origin /api/v1),
 * data-lang (nl or en; default: ?lang= in the page URL, else nl).
 *
 * The chat lives in a shadow root so the host site's CSS cannot break it. Everything shown comes
 * from the server's event stream (ordered by seq), so a reload, a new tab or a browser restart
 * replays the same conversation. All text is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src, location.href) : new URL(location.href);
  var API = (script && script.dataset.api) || new URL("/api/v1", base).href.replace(/\/$/, "");
  var CSS = new URL("laura-widget.css", base).href;
  var STORE = "laura.chat." + new URL(API, location.href).host;
  var params = new URLSearchParams(location.search);
  var LANG = (script && script.dataset.lang) || params.get("lang") || "nl";
  if (LANG !== "en") LANG = "nl";

  var T = {
    nl: {
      launcher: "Chat met ons", title: "Chat", close: "Sluiten", end: "Beëindigen",
      intro: "Stel je vraag via de chat. Je naam en e-mailadres zijn niet verplicht.",
      name: "Naam of bijnaam (niet verplicht)", email: "E-mailadres (niet verplicht)",
      start: "Start de chat", choose: "Kies een onderwerp:", send: "Verstuur",
      placeholder: "Typ je bericht…", you: "Jij", queue: "Je bent nummer {n} in de wachtrij.",
      waiting: "Even geduld, er komt zo iemand bij je.", connected: "In gesprek met {names}",
      contactTitle: "Laat je gegevens achter", phone: "Telefoonnummer",
      message: "Waar gaat het over? (niet verplicht)", sendContact: "Verstuur",
      noContact: "Nee, liever niet", keepWaiting: "Ik wacht nog even", contactNeed: "Vul een telefoonnummer of e-mailadres in.",
      ended: "Het gesprek is beëindigd.", newChat: "Nieuw gesprek",
      confirmEnd: "Weet je zeker dat je het gesprek wilt beëindigen?",
      offline: "Op dit moment is de chat niet beschikbaar. Probeer het later nog eens.",
      topic: "Onderwerp (niet verplicht)", offlineThanks: "Dank je wel. We nemen zo snel mogelijk contact met je op.",
      failed: "Versturen lukte niet. Controleer je verbinding en probeer het opnieuw.",
      reconnecting: "Verbinding verbroken, opnieuw verbinden…"
    },
    en: {
      launcher: "Chat with us", title: "Chat", close: "Close", end: "End chat",
      intro: "Ask your question in the chat. Your name and e-mail are optional.",
      name: "Name or nickname (optional)", email: "E-mail address (optional)",
      start: "Start the chat", choose: "Choose a topic:", send: "Send",
      placeholder: "Type your message…", you: "You", queue: "You are number {n} in the queue.",
      waiting: "Please wait, someone will be with you shortly.", connected: "Talking with {names}",
      contactTitle: "Leave your details", phone: "Phone number",
      message: "What is it about? (optional)", sendContact: "Send",
      noContact: "No, thanks", keepWaiting: "I'll keep waiting", contactNeed: "Enter a phone number or an e-mail address.",
      ended: "The conversation has ended.", newChat: "New chat",
      confirmEnd: "Are you sure you want to end the conversation?",
      offline: "The chat is not available right now. Please try again later.",
      topic: "Topic (optional)", offlineThanks: "Thank you. We will get back to you as soon as possible.",
      failed: "Sending failed. Check your connection and try again.",
      reconnecting: "Connection lost, reconnecting…"
    }
  }[LANG];

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

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // State -----------------------------------------------------------------------------------
  var saved = null;
  try { saved = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { saved = null; }
  var state = { session: saved, cursor: 0, status: null, widget: null, polling: false, rendered: {} };

  function save() {
    try {
      if (state.session) localStorage.setItem(STORE, JSON.stringify(state.session));
      else localStorage.removeItem(STORE);
    } catch (e) { /* storage blocked: the chat still works until the page closes */ }
  }

  async function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.session) headers.Authorization = "Bearer " + state.session.token;
    var resp = await fetch(API + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined });
    var data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) {
      var err = new Error((data && data.error && data.error.message) || resp.statusText);
      err.status = resp.status; err.code = data && data.error && data.error.code;
      throw err;
    }
    return data;
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
  var queueBar = el("div", { class: "queue", role: "status", hidden: "" });
  var body = el("div", { class: "body", role: "log", "aria-live": "polite" });
  var textarea = el("textarea", { placeholder: T.placeholder, "aria-label": T.placeholder, rows: "1", maxlength: "4000" });
  var sendBtn = el("button", { type: "submit", text: T.send });
  var compose = el("form", { class: "compose", hidden: "" }, [textarea, sendBtn]);
  var errorLine = el("div", { class: "error", role: "alert" });
  var panel = el("div", { class: "panel", role: "dialog", "aria-label": T.title, hidden: "" },
    [el("div", { class: "head" }, [title, endBtn, closeBtn]), queueBar, body, errorLine, compose]);
  root.appendChild(launcher);
  root.appendChild(panel);

  function open() { panel.hidden = false; launcher.hidden = true; boot(); textarea.focus(); }
  launcher.addEventListener("click", open);
  closeBtn.addEventListener("click", function () { panel.hidden = true; launcher.hidden = false; launcher.focus(); });
  endBtn.addEventListener("click", async function () {
    if (!confirm(T.confirmEnd)) return;
    try { await api("POST", "/sessions/" + state.session.session_id + "/end"); } catch (e) { showError(e.message); }
  });

  function showError(text) { errorLine.textContent = text || ""; }
  function scroll() { body.scrollTop = body.scrollHeight; }
  function clearBody() { body.textContent = ""; state.rendered = {}; }

  // Screens ---------------------------------------------------------------------------------
  function startScreen() {
    clearBody();
    if (state.widget && !state.widget.available) {
      offlineScreen();
      return;
    }
    var name = el("input", { name: "name", maxlength: "60", autocomplete: "nickname" });
    var email = el("input", { name: "email", type: "email", maxlength: "254", autocomplete: "email" });
    var err = el("div", { class: "error", role: "alert" });
    var form = el("form", { class: "card start" }, [
      el("p", { text: T.intro }),
      el("label", { text: T.name }, [name]), el("label", { text: T.email }, [email]),
      err, el("button", { class: "primary", type: "submit", text: T.start })]);
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      try {
        var payload = { language: LANG };
        if (name.value.trim()) payload.name = name.value.trim();
        if (email.value.trim()) payload.email = email.value.trim();
        var created = await api("POST", "/sessions", payload);
        state.session = { session_id: created.session_id, token: created.token };
        save();
        clearBody();
        poll();
      } catch (e) { err.textContent = e.message; }
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
    body.appendChild(box);
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
    var form = el("form", { class: "card contact offline" }, [
      el("strong", { text: T.contactTitle }), el("label", { text: T.name }, [name]),
      el("label", { text: T.phone }, [phone]), el("label", { text: T.email.replace(/ \(.*\)/, "") }, [email]),
      el("label", { text: T.topic }, [topic]), el("label", { text: T.message }, [message]), err,
      el("div", { class: "row" }, [el("button", { class: "primary", type: "submit", text: T.sendContact })])]);
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      if (!phone.value.trim() && !email.value.trim()) { err.textContent = T.contactNeed; return; }
      var payload = {};
      [["name", name], ["phone", phone], ["email", email], ["message", message], ["topic_id", topic]].forEach(function (p) {
        if (p[1].value.trim()) payload[p[0]] = p[1].value.trim();
      });
      try {
        var created = await api("POST", "/sessions", { language: LANG, name: payload.name ? payload.name.slice(0, 60) : undefined });
        state.session = { session_id: created.session_id, token: created.token };
        await api("POST", "/sessions/" + created.session_id + "/contact-request", payload);
        state.session = null; save();
        form.replaceWith(el("p", { class: "info thanks", role: "status", text: T.offlineThanks }));
      } catch (e) { state.session = null; err.textContent = e.message; }
    });
    body.appendChild(form);
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
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      if (!phone.value.trim() && !email.value.trim()) { err.textContent = T.contactNeed; return; }
      var payload = {};
      [["name", name], ["phone", phone], ["email", email], ["message", message]].forEach(function (p) {
        if (p[1].value.trim()) payload[p[0]] = p[1].value.trim();
      });
      try { await api("POST", "/sessions/" + state.session.session_id + "/contact-request", payload); form.remove(); }
      catch (e) { err.textContent = e.message; }
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

  function endedScreen() {
    if (root.querySelector(".newchat")) return;
    var again = el("button", { type: "button", class: "primary newchat", text: T.newChat });
    again.addEventListener("click", function () {
      state.session = null; state.cursor = 0; state.status = null; save();
      queueBar.hidden = true; endBtn.hidden = true; compose.hidden = true; sub.textContent = "";
      startScreen();
    });
    body.appendChild(el("div", { class: "info", text: T.ended }));
    body.appendChild(again);
    scroll();
  }

  // Events ----------------------------------------------------------------------------------
  function render(ev) {
    if (state.rendered[ev.seq]) return;
    state.rendered[ev.seq] = true;
    if (ev.type === "message") {
      var who = ev.sender === "visitor" ? T.you : ev.name;
      body.appendChild(el("div", { class: "msg " + ev.sender, "data-seq": String(ev.seq) },
        [el("span", { class: "who", text: who }), document.createTextNode(ev.body)]));
    } else if (ev.type === "queue") {
      queueBar.textContent = t("queue", { n: ev.position });
      queueBar.hidden = state.status !== "waiting";
    } else if (ev.type === "status") {
      setStatus(ev.status);
    }
    scroll();
  }

  async function refreshSub() {
    if (!state.session) return;
    try {
      var s = await api("GET", "/sessions/" + state.session.session_id);
      var names = s.staff.map(function (x) { return x.name; }).join(", ");
      sub.textContent = s.status === "connected" && names ? t("connected", { names: names }) :
        s.status === "waiting" ? T.waiting : "";
    } catch (e) { /* shown by the poll loop */ }
  }

  function setStatus(status) {
    state.status = status;
    compose.hidden = status === "ended" || status === "contact";
    endBtn.hidden = status === "ended";
    if (status !== "waiting") queueBar.hidden = true;
  }

  function afterBatch() {
    if (state.status === "choosing") topicButtons();
    else { var tb = root.querySelector(".topics"); if (tb) tb.remove(); }
    if (state.status === "contact") contactForm();
    else { var cf = root.querySelector("form.contact"); if (cf) cf.remove(); }
    if (state.status === "ended") endedScreen();
    refreshSub();
  }

  async function poll() {
    if (state.polling) return;
    state.polling = true;
    var first = true;
    while (state.session) {
      try {
        var data = await api("GET", "/sessions/" + state.session.session_id + "/events?after=" +
          state.cursor + "&timeout=" + (first ? 0 : 25));
        first = false;
        showError("");
        data.events.forEach(render);
        state.cursor = data.next;
        if (data.events.length) afterBatch();
        if (state.status === "ended") break;
      } catch (e) {
        if (e.status === 401 || e.status === 404) {  // the session is gone: start afresh
          state.session = null; save(); startScreen(); break;
        }
        showError(T.reconnecting);
        await new Promise(function (r) { setTimeout(r, 2000); });
      }
    }
    state.polling = false;
  }

  var pendingTxn = null;
  compose.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var text = textarea.value.trim();
    if (!text) return;
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
  textarea.addEventListener("input", function () { pendingTxn = null; });
  textarea.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); compose.requestSubmit(); }
  });

  var booted = false;
  async function boot() {
    if (booted) return;
    booted = true;
    try { state.widget = await api("GET", "/widget?lang=" + encodeURIComponent(LANG)); title.firstChild.textContent = state.widget.organization; }
    catch (e) { showError(T.reconnecting); }
    if (state.session) poll(); else startScreen();
  }

  function mount() {
    document.body.appendChild(host);
    if (state.session) open();   // a chat in progress reopens after navigation or reload
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
