// The demo chat: plain DOM, built on the SDK (served at /demo/sdk/). Text is only ever set
// with textContent, never innerHTML: message bodies are other people's input.
import { ChatClient, directChatId, downloadMedia, uploadMedia } from "/demo/sdk/index.js";

const DEMO_PREFIX = "demo.";
const HISTORY_PAGE = 30;
const TYPING_REPEAT_MS = 2000;
const TYPING_SHOWN_MS = 7000;
/** Chats whose last message is fetched for the list's preview line after a (re)connect. */
const PREVIEWS = 20;

const $ = (id) => document.getElementById(id);
const state = {
  /** @type {{user: string, token: string, device: string} | undefined} */
  session: undefined,
  client: undefined,
  /** chat id → {chat, title, group, lastSeq, lastTs, unread, preview} */
  chats: new Map(),
  /** chat id → Map seq → msg frame */
  messages: new Map(),
  /** chat id → lowest seq loaded, and whether older ones exist */
  oldest: new Map(),
  /** chat id → Map user → {delivered, read} */
  receipts: new Map(),
  /** cid → {chat, body} for sends not yet answered */
  pending: new Map(),
  open: undefined,
  typingSentAt: 0,
  typingTimers: new Map(),
};

const nameOf = (user) => (user.startsWith(DEMO_PREFIX) ? user.slice(DEMO_PREFIX.length) : user);
const userOf = (name) => `${DEMO_PREFIX}${name.trim().toLowerCase()}`;
const peerOf = (chat) => chat.slice(2).split(":").find((user) => user !== state.session.user) ?? state.session.user;
const textOf = (body) => (typeof body === "string" ? body : new TextDecoder().decode(body ?? new Uint8Array()));
const isGroup = (chat) => chat.startsWith("g:");
const targetOf = (chat) => (isGroup(chat) ? { group: chat } : { to: peerOf(chat) });

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(id, error) {
  $(id).textContent = error ? (error.message ?? String(error)) : "";
}

// ---- sign-in ----------------------------------------------------------------------------

async function signIn(name) {
  const response = await fetch("/demo/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.message ?? `sign-in failed (${response.status})`);
  // One device per tab: two tabs of one user are two devices, as two phones would be.
  const device = sessionStorage.getItem("demo.device") ?? `web-${crypto.randomUUID().slice(0, 8)}`;
  const session = { user: answer.user, token: answer.token, device };
  sessionStorage.setItem("demo.device", device);
  sessionStorage.setItem("demo.session", JSON.stringify(session));
  return session;
}

async function start(session) {
  state.session = session;
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("me").textContent = nameOf(session.user);
  // The saved token first; when it runs out (or a reload finds it expired), sign in again.
  let saved = session.token;
  const client = new ChatClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`,
    device: session.device,
    token: async () => {
      const token = saved ?? (await signIn(nameOf(session.user))).token;
      saved = undefined;
      return token;
    },
  });
  state.client = client;
  client.on("state", showConnection);
  // Watch lists and the chat list belong to a connection: set up again after every reconnect.
  client.on("ready", () => {
    void refreshChats().catch((error) => showError("sidebar-error", error));
    if (state.open && !isGroup(state.open)) void client.watch([peerOf(state.open)]).catch(() => undefined);
  });
  client.on("message", onMessage);
  client.on("receipt", onReceipt);
  client.on("typing", onTyping);
  client.on("presence", onPresence);
  await client.start();
}

const STATE_TEXT = { idle: "offline", connecting: "connecting…", ready: "online", waiting: "reconnecting…", stopped: "signed out" };

function showConnection(change) {
  $("connection").dataset.state = change.state;
  $("connection").textContent = STATE_TEXT[change.state] ?? change.state;
  if (change.state === "stopped" && change.error) showError("sign-in-error", change.error);
}

// ---- chat list --------------------------------------------------------------------------

async function refreshChats() {
  const answer = await state.client.chats({ limit: 100 });
  for (const entry of answer.chats) {
    const chat = upsertChat(entry.chat);
    chat.lastSeq = Math.max(chat.lastSeq, entry.last_seq);
    chat.lastTs = Math.max(chat.lastTs, entry.last_ts);
    chat.unread = state.open === entry.chat ? 0 : entry.unread;
    if (entry.name) chat.title = entry.name;
  }
  renderChatList();
  // The list carries no message text: a preview costs one single-message history read per chat.
  const unpreviewed = [...state.chats.values()].filter((chat) => !chat.preview && chat.lastSeq > 0).slice(0, PREVIEWS);
  await Promise.all(
    unpreviewed.map(async (chat) => {
      const last = (await state.client.history(chat.chat, { limit: 1 })).msgs.at(-1);
      if (last && !chat.preview) chat.preview = previewOf(last);
    }),
  );
  renderChatList();
  if (state.open) await loadHistory(state.open, true);
}

function upsertChat(id) {
  let chat = state.chats.get(id);
  if (!chat) {
    chat = { chat: id, title: isGroup(id) ? "group" : nameOf(peerOf(id)), lastSeq: 0, lastTs: 0, unread: 0, preview: "" };
    state.chats.set(id, chat);
  }
  return chat;
}

function renderChatList() {
  const list = $("chat-list");
  const chats = [...state.chats.values()].sort((a, b) => b.lastTs - a.lastTs || a.chat.localeCompare(b.chat));
  list.replaceChildren(
    ...chats.map((chat) => {
      const item = element("li", `chat${chat.chat === state.open ? " open" : ""}`);
      item.dataset.chat = chat.chat;
      item.append(element("span", "title", chat.title), element("span", "unread", chat.unread > 0 ? String(chat.unread) : ""));
      item.append(element("span", "preview", chat.preview));
      item.addEventListener("click", () => void openChat(chat.chat));
      return item;
    }),
  );
}

// ---- one conversation -------------------------------------------------------------------

async function openChat(id) {
  state.open = id;
  // The typing throttle is per chat: typing in the next chat starts its own indicator at once.
  state.typingSentAt = 0;
  const chat = upsertChat(id);
  chat.unread = 0;
  $("conversation").hidden = false;
  $("empty").hidden = true;
  $("conversation-title").textContent = chat.title;
  $("presence").textContent = "";
  $("typing").textContent = "";
  $("messages").replaceChildren();
  renderChatList();
  void state.client.watch(isGroup(id) ? [] : [peerOf(id)]).catch(() => undefined);
  await loadHistory(id, true);
  $("text").focus();
}

async function loadHistory(id, newest) {
  const before = newest ? undefined : state.oldest.get(id)?.seq;
  const answer = await state.client.history(id, { before, limit: HISTORY_PAGE });
  const messages = messagesOf(id);
  for (const msg of answer.msgs) messages.set(msg.seq, msg);
  const lowest = answer.msgs[0]?.seq;
  // Reloading the newest page keeps how far back the reader has scrolled.
  const known = state.oldest.get(id);
  if (!newest || known === undefined || (lowest !== undefined && lowest < (known.seq ?? Infinity))) {
    state.oldest.set(id, { seq: lowest ?? known?.seq, more: answer.more });
  }
  if (state.open === id) {
    const scroller = $("scroller");
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    renderMessages();
    // Older messages go above what is shown: keep the reader's place.
    scroller.scrollTop = newest ? scroller.scrollHeight : scroller.scrollHeight - fromBottom;
    markRead(id);
  }
}

function messagesOf(id) {
  let messages = state.messages.get(id);
  if (!messages) state.messages.set(id, (messages = new Map()));
  return messages;
}

function renderMessages() {
  const id = state.open;
  const messages = [...messagesOf(id).values()].sort((a, b) => a.seq - b.seq);
  const pending = [...state.pending.entries()].filter(([, send]) => send.chat === id);
  $("older").hidden = !state.oldest.get(id)?.more;
  $("messages").replaceChildren(
    ...messages.filter((msg) => !["edit", "react", "delete"].includes(msg.kind)).map((msg) => renderMessage(id, msg)),
    ...pending.map(([cid, send]) => renderMessage(id, { seq: 0, from: state.session.user, ts: Date.now(), body: send.body, kind: "text", cid })),
  );
}

function renderMessage(id, msg) {
  const mine = msg.from === state.session.user;
  const item = element("li", `message ${msg.kind === "system" ? "system" : mine ? "mine" : "theirs"}`);
  item.dataset.seq = String(msg.seq);
  if (msg.kind === "system") {
    item.textContent = describeSystem(msg);
    return item;
  }
  if (isGroup(id) && !mine) item.append(element("span", "from", nameOf(msg.from)));
  if (msg.kind === "media" && msg.media) item.append(renderImage(msg.media));
  const meta = element("span", "meta", new Date(msg.ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  if (mine) {
    const ticks = element("span", "ticks");
    const mark = msg.seq === 0 ? "pending" : tickState(id, msg.seq);
    ticks.dataset.state = mark;
    ticks.textContent = mark === "pending" ? "…" : mark === "sent" ? "✓" : "✓✓";
    ticks.title = mark;
    meta.append(ticks);
  }
  item.append(meta, element("span", "body", msg.deleted ? "message deleted" : textOf(msg.body)));
  return item;
}

function describeSystem(msg) {
  try {
    const event = JSON.parse(textOf(msg.body));
    const users = (event.users ?? []).map(nameOf).join(", ");
    const by = nameOf(event.by ?? "");
    if (event.op === "create") return `${by} created "${event.name}" with ${users}`;
    return `${by} ${event.op} ${users}`;
  } catch {
    return "group changed";
  }
}

/** A direct chat's other member's marks decide the ticks; groups count receipts on request only. */
function tickState(id, seq) {
  if (isGroup(id)) return "sent";
  const marks = state.receipts.get(id)?.get(peerOf(id));
  if ((marks?.read ?? 0) >= seq) return "read";
  if ((marks?.delivered ?? 0) >= seq) return "delivered";
  return "sent";
}

function renderImage(media) {
  const image = element("img");
  image.alt = "image";
  // Downloads need the bearer token, which an <img src> cannot carry: fetch, then show a blob.
  downloadMedia(location.origin, state.client.currentToken, media.id).then(
    (bytes) => (image.src = URL.createObjectURL(new Blob([bytes], { type: media.mime }))),
    () => (image.alt = "image unavailable"),
  );
  return image;
}

function markRead(id) {
  if (document.visibilityState === "hidden") return;
  const newest = Math.max(0, ...[...messagesOf(id).values()].filter((msg) => msg.from !== state.session.user).map((msg) => msg.seq));
  const chat = upsertChat(id);
  if (newest > (chat.readSent ?? 0)) {
    chat.readSent = newest;
    state.client.read(id, newest);
  }
}

// ---- what arrives -----------------------------------------------------------------------

function onMessage(msg) {
  messagesOf(msg.chat).set(msg.seq, msg);
  const chat = upsertChat(msg.chat);
  chat.lastSeq = Math.max(chat.lastSeq, msg.seq);
  chat.lastTs = Math.max(chat.lastTs, msg.ts);
  chat.preview = previewOf(msg);
  if (msg.kind === "system" && isGroup(msg.chat)) void nameGroup(msg.chat);
  if (state.open === msg.chat) {
    if (msg.from !== state.session.user) clearTyping(msg.chat, msg.from);
    renderMessages();
    $("scroller").scrollTop = $("scroller").scrollHeight;
    markRead(msg.chat);
  } else if (msg.from !== state.session.user) {
    chat.unread += 1;
  }
  renderChatList();
}

function previewOf(msg) {
  if (msg.kind === "media") return "[image]";
  if (msg.kind === "system") return describeSystem(msg);
  return textOf(msg.body).slice(0, 60);
}

async function nameGroup(id) {
  const group = await state.client.request({ t: "group.info", chat: id }).catch(() => undefined);
  if (!group) return;
  upsertChat(id).title = group.name;
  if (state.open === id) $("conversation-title").textContent = group.name;
  renderChatList();
}

function onReceipt(receipt) {
  let marks = state.receipts.get(receipt.chat);
  if (!marks) state.receipts.set(receipt.chat, (marks = new Map()));
  const current = marks.get(receipt.user) ?? { delivered: 0, read: 0 };
  marks.set(receipt.user, {
    delivered: Math.max(current.delivered, receipt.delivered ?? 0, receipt.read ?? 0),
    read: Math.max(current.read, receipt.read ?? 0),
  });
  if (state.open === receipt.chat) renderMessages();
}

function onTyping(typing) {
  if (typing.on) {
    clearTimeout(state.typingTimers.get(typing.chat));
    state.typingTimers.set(typing.chat, setTimeout(() => clearTyping(typing.chat, typing.user), TYPING_SHOWN_MS));
    if (state.open === typing.chat) $("typing").textContent = `${nameOf(typing.user)} is typing…`;
  } else {
    clearTyping(typing.chat, typing.user);
  }
}

function clearTyping(chat) {
  clearTimeout(state.typingTimers.get(chat));
  state.typingTimers.delete(chat);
  if (state.open === chat) $("typing").textContent = "";
}

function onPresence(presence) {
  if (!state.open || isGroup(state.open) || peerOf(state.open) !== presence.user) return;
  if (presence.online) $("presence").textContent = "online";
  else if (presence.last_seen) $("presence").textContent = `last seen ${new Date(presence.last_seen).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
  else $("presence").textContent = presence.hidden ? "last seen hidden" : "offline";
}

// ---- what the user does -----------------------------------------------------------------

async function sendText(id, text) {
  const cid = crypto.randomUUID();
  state.pending.set(cid, { chat: id, body: text });
  renderMessages();
  try {
    const sent = await state.client.send(targetOf(id), text, { cid });
    onMessage({ t: "msg", chat: sent.chat, seq: sent.seq, from: state.session.user, ts: sent.ts, body: text, kind: "text" });
  } finally {
    state.pending.delete(cid);
    if (state.open === id) renderMessages();
  }
}

async function sendImage(id, file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const media = await uploadMedia(location.origin, state.client.currentToken, bytes, file.type || "application/octet-stream");
  const sent = await state.client.send(targetOf(id), "", { media });
  onMessage({ t: "msg", chat: sent.chat, seq: sent.seq, from: state.session.user, ts: sent.ts, body: "", kind: "media", media });
}

function typed(id) {
  const now = Date.now();
  if (now - state.typingSentAt < TYPING_REPEAT_MS) return;
  state.typingSentAt = now;
  state.client.typing(id, true);
}

function wire() {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showError("sign-in-error");
    signIn($("name").value).then(start, (error) => showError("sign-in-error", error));
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem("demo.session");
    location.reload();
  });
  $("new-chat").addEventListener("submit", (event) => {
    event.preventDefault();
    showError("sidebar-error");
    const peer = userOf($("new-chat-name").value);
    $("new-chat-name").value = "";
    void openChat(directChatId(state.session.user, peer)).catch((error) => showError("sidebar-error", error));
  });
  $("new-group").addEventListener("submit", (event) => {
    event.preventDefault();
    showError("sidebar-error");
    const members = $("group-members").value.split(",").map((name) => name.trim()).filter(Boolean).map(userOf);
    state.client.createGroup($("group-name").value.trim(), members).then(
      (group) => {
        $("group-name").value = "";
        $("group-members").value = "";
        upsertChat(group.chat).title = group.name;
        return openChat(group.chat);
      },
      (error) => showError("sidebar-error", error),
    );
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text.trim() || !state.open) return;
    $("text").value = "";
    showError("composer-error");
    state.client.typing(state.open, false);
    state.typingSentAt = 0;
    sendText(state.open, text).catch((error) => showError("composer-error", error));
  });
  $("text").addEventListener("input", () => state.open && typed(state.open));
  $("image").addEventListener("change", () => {
    const file = $("image").files?.[0];
    $("image").value = "";
    if (file && state.open) sendImage(state.open, file).catch((error) => showError("composer-error", error));
  });
  $("older").addEventListener("click", () => state.open && void loadHistory(state.open, false));
  $("scroller").addEventListener("scroll", () => {
    if ($("scroller").scrollTop === 0 && state.open && state.oldest.get(state.open)?.more) void loadHistory(state.open, false);
  });
  document.addEventListener("visibilitychange", () => state.open && markRead(state.open));
}

wire();
const saved = sessionStorage.getItem("demo.session");
if (saved) void start(JSON.parse(saved)).catch((error) => showError("sign-in-error", error));
