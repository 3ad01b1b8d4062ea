import { setTimeout as sleep } from "node:timers/promises";
import { directChatMembers, HISTORY_DEFAULT_LIMIT, isGroupChat, type SentFrame } from "../protocol/frames.ts";
import type { ReplyTo } from "../seams.ts";
import { SeqConflictError, StorageUnavailableError } from "../storage/errors.ts";
import type { StoredMessage } from "../storage/messages.ts";
import { applyPatch, hiddenEntry, isEventEntry, toMessageFrame } from "./client-frames.ts";
import { isWithheld, withheldEntry } from "./blocking.ts";
import { answer } from "./command-result.ts";
import {
  ConversationState,
  type Accepted,
  type AcceptOptions,
  type ConversationDeps,
  type ConversationKit,
  type NewEntry,
} from "./conversation-kit.ts";
import type { ActorBehaviour } from "./directory.ts";
import { handleGroupCommand } from "./group-commands.ts";
import { handleMessageOperation } from "./message-operations.ts";
import {
  replyError,
  type BatchWritten,
  type ConversationMessage,
  type HistoryRequest,
  type MarkUpdate,
  type ReceiptsQuery,
  type SendRequest,
  type ServerRecord,
} from "./messages.ts";
import { UnattendedTyping } from "./typing.ts";

interface Batch {
  id: number;
  items: Accepted[];
  /** Set once a write of this batch failed: its outcome is unknown until a retry succeeds. */
  uncertain: boolean;
  attempts: number;
}

const DEFAULT_MAX_BATCH = 256;
/** Shared by every entry everyone may see, so runs of them still go out as one deliver. */
const NOBODY: readonly string[] = [];
const MAX_QUEUED = 10_000;
const MAX_RECENT = 1000;
const RETRY_BASE_MS = 50;
const RETRY_MAX_MS = 2000;

function cidKey(from: string, cid: string): string {
  return `${from}\u0000${cid}`;
}

/**
 * The single writer of one chat. It assigns consecutive seqs, writes them in batches (group
 * commit: while one batch is being made durable the next one gathers), answers `sent` only
 * once a batch is durable, then hands the entries to the members' live UserActors.
 *
 * A failed write leaves the batch "uncertain": a timed-out write may still land, so the
 * batch is retried with the same seqs and content (idempotent) until it does, and no new
 * seq is handed out meanwhile. Nothing is ever answered `sent` before it is stored, and no
 * seq is ever written with two different entries.
 */
export function conversationBehaviour(deps: ConversationDeps): ActorBehaviour<ConversationMessage, ConversationState> {
  const maxBatch = deps.maxBatch ?? DEFAULT_MAX_BATCH;
  // The batch each chat is writing lives outside actor state: a restarted incarnation must
  // adopt a write still in flight (it may yet land) instead of handing its seqs out again.
  const writing = new Map<string, Batch>();
  let nextBatchId = 1;
  const unattendedTyping = new UnattendedTyping(deps.limits, (member, notice) => deps.users.tellIfActive(member, notice), deps.clock);

  async function load(state: ConversationState, chat: string): Promise<void> {
    if (isGroupChat(chat)) {
      state.group = await deps.stores.groups.get(chat);
      state.members = state.group?.members ?? [];
    } else {
      const members = directChatMembers(chat);
      if (!members) throw new Error(`not a chat id: ${chat}`);
      state.members = members[0] === members[1] ? [members[0]] : members;
      await state.blocks.load(deps.stores, state.members);
    }
    state.lastSeq = await deps.stores.messages.lastSeq(chat);
    state.nextSeq = state.lastSeq + 1;
    const unfinished = writing.get(chat);
    if (unfinished) {
      state.nextSeq = Math.max(state.nextSeq, (unfinished.items.at(-1)?.message.seq ?? 0) + 1);
      for (const item of unfinished.items) {
        if (item.message.cid) state.inFlightByCid.set(cidKey(item.message.from, item.message.cid), item);
      }
    }
    state.lastTs = deps.clock.now();
    state.marks = await deps.stores.receipts.marks(chat);
    state.loaded = true;
  }

  function answerSent(replyTo: ReplyTo, chat: string, seq: number, ts: number, cid?: string): void {
    const frame: SentFrame = { t: "sent", r: replyTo.r, cid, chat, seq, ts };
    deps.link.send(replyTo.conn, frame);
  }

  function hiddenFrom(state: ConversationState, message: StoredMessage, audience: readonly string[]): readonly string[] {
    const group = state.group;
    if (!group || message.target === undefined) return NOBODY;
    const target = message.target;
    const hidden = audience.filter((member) => (group.joined[member] ?? 1) > target);
    return hidden.length > 0 ? hidden : NOBODY;
  }

  function remember(state: ConversationState, message: StoredMessage): void {
    if (state.recent.size >= MAX_RECENT) state.recent.clear();
    state.recent.set(message.seq, message);
  }

  function accept(state: ConversationState, chat: string, entry: NewEntry, options: AcceptOptions): StoredMessage {
    // Monotonic per chat even if the wall clock steps back, so ts order matches seq order.
    const ts = Math.max(deps.clock.now(), state.lastTs);
    state.lastTs = ts;
    const full: StoredMessage = { chat, seq: state.nextSeq++, ts, ...entry };
    // Withheld (the other member blocked the sender): stored as a placeholder, handed live
    // to the sender's other devices only, answered `sent` like any other (src/actors/blocking.ts).
    const withheld = state.blocks.beforeAccept(entry.from) === "withhold";
    const message = withheld ? withheldEntry(full) : full;
    if (withheld) options = { device: options.device, waiters: options.waiters, liveBody: options.liveBody };
    const audience = withheld ? [entry.from] : options.alsoTo?.length ? [...new Set([...state.members, ...options.alsoTo])] : state.members;
    const fanOutOnWrite = audience.length <= deps.limits.fanoutThreshold;
    const accepted: Accepted = {
      message,
      live: options.liveBody === undefined ? full : { ...full, body: options.liveBody },
      device: options.device,
      waiters: options.waiters,
      audience,
      // Above the threshold members pull on connect; only users joining or leaving get an
      // inbox entry, so they find the message that names them.
      notify: fanOutOnWrite ? audience : (options.alsoTo ?? []),
      hidden: hiddenFrom(state, message, audience),
      patches: options.patches ?? [],
    };
    if (entry.cid) state.inFlightByCid.set(cidKey(entry.from, entry.cid), accepted);
    if (!isEventEntry(message)) remember(state, message);
    for (const patch of accepted.patches) {
      const current = state.recent.get(patch.seq);
      if (current) state.recent.set(patch.seq, applyPatch(current, patch));
    }
    state.queued.push(accepted);
    writeQueued(state, chat);
    return message;
  }

  async function message(state: ConversationState, chat: string, seq: number): Promise<StoredMessage | undefined> {
    const cached = state.recent.get(seq);
    if (cached) return cached;
    if (seq > state.lastSeq) return undefined;
    const [found] = await deps.stores.messages.readAfter(chat, seq - 1, 1);
    if (!found || found.seq !== seq || isEventEntry(found)) return undefined;
    remember(state, found);
    return found;
  }

  const kit: ConversationKit = {
    deps,
    writable: (chat) => !writing.get(chat)?.uncertain,
    accept,
    message,
    answerSent,
  };

  function startWrite(chat: string, batch: Batch): void {
    writing.set(chat, batch);
    const notify = new Set<string>();
    for (const item of batch.items) for (const user of item.notify) notify.add(user);
    // Held until its outcome is in the actor's mailbox (which holds it from there).
    deps.self.track(
      chat,
      deps.stores.messages
        .append({
          chat,
          messages: batch.items.map((item) => item.message),
          notify: [...notify],
          patches: batch.items.flatMap((item) => item.patches),
        })
        .then(
          () => deps.self.tell(chat, { type: "written", batchId: batch.id }),
          (error: unknown) => deps.self.tell(chat, { type: "written", batchId: batch.id, error }),
        ),
    );
  }

  function writeQueued(state: ConversationState, chat: string): void {
    if (writing.has(chat) || state.queued.length === 0) return;
    const items = state.queued.splice(0, maxBatch);
    startWrite(chat, { id: nextBatchId++, items, uncertain: false, attempts: 0 });
  }

  async function onSend(state: ConversationState, chat: string, request: SendRequest): Promise<void> {
    if (!state.members.includes(request.from)) {
      replyError(deps.link, request.replyTo, state.group || !isGroupChat(chat) ? "forbidden" : "not_found", "not a member of this chat");
      return;
    }
    const inFlight = state.inFlightByCid.get(cidKey(request.from, request.cid));
    if (inFlight) {
      inFlight.waiters.push(request.replyTo);
      return;
    }
    const first = await deps.stores.messages.findByCid(chat, request.from, request.cid);
    if (first) {
      answerSent(request.replyTo, chat, first.seq, first.ts, request.cid);
      return;
    }
    if (!kit.writable(chat) || state.queued.length >= MAX_QUEUED) {
      replyError(deps.link, request.replyTo, "unavailable", "storage is not taking writes for this chat; retry with the same cid");
      return;
    }
    // A withheld message's media is never linked to the chat: the blocker could fetch it.
    if (request.media && state.blocks.beforeAccept(request.from) === "accept") {
      if (!deps.media) {
        replyError(deps.link, request.replyTo, "forbidden", "this node does not store media");
        return;
      }
      const attached = await deps.media.attach(chat, request.from, request.media);
      if (!attached.ok) {
        replyError(deps.link, request.replyTo, attached.code, attached.msg);
        return;
      }
    }
    accept(
      state,
      chat,
      { from: request.from, body: request.body, kind: request.kind, reply: request.reply, media: request.media, cid: request.cid },
      { device: request.device, waiters: [request.replyTo] },
    );
  }

  async function onWritten(state: ConversationState, chat: string, result: BatchWritten): Promise<void> {
    const batch = writing.get(chat);
    if (!batch || batch.id !== result.batchId) return;
    if (result.error === undefined) {
      writing.delete(chat);
      onBatchDurable(state, chat, batch);
      writeQueued(state, chat);
      return;
    }
    if (result.error instanceof SeqConflictError) {
      writing.delete(chat);
      await renumberAfterConflict(state, chat, batch);
      return;
    }
    batch.attempts += 1;
    const unavailable = result.error instanceof StorageUnavailableError;
    deps.log.warn({ err: result.error, chat, attempts: batch.attempts, unavailable }, "message batch write failed, retrying");
    if (!batch.uncertain) {
      batch.uncertain = true;
      // Nothing queued behind the failed batch has a durable seq: refuse them now rather
      // than keep clients waiting on storage; their retries come back with the same cid.
      for (const item of [...batch.items, ...state.queued]) {
        for (const waiter of item.waiters) {
          replyError(deps.link, waiter, "unavailable", "not stored yet; retry (sends with the same cid)");
        }
        item.waiters = [];
      }
      for (const item of state.queued) state.inFlightByCid.delete(cidKey(item.message.from, item.message.cid));
      state.queued = [];
      state.recent.clear();
      state.nextSeq = (batch.items.at(-1)?.message.seq ?? state.lastSeq) + 1;
    }
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(batch.attempts, 10));
    // Held until the retry has started (and holds the actor itself).
    deps.self.track(chat, sleep(delay, undefined, { ref: false }).then(() => startWrite(chat, batch)));
  }

  /**
   * Another writer took the seqs this batch was given (two nodes briefly both believed they
   * owned the chat). Nothing of it was written, so its entries take the next free seqs;
   * a retry that reached the other writer is answered with that writer's seq.
   */
  async function renumberAfterConflict(state: ConversationState, chat: string, batch: Batch): Promise<void> {
    deps.onConflict?.();
    deps.log.warn({ chat, firstSeq: batch.items[0]?.message.seq }, "another writer wrote this chat; renumbering");
    const items = [...batch.items, ...state.queued];
    state.queued = [];
    state.recent.clear();
    state.lastSeq = await deps.stores.messages.lastSeq(chat);
    state.nextSeq = state.lastSeq + 1;
    for (const item of items) {
      if (item.message.cid) {
        const first = await deps.stores.messages.findByCid(chat, item.message.from, item.message.cid);
        if (first) {
          state.inFlightByCid.delete(cidKey(item.message.from, item.message.cid));
          for (const waiter of item.waiters) answerSent(waiter, chat, first.seq, first.ts, item.message.cid);
          continue;
        }
      }
      const seq = state.nextSeq++;
      const ts = Math.max(item.message.ts, state.lastTs);
      state.lastTs = ts;
      item.message = { ...item.message, seq, ts };
      item.live = { ...item.live, seq, ts };
      state.queued.push(item);
    }
    writeQueued(state, chat);
  }

  function onBatchDurable(state: ConversationState, chat: string, batch: Batch): void {
    state.lastSeq = batch.items.at(-1)?.message.seq ?? state.lastSeq;
    deps.onStored(batch.items.length);
    deps.onDurable?.(batch.items);
    for (const item of batch.items) {
      if (item.message.cid) state.inFlightByCid.delete(cidKey(item.message.from, item.message.cid));
      for (const waiter of item.waiters) answerSent(waiter, chat, item.message.seq, item.message.ts, item.message.cid || undefined);
    }
    // One deliver per run of entries with the same origin device and audience, so "skip the
    // device that sent it" stays exact and a member never receives what was sent before they joined.
    let start = 0;
    for (let i = 1; i <= batch.items.length; i += 1) {
      const previous = batch.items[i - 1]!;
      const current = batch.items[i];
      if (
        current &&
        current.message.from === previous.message.from &&
        current.device === previous.device &&
        current.audience === previous.audience &&
        current.hidden === previous.hidden
      ) {
        continue;
      }
      const run = batch.items.slice(start, i);
      const messages = run.map((item) => item.live);
      const hidden = new Set(previous.hidden);
      const stubs = hidden.size > 0 ? run.map((item) => hiddenEntry(item.message)) : messages;
      const origin = { user: previous.message.from, device: previous.device };
      for (const member of previous.audience) {
        deps.users.tellIfActive(member, { type: "deliver", messages: hidden.has(member) ? stubs : messages, origin });
      }
      start = i;
    }
  }

  async function onHistory(state: ConversationState, chat: string, request: HistoryRequest): Promise<void> {
    if (!state.members.includes(request.user)) {
      replyError(deps.link, request.replyTo, "forbidden", "not a member of this chat");
      return;
    }
    const limit = request.limit || HISTORY_DEFAULT_LIMIT;
    // A group member sees nothing from before they joined.
    const floor = state.group?.joined[request.user] ?? 1;
    const before = Math.min(request.before ?? Number.MAX_SAFE_INTEGER, state.lastSeq + 1);
    const page = (await deps.stores.messages.readBefore(chat, before, limit + 1)).filter((m) => m.seq >= floor);
    const more = page.length > limit;
    const msgs = (more ? page.slice(1) : page)
      .filter((m) => !isEventEntry(m) && !isWithheld(m))
      .map((m) => toMessageFrame(state.recent.get(m.seq) ?? m));
    deps.link.send(request.replyTo.conn, { t: "history", r: request.replyTo.r, chat, msgs, more });
  }

  function onMark(state: ConversationState, chat: string, update: MarkUpdate): void {
    if (!state.members.includes(update.user)) return;
    const current = state.marks.get(update.user) ?? { delivered: 0, read: 0 };
    const read = Math.min(Math.max(current.read, update.read ?? 0), state.lastSeq);
    // Reading a message implies it was delivered to one of the reader's devices.
    const delivered = Math.min(Math.max(current.delivered, update.delivered ?? 0, read), state.lastSeq);
    if (delivered === current.delivered && read === current.read) return;
    const next = { delivered, read };
    state.marks.set(update.user, next);
    // Not awaited: a mark is not worth holding the chat's next send for a disk commit. A
    // lost write only delays a receipt (marks only grow, and devices re-ack on reconnect).
    deps.stores.receipts.setMarks(chat, update.user, next).catch((error: unknown) => {
      deps.log.warn({ err: error, chat, user: update.user }, "receipt marks write failed");
    });
    // In a group, receipts are counted on request (`receipts`) instead of broadcast to
    // every member on every read.
    if (state.group) return;
    for (const member of state.members) {
      if (member === update.user) continue;
      deps.users.tellIfActive(member, {
        type: "receipt",
        chat,
        user: update.user,
        delivered: delivered > current.delivered ? delivered : undefined,
        read: read > current.read ? read : undefined,
      });
    }
  }

  /**
   * A record the server writes (a call's outcome): stored and delivered like a message from
   * `from`, so history shows it and devices that were offline learn of it. Never for a
   * non-member, and at most once per `cid`.
   */
  async function onRecord(state: ConversationState, chat: string, record: ServerRecord): Promise<void> {
    if (!state.members.includes(record.from) || !kit.writable(chat)) {
      deps.log.warn({ chat, kind: record.kind, writable: kit.writable(chat) }, "server record not written");
      return;
    }
    if (state.inFlightByCid.has(cidKey(record.from, record.cid))) return;
    if (await deps.stores.messages.findByCid(chat, record.from, record.cid)) return;
    accept(state, chat, { from: record.from, body: record.body, kind: record.kind, cid: record.cid }, { device: "", waiters: [] });
  }

  function onReceipts(state: ConversationState, chat: string, query: ReceiptsQuery): void {
    if (!state.members.includes(query.user)) {
      replyError(deps.link, query.replyTo, "forbidden", "not a member of this chat");
      return;
    }
    if (query.seq < (state.group?.joined[query.user] ?? 1)) {
      replyError(deps.link, query.replyTo, "forbidden", "that message is from before you joined");
      return;
    }
    let members = 0;
    let delivered = 0;
    let read = 0;
    for (const member of state.members) {
      if (member === query.user) continue;
      members += 1;
      const marks = state.marks.get(member);
      if ((marks?.delivered ?? 0) >= query.seq) delivered += 1;
      if ((marks?.read ?? 0) >= query.seq) read += 1;
    }
    deps.link.send(query.replyTo.conn, { t: "receipts", r: query.replyTo.r, chat, seq: query.seq, members, delivered, read });
  }

  return {
    initialState: () => new ConversationState(),
    async handle(state, msg, chat) {
      if (!state.loaded) await load(state, chat);
      switch (msg.type) {
        case "send":
          await onSend(state, chat, msg);
          break;
        case "written":
          await onWritten(state, chat, msg);
          break;
        case "history":
          await onHistory(state, chat, msg);
          break;
        case "mark":
          onMark(state, chat, msg);
          break;
        case "receipts":
          onReceipts(state, chat, msg);
          break;
        case "record":
          await onRecord(state, chat, msg);
          break;
        case "group":
          answer(deps.link, msg.replyTo, await handleGroupCommand(kit, state, chat, msg));
          break;
        case "operation":
          answer(deps.link, msg.replyTo, await handleMessageOperation(kit, state, chat, msg));
          break;
        case "block":
          state.blocks.apply(msg, state.members);
          break;
        case "typing":
        case "typing-expired":
          state.typing.handle(chat, state.members, msg, {
            limits: deps.limits,
            clock: deps.clock,
            forward: (member, notice) => deps.users.tellIfActive(member, notice),
            self: deps.self,
          });
          break;
      }
      return state;
    },
    // A chat that does not exist (a group never created, a direct chat without a message)
    // answered its request from an empty state and wrote nothing: keeping its actor for the
    // idle timeout would let frames naming made-up chats pile up actors.
    disposable: (state) => state.loaded && !state.group && state.lastSeq === 0 && state.nextSeq === 1 && state.typing.idle,
    // Typing never wakes a chat (see session-protocol.ts). Without a live actor, a direct
    // chat's members are in its id: typing goes to the other member's UserActor, which exists
    // only while they are around, throttled and expired by this node (UnattendedTyping) with
    // no actor. A group's members are known only to its actor: typing into an idle group goes
    // nowhere until the group is active again (any message, ack, read or history wakes it).
    missed(msg, chat) {
      if (msg.type !== "typing" || isGroupChat(chat)) return;
      const members = directChatMembers(chat);
      if (!members?.includes(msg.user) || members[0] === members[1]) return;
      unattendedTyping.handle(chat, members, msg);
    },
    answerCrash(msg, error) {
      if (msg.type === "send" || msg.type === "history" || msg.type === "group" || msg.type === "operation" || msg.type === "receipts") {
        const code = error instanceof StorageUnavailableError ? "unavailable" : "internal";
        replyError(deps.link, msg.replyTo, code, code === "unavailable" ? "storage unavailable; retry" : "the chat failed handling this request");
      }
    },
  };
}
