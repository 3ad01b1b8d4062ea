import { directChatMembers, HISTORY_DEFAULT_LIMIT, isGroupChat, type MediaRef, type SentFrame } from "../protocol/frames.ts";
import type { ReplyTo } from "../seams.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { MessagePatch, MessageStore, SendRecord, StoredMessage } from "../storage/messages.ts";
import { applyPatch, hiddenEntry, isEventEntry, shareClientFrame, toMessageFrame } from "./client-frames.ts";
import { isWithheld, withheldEntry } from "./blocking.ts";
import { WritesInFlight, type ChatWriterDeps } from "./chat-writer.ts";
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
  type BlockNotice,
  type ConversationMessage,
  type HistoryRequest,
  type MarkUpdate,
  type ReceiptsQuery,
  type SendRequest,
  type ServerRecord,
} from "./messages.ts";
import { UnattendedTyping } from "./typing.ts";

const DEFAULT_MAX_BATCH = 256;
/** Shared by every entry everyone may see, so runs of them still go out as one deliver. */
const NOBODY: readonly string[] = [];
const NOBODY_PATCHES: readonly MessagePatch[] = [];
/**
 * A chat's latest messages kept in memory, for replies, edits and reactions to what was just
 * said. Every one kept outlives the young generation and costs the collector a copy and a
 * place in the old one; past this, the store answers (one read).
 */
const MAX_RECENT = 64;
/** Audiences larger than this (groups, not a direct chat's two members) share each message's encoded frame. */
const SHARED_FRAMES_FROM = 2;

/**
 * A chat's actor: membership, history, marks, typing, and the hand-off between requests and
 * the chat's single writer (src/actors/chat-writer.ts), which assigns seqs, writes batches and
 * answers `sent` once they are durable; this file delivers what the writer made durable to
 * the members' live UserActors.
 */
export function conversationBehaviour(deps: ConversationDeps): ActorBehaviour<ConversationMessage, ConversationState> {
  const chats = new Conversations(deps);
  return {
    initialState: () => new ConversationState(chats.writerDeps),
    handle: (state, msg, chat) => chats.handle(state, msg, chat),
    // A mark is handled synchronously once the chat is loaded: the 500 acks of a group
    // message then cost no mailbox turn each, and never queue ahead of the next send. So is
    // a send whose idempotency key the store checks synchronously (sendsAtOnce).
    handlesAtOnce: (state, msg) => (msg.type === "send" ? chats.sendsAtOnce(state, msg) : state.loaded && msg.type === "mark"),
    // A chat that does not exist (a group never created, a direct chat without a message)
    // answered its request from an empty state and wrote nothing: keeping its actor for the
    // idle timeout would let frames naming made-up chats pile up actors.
    disposable: (state) => state.loaded && !state.group && state.writer.empty && state.typing.idle,
    // Typing never wakes a chat (see session-protocol.ts). Without a live actor, a direct
    // chat's members are in its id: typing goes to the other member's UserActor, which exists
    // only while they are around, throttled and expired by this node (UnattendedTyping) with
    // no actor. A group's members are known only to its actor: typing into an idle group goes
    // nowhere until the group is active again (any message, ack, read or history wakes it).
    missed(msg, chat) {
      // No live chat: the next one loads the block from the store, so it already holds.
      if (msg.type === "block") return answerBlock(deps, msg);
      if (msg.type !== "typing" || isGroupChat(chat)) return;
      const members = directChatMembers(chat);
      if (!members?.includes(msg.user) || members[0] === members[1]) return;
      chats.unattendedTyping.handle(chat, members, msg);
    },
    answerCrash(msg, error) {
      if (msg.type === "send" || msg.type === "history" || msg.type === "group" || msg.type === "operation" || msg.type === "receipts" || msg.type === "block") {
        const code = error instanceof StorageUnavailableError ? "unavailable" : "internal";
        replyError(deps.link, msg.replyTo, code, code === "unavailable" ? "storage unavailable; retry" : "the chat failed handling this request");
      }
    },
  };
}

function answerBlock(deps: ConversationDeps, notice: BlockNotice): void {
  deps.link.send(notice.replyTo.conn, { t: "blocks", r: notice.replyTo.r, count: notice.count });
}

/** The handlers of every chat of a node (one instance, state passed in), and the kit its helpers use. */
class Conversations implements ConversationKit {
  readonly writerDeps: ChatWriterDeps;
  readonly unattendedTyping: UnattendedTyping;

  constructor(readonly deps: ConversationDeps) {
    this.unattendedTyping = new UnattendedTyping(deps.limits, (member, notice) => deps.users.tellIfActive(member, notice), deps.clock);
    this.writerDeps = {
      store: deps.stores.messages,
      clock: deps.clock,
      log: deps.log,
      writes: new WritesInFlight(),
      maxBatch: deps.maxBatch ?? DEFAULT_MAX_BATCH,
      report: (chat, batchId, error) => {
        // A durable batch is answered at once when the chat's actor is idle: one dispatch
        // and one turn fewer per batch. Failures take the mailbox (a retry or a renumbering).
        if (error === undefined && deps.self.runIfIdle(chat, (state) => state.loaded && state.writer.durable(batchId))) return;
        deps.self.tell(chat, { type: "written", batchId, error });
      },
      hold: (chat, work) => deps.self.track(chat, work),
      keep: (chat) => deps.self.hold(chat),
      sent: (waiter, chat, seq, ts, cid) => this.answerSent(waiter, chat, seq, ts, cid),
      refuse: (waiter) => replyError(deps.link, waiter, "unavailable", "not stored yet; retry (sends with the same cid)"),
      durable: (chat, items) => this.deliver(chat, items),
      onConflict: deps.onConflict,
    };
  }

  /** Synchronous where the message needs no store read, so most of the hot path costs no promise. */
  handle(state: ConversationState, msg: ConversationMessage, chat: string): ConversationState | Promise<ConversationState> {
    if (!state.loaded) return this.load(state, chat).then(() => this.handleLoaded(state, msg, chat));
    return this.handleLoaded(state, msg, chat);
  }

  private handleLoaded(state: ConversationState, msg: ConversationMessage, chat: string): ConversationState | Promise<ConversationState> {
    const deps = this.deps;
    switch (msg.type) {
      case "send": {
        const stored = this.onSend(state, chat, msg);
        return stored ? stored.then(() => state) : state;
      }
      case "written":
        // A success is synchronous (see ChatWriter.durable); a failure may renumber.
        if (msg.error !== undefined) return state.writer.written(msg.batchId, msg.error).then(() => state);
        state.writer.durable(msg.batchId);
        return state;
      case "history":
        return this.onHistory(state, chat, msg).then(() => state);
      case "mark":
        this.onMark(state, chat, msg);
        return state;
      case "receipts":
        this.onReceipts(state, chat, msg);
        return state;
      case "record":
        return this.onRecord(state, chat, msg).then(() => state);
      case "group":
        return handleGroupCommand(this, state, chat, msg).then((result) => (answer(deps.link, msg.replyTo, result), state));
      case "operation":
        return handleMessageOperation(this, state, chat, msg).then((result) => (answer(deps.link, msg.replyTo, result), state));
      case "block":
        state.blocks.apply(msg, state.members);
        answerBlock(deps, msg);
        return state;
      case "typing":
      case "typing-expired":
        state.typing.handle(chat, state.members, msg, {
          limits: deps.limits,
          clock: deps.clock,
          forward: (member, notice) => deps.users.tellIfActive(member, notice),
          self: deps.self,
        });
        return state;
    }
  }

  private async load(state: ConversationState, chat: string): Promise<void> {
    const deps = this.deps;
    if (isGroupChat(chat)) {
      state.group = await deps.stores.groups.get(chat);
      state.members = state.group?.members ?? [];
    } else {
      const members = directChatMembers(chat);
      if (!members) throw new Error(`not a chat id: ${chat}`);
      state.members = members[0] === members[1] ? [members[0]] : members;
      await state.blocks.load(deps.stores, state.members);
    }
    await state.writer.load(chat);
    state.marks = await deps.stores.receipts.marks(chat);
    state.loaded = true;
  }

  answerSent(replyTo: ReplyTo, chat: string, seq: number, ts: number, cid?: string): void {
    const frame: SentFrame = { t: "sent", r: replyTo.r, cid, chat, seq, ts };
    this.deps.link.send(replyTo.conn, frame);
  }

  accept(state: ConversationState, chat: string, entry: NewEntry, options: AcceptOptions): StoredMessage {
    const writer = state.writer;
    const full = storedEntry(chat, writer.takeSeq(), writer.stamp(), entry);
    // Withheld (the other member blocked the sender): stored as a placeholder, handed live
    // to the sender's other devices only, answered `sent` like any other (src/actors/blocking.ts).
    const withheld = state.blocks.beforeAccept(entry.from) === "withhold";
    const message = withheld ? withheldEntry(full) : full;
    const alsoTo = withheld ? undefined : options.alsoTo;
    const audience = withheld ? [entry.from] : alsoTo?.length ? [...new Set([...state.members, ...alsoTo])] : state.members;
    const accepted: Accepted = {
      message,
      live: options.liveBody === undefined ? full : { ...full, body: options.liveBody },
      device: options.device,
      waiters: options.waiters,
      audience,
      // Above the threshold members pull on connect; only users joining or leaving get an
      // inbox entry, so they find the message that names them.
      notify: audience.length <= this.deps.limits.fanoutThreshold ? audience : (alsoTo ?? NOBODY),
      hidden: hiddenFrom(state, message, audience),
      patches: (!withheld && options.patches) || NOBODY_PATCHES,
    };
    for (const patch of accepted.patches) {
      const current = state.recent.get(patch.seq);
      if (current) state.recent.set(patch.seq, applyPatch(current, patch));
    }
    writer.enqueue(accepted);
    return message;
  }

  async message(state: ConversationState, chat: string, seq: number): Promise<StoredMessage | undefined> {
    const cached = state.recent.get(seq);
    if (cached) return cached;
    const pending = state.writer.pendingAt(seq);
    if (pending) {
      if (isEventEntry(pending)) return undefined;
      remember(state, pending);
      return pending;
    }
    if (seq > state.lastSeq) return undefined;
    const [found] = await this.deps.stores.messages.readAfter(chat, seq - 1, 1);
    if (!found || found.seq !== seq || isEventEntry(found)) return undefined;
    remember(state, found);
    return found;
  }

  /**
   * Whether a send completes without a promise: the chat is loaded, its store answers an
   * idempotency key synchronously (LMDB) and there is no media to link. Then an idle chat takes
   * it inside the socket's turn (handlesAtOnce), and most sends cost no mailbox turn.
   */
  sendsAtOnce(state: ConversationState, request: SendRequest): boolean {
    return state.loaded && this.cidLookupNow(request) !== undefined;
  }

  /** The store's synchronous idempotency lookup, when this send may use it (no media to link first). */
  private cidLookupNow(request: SendRequest): MessageStore["findByCidNow"] {
    return request.media === undefined ? this.deps.stores.messages.findByCidNow : undefined;
  }

  private onSend(state: ConversationState, chat: string, request: SendRequest): Promise<void> | undefined {
    const deps = this.deps;
    if (!state.isMember(request.from)) {
      replyError(deps.link, request.replyTo, state.group || !isGroupChat(chat) ? "forbidden" : "not_found", "not a member of this chat");
      return undefined;
    }
    if (state.writer.join(request.from, request.cid, request.replyTo)) return undefined;
    const messages = deps.stores.messages;
    if (this.cidLookupNow(request)) {
      this.sendUnlessSent(state, chat, request, messages.findByCidNow!(chat, request.from, request.cid));
      return undefined;
    }
    return messages.findByCid(chat, request.from, request.cid).then((first) => this.sendUnlessSent(state, chat, request, first));
  }

  /** The send's idempotency key is checked (`first`: what the key already stored): answer it, or store it. */
  private sendUnlessSent(state: ConversationState, chat: string, request: SendRequest, first: SendRecord | undefined): Promise<void> | undefined {
    const deps = this.deps;
    if (first) {
      this.answerSent(request.replyTo, chat, first.seq, first.ts, request.cid);
      return undefined;
    }
    if (!state.writer.accepting) {
      replyError(deps.link, request.replyTo, "unavailable", "storage is not taking writes for this chat; retry with the same cid");
      return undefined;
    }
    // A withheld message's media is never linked to the chat: the blocker could fetch it.
    if (request.media && state.blocks.beforeAccept(request.from) === "accept") {
      return this.attachMedia(chat, request, request.media).then((refused) => {
        if (!refused) this.acceptSend(state, chat, request);
      });
    }
    this.acceptSend(state, chat, request);
    return undefined;
  }

  private acceptSend(state: ConversationState, chat: string, request: SendRequest): void {
    this.accept(
      state,
      chat,
      { from: request.from, body: request.body, kind: request.kind, reply: request.reply, media: request.media, cid: request.cid },
      { device: request.device, waiters: [request.replyTo] },
    );
  }

  /** Links the media of a send to the chat; true when it was refused (and the sender told). */
  private async attachMedia(chat: string, request: SendRequest, media: MediaRef): Promise<boolean> {
    const deps = this.deps;
    if (!deps.media) {
      replyError(deps.link, request.replyTo, "forbidden", "this node does not store media");
      return true;
    }
    const attached = await deps.media.attach(chat, request.from, media);
    if (attached.ok) return false;
    replyError(deps.link, request.replyTo, attached.code, attached.msg);
    return true;
  }

  /**
   * Hands a durable batch to the members' live UserActors: one deliver per run of entries with
   * the same origin device and audience, so "skip the device that sent it" stays exact and a
   * member never receives what was sent before they joined.
   */
  private deliver(chat: string, items: readonly Accepted[]): void {
    const deps = this.deps;
    deps.onStored(items.length);
    deps.onDurable?.(items);
    let start = 0;
    for (let i = 1; i <= items.length; i += 1) {
      const previous = items[i - 1]!;
      const current = items[i];
      if (current && sameRun(previous, current)) continue;
      const messages: StoredMessage[] = new Array<StoredMessage>(i - start);
      for (let j = start; j < i; j += 1) messages[j - start] = items[j]!.live;
      const origin = { user: previous.message.from, device: previous.device };
      // A fan-out: every member is handed the same frames, built and encoded once here.
      if (previous.audience.length > SHARED_FRAMES_FROM) for (const message of messages) shareClientFrame(message);
      if (previous.hidden.length === 0) {
        for (const member of previous.audience) deps.users.tellIfActive(member, { type: "deliver", messages, origin });
      } else {
        const stubs: StoredMessage[] = new Array<StoredMessage>(i - start);
        for (let j = start; j < i; j += 1) stubs[j - start] = hiddenEntry(items[j]!.message);
        const hidden = new Set(previous.hidden);
        for (const member of previous.audience) {
          deps.users.tellIfActive(member, { type: "deliver", messages: hidden.has(member) ? stubs : messages, origin });
        }
      }
      start = i;
    }
  }

  private async onHistory(state: ConversationState, chat: string, request: HistoryRequest): Promise<void> {
    if (!state.members.includes(request.user)) {
      replyError(this.deps.link, request.replyTo, "forbidden", "not a member of this chat");
      return;
    }
    const limit = request.limit || HISTORY_DEFAULT_LIMIT;
    // A group member sees nothing from before they joined.
    const floor = state.group?.joined[request.user] ?? 1;
    const before = Math.min(request.before ?? Number.MAX_SAFE_INTEGER, state.lastSeq + 1);
    const page = (await this.deps.stores.messages.readBefore(chat, before, limit + 1)).filter((m) => m.seq >= floor);
    const more = page.length > limit;
    const msgs = (more ? page.slice(1) : page)
      .filter((m) => !isEventEntry(m) && !isWithheld(m))
      .map((m) => toMessageFrame(state.recent.get(m.seq) ?? m));
    this.deps.link.send(request.replyTo.conn, { t: "history", r: request.replyTo.r, chat, msgs, more });
  }

  private onMark(state: ConversationState, chat: string, update: MarkUpdate): void {
    if (!state.isMember(update.user)) return;
    const current = state.marks.get(update.user) ?? { delivered: 0, read: 0 };
    const read = Math.min(Math.max(current.read, update.read ?? 0), state.lastSeq);
    // Reading a message implies it was delivered to one of the reader's devices.
    const delivered = Math.min(Math.max(current.delivered, update.delivered ?? 0, read), state.lastSeq);
    if (delivered === current.delivered && read === current.read) return;
    const next = { delivered, read };
    state.marks.set(update.user, next);
    // Not awaited: a mark is not worth holding the chat's next send for a disk commit. A
    // lost write only delays a receipt (marks only grow, and devices re-ack on reconnect).
    const receipts = this.deps.stores.receipts;
    if (receipts.setMarksSoon) receipts.setMarksSoon(chat, update.user, next);
    else {
      receipts.setMarks(chat, update.user, next).catch((error: unknown) => {
        this.deps.log.warn({ err: error, chat, user: update.user }, "receipt marks write failed");
      });
    }
    // In a group, receipts are counted on request (`receipts`) instead of broadcast to
    // every member on every read.
    if (state.group) return;
    for (const member of state.members) {
      if (member === update.user) continue;
      this.deps.users.tellIfActive(member, {
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
  private async onRecord(state: ConversationState, chat: string, record: ServerRecord): Promise<void> {
    if (!state.members.includes(record.from) || !state.writer.writable) {
      this.deps.log.warn({ chat, kind: record.kind, writable: state.writer.writable }, "server record not written");
      return;
    }
    if (state.writer.inFlight(record.from, record.cid)) return;
    if (await this.deps.stores.messages.findByCid(chat, record.from, record.cid)) return;
    this.accept(state, chat, { from: record.from, body: record.body, kind: record.kind, cid: record.cid }, { device: "", waiters: [] });
  }

  private onReceipts(state: ConversationState, chat: string, query: ReceiptsQuery): void {
    if (!state.members.includes(query.user)) {
      replyError(this.deps.link, query.replyTo, "forbidden", "not a member of this chat");
      return;
    }
    if (query.seq < (state.group?.joined[query.user] ?? 1)) {
      replyError(this.deps.link, query.replyTo, "forbidden", "that message is from before you joined");
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
    this.deps.link.send(query.replyTo.conn, { t: "receipts", r: query.replyTo.r, chat, seq: query.seq, members, delivered, read });
  }
}

function sameRun(previous: Accepted, current: Accepted): boolean {
  return (
    current.message.from === previous.message.from &&
    current.device === previous.device &&
    current.audience === previous.audience &&
    current.hidden === previous.hidden
  );
}

/** The entry as stored; optional fields are set only when present (stores keep what is set). */
function storedEntry(chat: string, seq: number, ts: number, entry: NewEntry): StoredMessage {
  const message: StoredMessage = { chat, seq, ts, from: entry.from, body: entry.body, kind: entry.kind, cid: entry.cid };
  if (entry.reply !== undefined) message.reply = entry.reply;
  if (entry.media !== undefined) message.media = entry.media;
  if (entry.target !== undefined) message.target = entry.target;
  if (entry.emoji !== undefined) message.emoji = entry.emoji;
  return message;
}

function hiddenFrom(state: ConversationState, message: StoredMessage, audience: readonly string[]): readonly string[] {
  const group = state.group;
  if (!group || message.target === undefined) return NOBODY;
  const target = message.target;
  const hidden = audience.filter((member) => (group.joined[member] ?? 1) > target);
  return hidden.length > 0 ? hidden : NOBODY;
}

function remember(state: ConversationState, message: StoredMessage): void {
  // The oldest remembered goes first (a Map iterates in insertion order).
  if (state.recent.size >= MAX_RECENT && !state.recent.has(message.seq)) state.recent.delete(state.recent.keys().next().value!);
  state.recent.set(message.seq, message);
}
