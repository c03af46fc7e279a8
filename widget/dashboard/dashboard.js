/* Laura's team dashboard: a Matrix room widget (issue #26). Plain JavaScript, no build step.
 *
 * Element shows this page in a dispatch room (or, for admins, the control room). The page asks
 * Element who is looking through the Matrix widget API (postMessage, as matrix-widget-api
 * speaks it: get_openid), trades that OpenID token for a short-lived dashboard session at
 * Laura, and then follows its department's state as server-sent events. The session token
 * lives in this page's memory only: never in storage, never in a URL. Every text comes from
 * Laura (the session's texts); only the few shown before there is a session are here. Nothing
 * is inserted as HTML: text goes in with textContent, charts are built node by node.
 */
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const API = new URL("../api/v1/dashboard/", document.currentScript.src).href;
  const WIDGET_ID = params.get("widgetId") || "";
  const ROOM = params.get("room") || "";
  const PARENT_ORIGIN = (() => {
    try { return new URL(params.get("parentUrl") || "").origin; } catch (e) { return ""; }
  })();
  // The widget API versions this page speaks (it asks for no capabilities).
  const VERSIONS = ["0.0.1", "0.0.2", "org.matrix.msc2871", "org.matrix.msc2873"];
  const WAIT = 10000;   // for an answer from Element

  // For before Laura sent the session's texts, and for when there is no session to send them.
  const FALLBACK = {
    nl: {
      dashboard_title: "Teamdashboard",
      dashboard_loading: "Laden…",
      dashboard_standalone: "Open deze pagina als widget in Element (Laura zet hem in de kamer van het team).",
      dashboard_confirm_identity: "Element vraagt of deze widget mag bevestigen wie je bent: sta het daar toe.",
      dashboard_identity_refused: "Element staat niet toe dat het dashboard bevestigt wie je bent.",
      dashboard_host_silent: "Element antwoordt niet.",
      dashboard_not_verified: "Laura kon niet bevestigen wie je bent.",
      dashboard_reload: "Laad de widget opnieuw om het nog eens te proberen.",
      dashboard_not_staff: "Dit dashboard is voor het team van deze kamer.",
      dashboard_unavailable: "Laura is nu niet bereikbaar.",
      dashboard_retry: "Opnieuw proberen",
    },
    en: {
      dashboard_title: "Team dashboard",
      dashboard_loading: "Loading…",
      dashboard_standalone: "Open this page as a widget in Element (Laura adds it to the team's room).",
      dashboard_confirm_identity: "Element asks whether this widget may confirm who you are: allow it there.",
      dashboard_identity_refused: "Element does not let the dashboard confirm who you are.",
      dashboard_host_silent: "Element does not answer.",
      dashboard_not_verified: "Laura could not confirm who you are.",
      dashboard_reload: "Reload the widget to try again.",
      dashboard_not_staff: "This dashboard is for the team of this room.",
      dashboard_unavailable: "Laura cannot be reached right now.",
      dashboard_retry: "Try again",
    },
  };
  // Element's language as Laura names languages ("en-GB" is "en"): the texts are asked for in
  // it, and Laura answers in it if she speaks it (else in her staff language).
  const primary = (code) => String(code || "").split(/[-_]/)[0].toLowerCase();
  let hostLang = primary(params.get("lang"));
  let lang = primary(hostLang || navigator.language);
  if (!FALLBACK[lang]) lang = "en";
  let texts = null;

  function t(key, values) {
    const source = (texts && texts[key]) || (FALLBACK[lang] || FALLBACK.en)[key] || FALLBACK.en[key] || key;
    return source.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name) =>
      values && values[name] != null ? String(values[name]) : "");
  }

  function fill(node, props, kids) {
    for (const [key, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, String(value));
    }
    for (const kid of kids.flat()) if (kid != null && kid !== false) node.append(kid);
    return node;
  }
  const el = (tag, props, ...kids) => fill(document.createElement(tag), props, kids);
  const svg = (tag, props, ...kids) => fill(document.createElementNS("http://www.w3.org/2000/svg", tag), props, kids);
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // A line of text that is hidden while it is empty.
  function show(id, text) { $(id).textContent = text || ""; $(id).hidden = !text; }

  class Failure extends Error {
    constructor(kind, status, code, message) {
      super(message || code || kind);
      Object.assign(this, { kind, status: status || 0, code: code || "" });
    }
  }

  function applyTheme(name) {
    const dark = name ? /dark/i.test(String(name)) : matchMedia("(prefers-color-scheme: dark)").matches;
    document.documentElement.classList.toggle("dark", dark);
  }

  // -- the Matrix widget API, the widget's side
  // Only the parent window, at parentUrl's origin, is listened to and written to.
  const pending = new Map();       // our requests to Element, by requestId
  const openidWaits = new Map();   // get_openid requests waiting for the user's yes in Element
  let counter = 0;
  let capabilitiesSeen = false;
  let capabilitiesAsked;
  const capabilitiesDone = new Promise((resolve) => { capabilitiesAsked = resolve; });

  const post = (message) => window.parent.postMessage(message, PARENT_ORIGIN);
  const newRequestId = () => `laura-${Date.now()}-${++counter}`;

  function ask(action, requestId = newRequestId()) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { pending.delete(requestId); reject(new Failure("host-timeout")); }, WAIT);
      pending.set(requestId, (response) => {
        clearTimeout(timer);
        if (response.error) reject(new Failure("host-error", 0, "", response.error.message));
        else resolve(response);
      });
      post({ api: "fromWidget", widgetId: WIDGET_ID, requestId, action, data: {} });
    });
  }

  function onHostMessage(ev) {
    const m = ev.data;
    if (ev.source !== window.parent || ev.origin !== PARENT_ORIGIN) return;
    if (!m || typeof m !== "object" || m.widgetId !== WIDGET_ID || !m.requestId || typeof m.action !== "string") return;
    if (m.api === "fromWidget" && m.response) {
      const answer = pending.get(m.requestId);
      pending.delete(m.requestId);
      if (answer) answer(m.response);
    } else if (m.api === "toWidget" && !m.response) {
      post(Object.assign({}, m, { response: reply(m.action, m.data || {}) }));
    }
  }

  function reply(action, data) {
    switch (action) {
      case "capabilities":
        capabilitiesSeen = true;
        capabilitiesAsked();
        return { capabilities: [] };
      case "notify_capabilities":
      case "visibility":
        return {};
      case "language_change":
        changeLanguage(data.lang);
        return {};
      case "supported_api_versions":
        return { supported_versions: VERSIONS };
      case "theme_change":
        applyTheme(data.name);
        return {};
      case "openid_credentials": {
        const wait = openidWaits.get(data.original_request_id);
        if (!wait) return { error: { message: "No get_openid request with that id is waiting" } };
        openidWaits.delete(data.original_request_id);
        if (data.state === "allowed") wait.resolve(data);
        else if (data.state === "blocked") wait.reject(new Failure("host-blocked"));
        else {
          wait.reject(new Failure("host-error", 0, "", "Invalid state"));
          return { error: { message: "Invalid state" } };
        }
        return {};
      }
      default:
        return { error: { message: "Unsupported to-widget action: " + action } };
    }
  }

  // content_loaded lets a host that waits for it (waitForIframeLoad: false) begin the
  // handshake; a host that does not wait answers with an error, which is fine. Sent again
  // only when nothing at all came back.
  function contentLoaded(attempt) {
    ask("content_loaded").catch((e) => {
      if (e.kind === "host-timeout" && !capabilitiesSeen && attempt < 3) contentLoaded(attempt + 1);
    });
  }

  // The OpenID token object as the homeserver issued it. "request": Element asks the user
  // first, and the answer comes as openid_credentials, however long that takes.
  async function openID(onAsking) {
    const requestId = newRequestId();
    const wait = new Promise((resolve, reject) => openidWaits.set(requestId, { resolve, reject }));
    wait.catch(() => {});
    let r;
    try {
      r = await ask("get_openid", requestId);
      if (r.state === "request") {
        onAsking();
        r = await wait;
      } else if (r.state === "blocked") throw new Failure("host-blocked");
      else if (r.state !== "allowed") throw new Failure("host-error", 0, "", "Invalid state");
    } finally { openidWaits.delete(requestId); }
    const { access_token, token_type, matrix_server_name, expires_in } = r;
    return { access_token, token_type, matrix_server_name, expires_in };
  }

  // -- Laura's API
  let session = null;
  let renewing = null;
  let renewTimer = 0;

  async function request(method, path, body, token) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    if (body) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(API + path, { method, headers, body: body && JSON.stringify(body),
        credentials: "omit", cache: "no-store" });
    } catch (e) { throw new Failure("network"); }
    const data = await res.json().catch(() => null);
    if (res.ok) return data;
    const error = (data && data.error) || {};
    throw new Failure("api", res.status, error.code, error.message);
  }

  // A call with the session; one that ran out (a laptop asleep past the renewal) is renewed
  // once, silently, and the call made again.
  async function call(method, path, body) {
    try {
      return await request(method, path, body, session.token);
    } catch (e) {
      if (e.status !== 401) throw e;
      await renew();
      return request(method, path, body, session.token);
    }
  }

  async function openSession(onAsking) {
    const query = new URLSearchParams();
    if (ROOM) query.set("room", ROOM);   // the room picks the department
    if (hostLang) query.set("lang", hostLang);
    session = await request("POST", "session?" + query, await openID(onAsking));
    texts = session.texts || {};
    clearTimeout(renewTimer);   // renewed at 80 % of its time
    renewTimer = setTimeout(scheduledRenew, Math.max(30, Number(session.expires_in) || 0) * 800);
  }

  function renew() {
    renewing = renewing || openSession(() => show("conn", t("dashboard_confirm_identity")))
      .finally(() => { renewing = null; show("conn", ""); });
    return renewing;
  }

  function scheduledRenew() {
    renew().catch((e) => {
      if (e.status === 401 || e.status === 403 || e.kind === "host-blocked") fatal(e);
      else renewTimer = setTimeout(scheduledRenew, 30000);
    });
  }

  // -- the page
  let dept = null;         // the department shown
  let state = null;        // its last State
  let offset = 0;          // Laura's clock minus this computer's
  let streamGen = 0;
  let streamAbort = null;
  let figureDays = 7;
  let figuresGen = 0;
  const items = new Map(); // the queue entries on screen, by chat_id
  const busyChats = new Set();
  let statusBusy = false;
  let itemSeq = 0;

  // The page's one sentence while there is nothing else to show (a live region that stays in
  // place, so that what it says is read out).
  function notice(text, retry) { $("notice").textContent = text; $("retry").hidden = !retry; }

  // The outcome of what the user did, for eyes and for screen readers (aria-live).
  function say(text) {
    $("outcome").textContent = "";
    setTimeout(() => { $("outcome").textContent = text; }, 60);
  }

  function errorText(e) {
    if (e.kind === "network") return t("dashboard_offline");
    if (e.code === "already_taken" && e.message) return e.message;   // it names who has it
    if (e.code === "too_late" || e.code === "already_taken") return t("dashboard_too_late");
    if (e.code === "not_member") return t("dashboard_not_member");
    if (e.status === 429) return t("dashboard_rate_limited");
    return t("dashboard_failed", { message: e.message || e.status });
  }

  // No session, or none any more: one sentence and nothing else.
  function fatal(e) {
    stopStream();
    clearTimeout(renewTimer);
    $("top").hidden = $("picker").hidden = $("board").hidden = true;
    show("conn", "");
    const reload = (key) => notice(`${t(key)} ${t("dashboard_reload")}`);
    if (e.kind === "host-blocked") reload("dashboard_identity_refused");
    else if (e.kind === "host-timeout") reload("dashboard_host_silent");
    else if (e.status === 401) reload("dashboard_not_verified");
    else if (e.status === 403) notice(t("dashboard_not_staff"));
    else notice(t("dashboard_unavailable"), true);
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), pad = (n) => String(n).padStart(2, "0");
    if (h) return t("dashboard_duration_h", { h, m: pad(m) });
    if (m) return t("dashboard_duration_m", { m, s: pad(s % 60) });
    return t("dashboard_duration_s", { s });
  }
  const number = (n, digits = 0) => new Intl.NumberFormat(lang,
    { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n || 0);
  const dateText = (date, options) => new Intl.DateTimeFormat(lang,
    Object.assign({ timeZone: "UTC" }, options)).format(new Date(date + "T12:00:00Z"));
  const clock = (ms) => new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" }).format(new Date(ms));

  // What does not change with the state, in the session's language.
  function relabel() {
    lang = session.language || lang;
    document.documentElement.lang = lang;
    document.title = t("dashboard_title");
    for (const node of document.querySelectorAll("[data-text]")) node.textContent = t("dashboard_" + node.dataset.text);
    $("who").textContent = t("dashboard_signed_in", { name: session.name || session.user_id });
    $("my-status").replaceChildren(...["online", "auto", "offline"].map((value) =>
      el("button", { type: "button", "data-status": value, "aria-pressed": "false",
        text: t("dashboard_status_" + value), onclick: () => setStatus(value) })));
    $("figure-days").replaceChildren(...[7, 30].map((days) =>
      el("button", { type: "button", "data-days": days, "aria-pressed": String(days === figureDays),
        text: t("dashboard_figures_days", { days }), onclick: () => showDays(days) })));
    if (state) {
      const last = state;
      items.clear();
      $("queue").replaceChildren();
      state = null;   // drawn afresh, not as news
      render(last);
    }
  }

  // Element speaks another language now: the texts again, in that one (a new session).
  function changeLanguage(code) {
    const next = primary(code);
    if (!next || next === hostLang) return;
    hostLang = next;
    if (session && next !== session.language) {
      renew().then(() => {
        relabel();
        if ($("department").options.length) $("department").options[0].textContent = t("dashboard_department_choose");
        if (session.lead && dept) loadFigures(true);
      }, () => {});
    }
  }

  function build() {
    relabel();
    $("top").hidden = false;
    $("figures").hidden = !session.lead;
    const departments = session.departments || [];
    if (session.department) return follow(session.department);
    if (departments.length === 1) return follow(departments[0].id);
    if (!departments.length) return fatal(new Failure("api", 403));
    // An admin in the control room: which department to look at.
    const select = $("department");
    select.replaceChildren(el("option", { value: "", text: t("dashboard_department_choose") }),
      ...departments.map((d) => el("option", { value: d.id, text: d.label })));
    select.onchange = () => follow(select.value || null);
    $("picker").hidden = false;
    notice("");
  }

  function stopStream() {
    streamGen++;
    if (streamAbort) streamAbort.abort();
  }

  function follow(id) {
    stopStream();
    dept = id;
    state = null;
    items.clear();
    $("queue").replaceChildren();
    $("board").hidden = true;
    show("conn", "");
    notice(id ? t("dashboard_loading") : "");
    if (!id) return;
    stream(streamGen);
    if (session.lead) loadFigures();
  }

  // -- the live state: fetch() with the bearer header, the event stream parsed here
  async function stream(gen) {
    let delay = 1000, refused = 0;
    while (gen === streamGen) {
      const abort = new AbortController();
      streamAbort = abort;
      let delivered = false;
      try {
        const res = await fetch(`${API}departments/${encodeURIComponent(dept)}/stream`, {
          headers: { Authorization: "Bearer " + session.token, Accept: "text/event-stream" },
          credentials: "omit", cache: "no-store", signal: abort.signal });
        if (res.status === 401) {
          // The session ran out: a new one, and the stream again (twice at most).
          if (++refused > 2) return fatal(new Failure("api", 401));
          await renew();
          delivered = true;
        } else if (res.status === 403 || res.status === 404) return fatal(new Failure("api", res.status));
        else if (!res.ok || !res.body) throw new Failure("api", res.status);
        else {
          refused = 0;
          await readEvents(res.body, (name, data) => {
            if (name !== "state" || gen !== streamGen) return;
            render(JSON.parse(data));
            delivered = true;
            delay = 1000;
            show("conn", "");
          });
        }
      } catch (e) {
        if (gen !== streamGen) return;
        if (e.status === 401 || e.status === 403 || e.kind === "host-blocked") return fatal(e);
      }
      if (gen !== streamGen) return;
      // A stream that ended after it delivered (Laura ends them now and then) is taken up
      // again after a second; one that failed later and later, and the user is told.
      if (!delivered) show("conn", t("dashboard_reconnecting"));
      await sleep(delay);
      if (!delivered) delay = Math.min(delay * 2, 15000);
    }
  }

  async function readEvents(body, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", name = "", data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\n|\r(?!$)/);   // a last "\r" may be half of a "\r\n"
      buffer = lines.pop();
      for (const line of lines) {
        if (!line) {
          if (data.length) onEvent(name || "message", data.join("\n"));
          name = "";
          data = [];
        } else if (line[0] !== ":") {   // ":" lines keep the connection alive
          const [field, ...rest] = line.split(":");
          const value = rest.join(":").replace(/^ /, "");
          if (field === "event") name = value;
          else if (field === "data") data.push(value);
        }
      }
    }
  }

  function render(next) {
    const first = !state;
    state = next;
    offset = next.now - Date.now();
    const d = next.department || {};
    $("department-state").textContent = t(d.open ? "dashboard_open" : "dashboard_closed", { department: d.label || "" });
    renderQueue(first);
    renderMe();
    renderStaff();
    renderAgenda();
    $("board").hidden = false;
    notice("");
  }

  // A queue entry stays the same node while it is in the queue, so its buttons keep focus
  // (and a click in progress) when the state moves on.
  function renderQueue(first) {
    const list = $("queue");
    const queue = state.queue || [];
    const hadFocus = list.contains(document.activeElement);
    $("queue-count").textContent = t("dashboard_queue_count", { count: queue.length });
    show("queue-empty", queue.length ? "" : t("dashboard_queue_empty"));
    const ids = new Set(queue.map((chat) => chat.chat_id));
    for (const id of [...items.keys()]) if (!ids.has(id)) items.delete(id);
    let ref = list.firstChild;
    for (const chat of queue) {
      let item = items.get(chat.chat_id);
      if (!item) items.set(chat.chat_id, item = newItem(chat.chat_id, !first));
      updateItem(item, chat);
      if (item.li === ref) ref = ref.nextSibling;
      else list.insertBefore(item.li, ref);
    }
    while (ref) { const gone = ref; ref = ref.nextSibling; gone.remove(); }
    if (hadFocus && !list.contains(document.activeElement)) $("queue-title").focus();
    tick();
  }

  function newItem(chatId, fresh) {
    const id = "chat-" + ++itemSeq;
    const button = (act, key, run) => el("button", { type: "button", class: act, "data-chat": chatId,
      "data-act": act, "aria-describedby": id, text: t(key), onclick: run });
    const item = { heading: el("h3", { id }), topic: el("span"), wait: el("time", { class: "wait" }),
      offered: el("p", { class: "offered" }), unread: el("p", { class: "unread" }),
      take: button("take", "dashboard_take", () => act(chatId, "take", "dashboard_taken")),
      decline: button("decline", "dashboard_decline", () => act(chatId, "decline", "dashboard_declined")) };
    item.li = el("li", { class: fresh ? "chat new" : "chat" }, item.heading,
      el("p", { class: "meta" }, item.topic, item.wait), item.offered, item.unread,
      el("div", { class: "actions" }, item.take, item.decline));
    return item;
  }

  function updateItem(item, chat) {
    const mine = !!chat.offered_to && chat.offered_to === session.user_id;
    item.heading.textContent = chat.nickname || t("dashboard_no_nickname");
    // The topic is the department here, unless Laura tells them apart.
    item.topic.textContent = chat.topic && chat.topic !== (state.department || {}).label ? chat.topic + " · " : "";
    item.wait.dataset.since = chat.queued_at;
    item.li.classList.toggle("mine", mine);
    item.offered.textContent = mine ? t("dashboard_offered_to_you") : chat.offered_to
      ? t("dashboard_offered_to", { name: chat.offered_to_name || chat.offered_to }) : "";
    item.offered.hidden = !chat.offered_to;
    item.unread.textContent = chat.unread > 0 ? t("dashboard_unread", { count: chat.unread }) : "";
    item.unread.hidden = !(chat.unread > 0);
    const busy = String(busyChats.has(chat.chat_id));
    item.take.setAttribute("aria-disabled", busy);
    item.decline.setAttribute("aria-disabled", busy);
  }

  // Every second: the waiting times, by Laura's clock.
  function tick() {
    const now = Date.now() + offset;
    for (const time of document.querySelectorAll("time.wait[data-since]")) {
      const seconds = Math.max(0, Math.floor((now - Number(time.dataset.since)) / 1000));
      time.textContent = t("dashboard_waiting_time", { time: duration(seconds) });
      time.setAttribute("datetime", `PT${seconds}S`);
    }
  }

  // Take and Not now. The buttons are aria-disabled while the call runs (a disabled button
  // would drop the keyboard focus).
  async function act(chatId, path, done) {
    if (busyChats.has(chatId)) return;
    busyChats.add(chatId);
    renderQueue(false);
    try {
      await call("POST", `chats/${encodeURIComponent(chatId)}/${path}`, {});
      say(t(done));
    } catch (e) {
      say(errorText(e));
    } finally {
      busyChats.delete(chatId);
      if (state) renderQueue(false);
    }
  }

  function renderMe() {
    const me = state && state.me;
    $("me").hidden = !me;
    if (!me) return;
    for (const b of $("my-status").children) {
      b.setAttribute("aria-pressed", String(b.dataset.status === me.status));
      b.setAttribute("aria-disabled", String(statusBusy));
    }
    $("me-line").textContent = `${t(me.available ? "dashboard_available" : "dashboard_not_available")} · ${
      t("dashboard_chats", { running: me.running, capacity: me.capacity })}`;
  }

  async function setStatus(value) {
    if (statusBusy) return;
    statusBusy = true;
    renderMe();
    try {
      const r = await call("POST", "status", { status: value });
      if (state && r && r.me) state.me = r.me;
      say(t("dashboard_status_set", { status: t("dashboard_status_" + value) }));
    } catch (e) {
      say(errorText(e));
    } finally {
      statusBusy = false;
      renderMe();
    }
  }

  function renderStaff() {
    const staff = state.staff || [];
    $("staff").replaceChildren(...staff.map((p) => el("li", { class: "person" },
      el("span", { class: "dot " + p.status, "aria-hidden": "true" }),
      el("span", { class: "name", text: p.user_id === session.user_id ? t("dashboard_you", { name: p.name }) : p.name }),
      el("span", { class: "detail", text: [t("dashboard_status_" + p.status),
        t(p.available ? "dashboard_available" : "dashboard_not_available"),
        t("dashboard_chats", { running: p.running, capacity: p.capacity })].join(" · ") }))));
    show("staff-empty", staff.length ? "" : t("dashboard_staff_empty"));
  }

  function renderAgenda() {
    const list = state.appointments;
    $("agenda").hidden = !Array.isArray(list);   // Laura without appointments
    if (!Array.isArray(list)) return;
    $("agenda-list").replaceChildren(...list.map((a) => el("li", { class: "appointment " + a.status },
      el("time", { datetime: new Date(a.starts_at).toISOString(), text: `${clock(a.starts_at)}–${clock(a.ends_at)}` }),
      el("span", { class: "name", text: a.title || a.type || "" }),
      el("span", { class: "detail", text: [a.title && a.type,
        (a.adviser_name || a.adviser) && t("dashboard_agenda_adviser", { name: a.adviser_name || a.adviser }),
        ["home", "video", "chat", "phone"].includes(a.kind) && t("dashboard_kind_" + a.kind),
        ["moved", "cancelled"].includes(a.status) && t("dashboard_agenda_" + a.status),
      ].filter(Boolean).join(" · ") }))));
    show("agenda-empty", list.length ? "" : t("dashboard_agenda_empty"));
  }

  // -- figures, for team leads: three charts, and the same numbers as a table
  function showDays(days) {
    figureDays = days;
    for (const b of $("figure-days").children) b.setAttribute("aria-pressed", String(Number(b.dataset.days) === days));
    loadFigures();
  }

  async function loadFigures(quiet) {
    const gen = ++figuresGen;
    if (!quiet) $("charts").replaceChildren(el("p", { text: t("dashboard_figures_loading") }));
    try {
      const r = await call("GET", `departments/${encodeURIComponent(dept)}/figures?days=${figureDays}`);
      if (gen === figuresGen) drawFigures((r && r.days) || []);
    } catch (e) {
      if (gen === figuresGen && !quiet) $("charts").replaceChildren(el("p", { class: "error", text: errorText(e) }));
    }
  }

  const SERIES = ["taken", "missed", "abandoned"];
  // A fill attribute, not CSS: a url(#…) in the style sheet would point into the style sheet.
  const patterned = (key) => key === "missed" || key === "abandoned" ? `url(#fill-${key})` : null;
  const roundUp = (v, steps) => steps.find((s) => v <= s) || Math.ceil(v / steps[steps.length - 1]) * steps[steps.length - 1];

  function drawFigures(rows) {
    const total = (key) => rows.reduce((sum, r) => sum + (Number(r[key]) || 0), 0);
    const medians = rows.map((r) => r.median_take_seconds).filter((v) => v != null);
    const rated = total("ratings_count");
    const average = rows.reduce((s, r) => s + (r.rating_average || 0) * (r.ratings_count || 0), 0) / (rated || 1);
    const most = Math.max(0, ...rows.map((r) => SERIES.reduce((s, k) => s + (Number(r[k]) || 0), 0)));
    const sums = { days: rows.length, started: total("started") };
    for (const key of SERIES) sums[key] = total(key);
    const empty = t("dashboard_chart_empty");
    // The hatching and the dots that tell the series apart without colour.
    const defs = svg("svg", { class: "defs", "aria-hidden": "true", focusable: "false" }, svg("defs", {},
      svg("pattern", { id: "fill-missed", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
        svg("rect", { class: "hatch", width: 3, height: 6 })),
      svg("pattern", { id: "fill-abandoned", width: 5, height: 5, patternUnits: "userSpaceOnUse" },
        svg("circle", { class: "dots", cx: 2.5, cy: 2.5, r: 1.4 }))));
    $("charts").replaceChildren(defs,
      chart("chats", sums.started || most ? t("dashboard_chart_chats_desc", sums) : empty,
        plot(rows, roundUp(most, [2, 4, 10, 20, 40, 100, 200, 400, 1000]), (v) => number(v), 30, bars(SERIES)), legend()),
      chart("take", medians.length ? t("dashboard_chart_take_desc",
        { low: duration(Math.min(...medians)), high: duration(Math.max(...medians)) }) : empty,
      plot(rows, roundUp(Math.max(0, ...medians), [60, 120, 300, 600, 1200, 1800, 3600, 7200]), duration, 64, line)),
      chart("ratings", rated ? t("dashboard_chart_ratings_desc", { count: rated, average: number(average, 1) }) : empty,
        plot(rows, 5, (v) => number(v, v % 1 ? 1 : 0), 30, bars(["rating_average"]))),
      table(rows));
  }

  // A chart: its heading, and the drawing named and summed up for screen readers.
  function chart(key, desc, drawing, extra) {
    const title = t("dashboard_chart_" + key);
    drawing.prepend(svg("title", { id: key + "-title", text: title }), svg("desc", { id: key + "-desc", text: desc }));
    drawing.setAttribute("aria-labelledby", `${key}-title ${key}-desc`);
    return el("div", { class: "chart" }, el("h3", { text: title }), drawing, extra);
  }

  // The frame of a drawing: gridlines with their values, and a label under every day (under
  // every fifth of 30).
  function plot(rows, max, format, left, marks) {
    const W = 360, H = 170, T = 10, B = 24;
    const step = (W - left - 6) / Math.max(1, rows.length);
    const X = (i) => left + i * step;
    const Y = (v) => T + (H - T - B) * (1 - v / max);
    const drawing = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "plot" });
    for (const v of [0, max / 2, max]) {
      drawing.append(svg("line", { class: "grid", x1: left, x2: W - 6, y1: Y(v), y2: Y(v) }),
        svg("text", { class: "axis", x: left - 4, y: Y(v) + 3.5, "text-anchor": "end", text: format(v) }));
    }
    const many = rows.length > 10;
    rows.forEach((r, i) => {
      if (!many || i % 5 === 0) drawing.append(svg("text", { class: "axis", x: X(i) + step / 2, y: H - 8,
        "text-anchor": "middle", text: dateText(r.date, many ? { day: "numeric", month: "numeric" } : { weekday: "short" }) }));
    });
    drawing.append(...marks(rows, X, Y, step));
    return drawing;
  }

  // Bars, stacked when there is more than one series (the same scale for every day).
  function bars(keys) {
    return (rows, X, Y, step) => rows.flatMap((r, i) => {
      let base = 0;
      return keys.filter((key) => Number(r[key]) > 0).map((key) => {
        const top = base + Number(r[key]);
        const bar = svg("rect", { class: "bar s-" + key, fill: patterned(key), x: X(i) + step * 0.15,
          width: step * 0.7, y: Y(top), height: Y(base) - Y(top) });
        base = top;
        return bar;
      });
    });
  }

  function line(rows, X, Y, step) {
    let d = "", gap = true;
    const dots = [];
    rows.forEach((r, i) => {
      const v = r.median_take_seconds;
      if (v == null) { gap = true; return; }   // a day without a taken chat breaks the line
      const x = X(i) + step / 2;
      d += `${gap ? "M" : "L"}${x.toFixed(1)} ${Y(v).toFixed(1)} `;
      gap = false;
      dots.push(svg("circle", { class: "point", cx: x, cy: Y(v), r: 3 }));
    });
    return d ? [svg("path", { class: "median", d: d.trim() }), ...dots] : [];
  }

  function legend() {
    return el("ul", { class: "legend" }, SERIES.map((key) => el("li", {},
      svg("svg", { viewBox: "0 0 14 14", class: "swatch", "aria-hidden": "true" },
        svg("rect", { class: "bar s-" + key, fill: patterned(key), x: 1, y: 1, width: 12, height: 12 })),
      t("dashboard_series_" + key))));
  }

  function table(rows) {
    const none = t("dashboard_none");
    const caption = t("dashboard_table_caption", { days: rows.length });
    const head = ["col_date", "series_started", "series_taken", "series_missed", "series_abandoned",
      "col_median", "col_ratings", "col_average"];
    return el("details", { class: "numbers" }, el("summary", { text: t("dashboard_table_show") }),
      el("div", { class: "scroll", role: "region", tabindex: "0", "aria-label": caption },
        el("table", {}, el("caption", { text: caption }),
          el("thead", {}, el("tr", {}, head.map((k) => el("th", { scope: "col", text: t("dashboard_" + k) })))),
          el("tbody", {}, rows.map((r) => el("tr", {},
            el("th", { scope: "row", text: dateText(r.date, { weekday: "short", day: "numeric", month: "short" }) }),
            ["started", ...SERIES].map((k) => el("td", { text: number(r[k]) })),
            el("td", { text: r.median_take_seconds == null ? none : duration(r.median_take_seconds) }),
            el("td", { text: number(r.ratings_count) }),
            el("td", { text: r.rating_average == null ? none : number(r.rating_average, 1) })))))));
  }

  // -- start
  async function begin() {
    notice(t("dashboard_loading"));
    try {
      await openSession(() => notice(t("dashboard_confirm_identity")));
    } catch (e) {
      return fatal(e);
    }
    build();
  }

  async function start() {
    applyTheme(params.get("theme"));
    document.documentElement.lang = lang;
    document.title = t("dashboard_title");
    if (window.parent === window || !PARENT_ORIGIN || PARENT_ORIGIN === "null" || !WIDGET_ID) {
      return notice(t("dashboard_standalone"));
    }
    window.addEventListener("message", onHostMessage);
    $("retry").textContent = t("dashboard_retry");
    $("retry").addEventListener("click", begin);
    if (document.readyState === "complete") contentLoaded(1);
    else window.addEventListener("load", () => contentLoaded(1), { once: true });
    setInterval(tick, 1000);
    setInterval(() => { if (session && session.lead && dept && !document.hidden) loadFigures(true); }, 600000);
    notice(t("dashboard_loading"));
    // Element begins the handshake (capabilities); this page needs none, but waits for it.
    if (!await Promise.race([capabilitiesDone.then(() => true), sleep(WAIT).then(() => false)])) {
      notice(`${t("dashboard_host_silent")} ${t("dashboard_reload")}`);
      await capabilitiesDone;
    }
    begin();
  }

  start();
})();
