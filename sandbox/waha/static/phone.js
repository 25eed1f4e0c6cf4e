"use strict";
(function () {
  const session = document.body.dataset.session;
  const base = "/_sim/phone/" + encodeURIComponent(session);
  const control = "/_sim/" + encodeURIComponent(session);
  const $ = (id) => document.getElementById(id);
  let state = null;
  let openChat = null;
  let customersLoaded = false;
  let lastQr = null;
  let lastGroups = "";
  let lastBubbles = "";
  let lastChats = "";
  let replyTo = null; // the message the next message typed on this phone answers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function time(seconds) {
    const d = new Date(seconds * 1000);
    // In the reader's own time zone, as a phone shows it (WaPipe's panel and chat view do the same).
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function tick(message) {
    if (!message.fromMe) return null;
    const names = { "-1": ["!", "failed"], 0: ["", "pending"], 1: ["✓", "sent"], 2: ["✓✓", "delivered"], 3: ["✓✓", "read"], 4: ["✓✓", "played"] };
    const [glyph, label] = names[message.ack] || names[0];
    const span = el("span", "tick" + (message.ack >= 3 ? " read" : "") + (message.ack === 0 ? " pending" : "") + (message.ack < 0 ? " failed" : ""), glyph);
    span.title = label;
    span.dataset.ack = message.ack;
    return span;
  }

  function preview(message) {
    if (message.preview) return message.preview;
    if (message.kind === "image") return "Photo" + (message.body ? ": " + message.body : "");
    if (message.kind === "document") return "Document: " + ((message.media && message.media.filename) || message.body || "file");
    if (message.kind === "voice") return "Voice note ▶ 0:04";
    if (message.kind === "video") return "Video" + (message.body ? ": " + message.body : "");
    if (message.kind === "sticker") return "Sticker";
    if (message.kind === "gif") return "GIF";
    return message.body;
  }

  async function post(url, body) {
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.message || "HTTP " + response.status);
    return data;
  }

  function show(id) {
    for (const screen of ["screen-off", "screen-wait", "screen-qr", "screen-app"]) $(screen).hidden = screen !== id;
  }

  function renderSession() {
    const status = state.session.status;
    $("status").textContent = status === "MISSING" ? "not created" : status;
    $("status").className = "pill " + status;
    if (status === "WORKING") show("screen-app");
    else if (status === "SCAN_QR_CODE" && state.qr) show("screen-qr");
    else if (status === "STARTING") show("screen-wait");
    else {
      show("screen-off");
      $("off-text").textContent = status === "FAILED" ? "The session failed. Start it again to reconnect." : "This session is not running.";
    }
    if (state.qr && state.qr.image !== lastQr) {
      lastQr = state.qr.image;
      $("qr").src = state.qr.image;
    }
    const me = state.session.me;
    if (me) {
      $("me-name").textContent = me.pushName;
      $("me-number").textContent = "+" + me.id.split("@")[0];
      $("me-avatar").textContent = (me.pushName || "?").trim().charAt(0).toUpperCase();
    }
  }

  function renderChats() {
    const key = JSON.stringify(state.chats.map((c) => [c.id, c.name, c.messages.length, c.messages.length && c.messages[c.messages.length - 1].ack]));
    if (key === lastChats) return;
    lastChats = key;
    const list = $("chat-list");
    list.replaceChildren();
    for (const chat of state.chats) {
      const last = chat.messages[chat.messages.length - 1];
      const item = el("li");
      item.dataset.chatId = chat.id;
      item.append(el("span", "avatar" + (chat.isGroup ? " group" : ""), (chat.name || "?").charAt(0).toUpperCase()));
      const main = el("div", "chat-main");
      const top = el("div", "chat-top");
      top.append(el("span", "chat-name", chat.name), el("span", "chat-time", last ? time(last.timestamp) : ""));
      const lastLine = el("div", "chat-last");
      if (last) {
        const t = tick(last);
        if (t) lastLine.append(t, " ");
        lastLine.append(document.createTextNode((chat.isGroup && !last.fromMe ? last.author + ": " : "") + preview(last)));
      }
      main.append(top, lastLine);
      item.append(main);
      item.addEventListener("click", () => { openChat = chat.id; lastBubbles = ""; renderConversation(); });
      list.append(item);
    }
  }

  // A vote on a poll (poll.vote): the answers typed, one of the poll's or several split by "/"; nothing
  // typed takes the vote back.
  async function vote(message, from) {
    const options = message.poll.options;
    const hint = message.poll.multiple ? " (several: separate them with /)" : "";
    const typed = window.prompt("Vote for: " + options.join(" / ") + hint + ". Leave empty to take the vote back.", options[0]);
    if (typed === null) return;
    const chosen = message.poll.multiple ? typed.split("/") : [typed];
    const answers = chosen.map((option) => option.trim()).filter((option) => option);
    await post(control + "/vote", { poll: message.id, options: answers, from: from });
  }

  // Reply, react, edit and delete: the phone's side of message.reaction, message.edited and message.revoked.
  function actions(message, chat) {
    const row = el("div", "actions");
    const button = (label, title, run) => {
      const node = el("button", "action", label);
      node.type = "button";
      node.title = title;
      node.addEventListener("click", async () => {
        try { await run(); } catch (error) { window.alert(error.message); }
        refresh();
      });
      row.append(node);
    };
    button("↩", "Reply from this phone", async () => {
      replyTo = message.id;
      $("owner-text").placeholder = "Reply to: " + (preview(message) || "a message");
      $("owner-text").focus();
    });
    button("👍", "React from this phone", () => post(control + "/react", { id: message.id, reaction: "👍" }));
    button("⊘", "Take this phone's reaction back", () => post(control + "/react", { id: message.id, reaction: "" }));
    if (!chat.isGroup) {
      button("❤️", "React as the contact", () => post(control + "/react", { id: message.id, reaction: "❤️", from: chat.id }));
    }
    if (message.poll) {
      button("🗳", "Vote from this phone", () => vote(message));
      if (!chat.isGroup) button("🗳️", "Vote as the contact", () => vote(message, chat.id));
    }
    button("✎", "Edit, as its sender", async () => {
      const text = window.prompt("New text", message.body || "");
      if (text && text.trim()) await post(control + "/edit", { id: message.id, text: text });
    });
    button("🗑", "Delete for everyone, as its sender", () => post(control + "/revoke", { id: message.id }));
    return row;
  }

  function renderConversation() {
    const chat = state.chats.find((c) => c.id === openChat);
    $("conversation").hidden = !chat;
    if (!chat) return;
    $("conv-title").textContent = chat.name;
    const key = JSON.stringify(chat.messages.map((m) => [m.id, m.ack, m.body]));
    if (key === lastBubbles) return;
    lastBubbles = key;
    const list = $("bubbles");
    list.replaceChildren();
    for (const message of chat.messages) {
      const bubble = el("li", "bubble" + (message.fromMe ? " out" : ""));
      bubble.dataset.id = message.id;
      if (chat.isGroup && !message.fromMe) bubble.append(el("div", "who", message.author));
      if (message.media && message.kind === "image") {
        const img = el("img");
        img.src = message.media.url;
        img.alt = message.media.filename || "photo";
        bubble.append(img);
      }
      const text = message.kind === "image" ? message.body : preview(message);
      if (text) bubble.append(el("div", "text", text));
      const meta = el("div", "meta", time(message.timestamp));
      const t = tick(message);
      if (t) meta.append(t);
      bubble.append(meta);
      bubble.append(actions(message, chat));
      list.append(bubble);
    }
    list.scrollTop = list.scrollHeight;
  }

  function renderCustomerChoices() {
    if (!customersLoaded) {
      customersLoaded = true;
      const select = $("customer");
      const choices = (people) => people.map((person) => Object.assign(el("option", null, person.name + " · +" + person.phone), { value: person.phone }));
      if (state.contacts.length) {
        // the people in the CRM first, so a demo user picks the Person they wrote to
        const crm = Object.assign(el("optgroup"), { label: "People in Pipedrive" });
        crm.append(...choices(state.contacts));
        const others = Object.assign(el("optgroup"), { label: "Other WhatsApp users" });
        others.append(...choices(state.customers));
        select.append(crm, others);
      } else {
        select.append(...choices(state.customers));
      }
      const other = el("option", null, "Another number…");
      other.value = "";
      select.append(other);
    }
    const groups = JSON.stringify(state.groups);
    if (groups !== lastGroups) {
      lastGroups = groups;
      const target = $("target");
      const chosen = target.value;
      target.replaceChildren(Object.assign(el("option", null, "Direct chat"), { value: "" }));
      for (const group of state.groups) target.append(Object.assign(el("option", null, "Group: " + group.subject), { value: group.id }));
      target.value = chosen;
    }
  }

  function renderDeliveries() {
    const list = $("deliveries");
    list.replaceChildren();
    if (!state.deliveries.length) list.append(el("li", "muted", "No webhook deliveries yet."));
    for (const d of state.deliveries) {
      const item = el("li");
      item.append(el("span", null, d.event + (d.attempt > 1 ? " (try " + d.attempt + ")" : "")));
      item.append(el("span", d.ok ? "good" : "bad", d.status === null ? (d.error || "…") : d.status));
      list.append(item);
    }
  }

  async function refresh() {
    try {
      const response = await fetch(base + "/state.json", { cache: "no-store" });
      state = await response.json();
    } catch (error) {
      return;
    }
    renderSession();
    renderChats();
    renderConversation();
    renderCustomerChoices();
    renderDeliveries();
  }

  function readFile(input) {
    const file = input.files && input.files[0];
    if (!file) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve({ data: String(reader.result).split(",")[1], mimetype: file.type || undefined, filename: file.name });
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  async function sendAsCustomer(kind) {
    const result = $("customer-result");
    const phone = $("customer").value || $("other-phone").value;
    const body = { from: phone, kind: kind, text: $("customer-text").value, asLid: $("as-lid").checked };
    if (!$("customer").value && $("other-name").value) body.name = $("other-name").value;
    if (kind === "image-once") Object.assign(body, { kind: "image", viewOnce: true });
    if (kind.startsWith("call-")) {
      const outcome = kind.slice(5);
      try {
        await post(control + "/call", { from: phone, outcome: outcome });
        result.textContent = "Called the number: " + outcome;
      } catch (error) {
        result.textContent = "Not called: " + error.message;
      }
      return;
    }
    if ($("target").value) body.group = $("target").value;
    if (kind === "text" && !body.text.trim()) { result.textContent = "Write a message first."; return; }
    if (!["text", "location", "contact", "poll"].includes(kind)) {
      const file = await readFile($("file"));
      if (file) Object.assign(body, file);
      if (kind === "document" && !body.filename) body.filename = "Brochure.pdf";
    }
    if (kind === "location") Object.assign(body, { latitude: 48.210033, longitude: 16.363449, title: body.text || "Café Central", address: "Herrengasse 14, 1010 Wien" });
    if (kind === "contact") body.contacts = [{ name: body.text || "Max Mustermann", phone: "+49 170 1234567" }];
    if (kind === "poll") body.poll = { name: body.text || "Which day suits you?", options: ["Monday", "Tuesday", "Wednesday"] };
    if (kind === "location" || kind === "contact" || kind === "poll") body.text = "";
    try {
      const sent = await post(control + "/inbound", body);
      result.textContent = "Sent " + kind + " " + sent.id;
      $("customer-text").value = "";
      $("file").value = "";
    } catch (error) {
      result.textContent = "Not sent: " + error.message;
    }
    refresh();
  }

  $("customer").addEventListener("change", () => { $("other").hidden = $("customer").value !== ""; });
  $("customer-form").addEventListener("submit", (event) => { event.preventDefault(); sendAsCustomer("text"); });
  for (const button of document.querySelectorAll("#customer-form button[type=button]")) {
    button.addEventListener("click", () => sendAsCustomer(button.dataset.kind));
  }
  $("start").addEventListener("click", async () => { await post(control + "/start").catch(() => null); refresh(); });
  $("screen-qr").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("scan-error").textContent = "";
    try {
      await post(control + "/scan", { phone: $("link-phone").value, pushName: $("link-name").value, qr: state && state.qr ? state.qr.value : undefined });
    } catch (error) {
      $("scan-error").textContent = error.message;
    }
    refresh();
  });
  $("pair").addEventListener("click", async () => {
    $("scan-error").textContent = "";
    try {
      await post(control + "/pair", { code: $("pair-code").value, pushName: $("link-name").value });
    } catch (error) {
      $("scan-error").textContent = error.message;
    }
    refresh();
  });
  $("back").addEventListener("click", () => { openChat = null; renderConversation(); });
  $("owner-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("owner-text").value;
    if (!text.trim() || !openChat) return;
    await post(control + "/phone-message", { chatId: openChat, text: text, replyTo: replyTo || undefined }).catch(() => null);
    $("owner-text").value = "";
    replyTo = null;
    $("owner-text").placeholder = "Type on this phone";
    refresh();
  });

  refresh();
  setInterval(refresh, 1000);
})();
