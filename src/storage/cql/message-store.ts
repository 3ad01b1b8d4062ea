import { SeqConflictError, StorageUnavailableError } from "../errors.ts";
import type { AppendBatch, InboxEntry, MessagePatch, MessageStore, SendRecord, StoredMessage } from "../messages.ts";
import { bucketOf, firstSeqOf, lastSeqOf } from "./buckets.ts";
import { numberColumn, optionalNumberColumn, textColumn } from "./columns.ts";
import { claimOf, packPending, unpackPending, type PendingBatch } from "./pending-batch.ts";
import { applyPatch, insertMessage, MESSAGE_COLUMNS, messageFromRow, patchMessage } from "./message-rows.ts";
import type { CqlSession, Statement } from "./session.ts";

const INSERT_CID = "INSERT INTO message_cids (chat, sender, cid, seq, ts) VALUES (?, ?, ?, ?, ?)";
const CLAIM_FIRST = "INSERT INTO chat_heads (chat, last_seq, claim, pending) VALUES (?, ?, ?, ?) IF NOT EXISTS";
const CLAIM_NEXT = "UPDATE chat_heads SET last_seq = ?, claim = ?, pending = ? WHERE chat = ? IF last_seq = ?";
const SELECT_PENDING = "SELECT pending, claim FROM chat_heads WHERE chat = ?";
const UNCLAIM_FIRST = "DELETE FROM chat_heads WHERE chat = ? IF claim = ?";
const UNCLAIM_NEXT = "UPDATE chat_heads SET last_seq = ?, claim = null, pending = null WHERE chat = ? IF claim = ?";
const SET_INBOX = "UPDATE inbox SET seq = ? WHERE user_id = ? AND chat = ?";
const SELECT_HEAD = "SELECT last_seq FROM chat_heads WHERE chat = ?";
const SELECT_CID = "SELECT seq, ts FROM message_cids WHERE chat = ? AND sender = ? AND cid = ?";
const SELECT_SEQS = "SELECT seq FROM messages WHERE chat = ? AND bucket = ? AND seq IN ?";
const SELECT_INBOX = "SELECT chat, seq FROM inbox WHERE user_id = ?";
const SELECT_FROM = `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE chat = ? AND bucket = ? AND seq >= ? LIMIT ?`;
const SELECT_UP_TO_DESC = `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE chat = ? AND bucket = ? AND seq <= ? ORDER BY seq DESC LIMIT ?`;

/**
 * Messages, idempotency keys, chat heads and inboxes. A chat's seqs are consecutive from 1
 * (AppendBatch's contract), so the bucket after a full one is the only place the next seq can
 * be, and an empty or partly filled bucket is the end of the chat.
 *
 * Two nodes that both believe they own a chat (a ring change) are fenced by the head: an
 * append claims its seqs with a lightweight transaction before writing them, and the loser
 * gets SeqConflictError having written nothing. One Paxos round per batch, not per message.
 */
export class CqlMessageStore implements MessageStore {
  constructor(private readonly session: CqlSession) {}

  async append(batch: AppendBatch): Promise<void> {
    const first = batch.messages[0];
    const last = batch.messages.at(-1);
    const patches = batch.patches ?? [];
    if (!first || !last) {
      if (patches.length > 0) await this.write(await this.prepare(batch.chat, [], patches, []));
      return;
    }
    const prepared = await this.prepare(batch.chat, batch.messages, patches, batch.notify);
    const claim = claimOf(first, last);
    const pending = packPending(prepared);
    const expected = first.seq - 1;
    // The fence: the head moves from the seq before this batch to its last seq only if no other
    // writer moved it first (a Paxos round on the chat's head). Rows are written only after,
    // so a refused writer has written nothing; the batch rides along in `pending` so whoever
    // next reads the head can finish it if this writer dies in between.
    const [row] =
      expected === 0
        ? await this.session.conditional("append", { query: CLAIM_FIRST, params: [batch.chat, last.seq, claim, pending] })
        : await this.session.conditional("append", { query: CLAIM_NEXT, params: [last.seq, claim, pending, batch.chat, expected] });
    if (!row || row.get("[applied]") !== true) {
      // Our own earlier attempt (an unclear failure, retried unchanged) is not a conflict.
      const mine = row && row.get("claim") === claim && optionalNumberColumn(row, "last_seq") === last.seq;
      if (!mine) {
        const at = row ? optionalNumberColumn(row, "last_seq") : undefined;
        throw new SeqConflictError(`${batch.chat} is at seq ${at ?? 0}, not ${expected}`);
      }
    }
    await this.writeClaimed(prepared, claim, expected);
  }

  /**
   * Writes the rows of a claimed batch. When the cluster refuses them for good (a batch over
   * its size limit), the claim is given back, so the chat is not stuck behind seqs that can
   * never be written and the rejection reaches the caller as if nothing happened.
   */
  private async writeClaimed(batch: PendingBatch, claim: string, previousHead: number): Promise<void> {
    try {
      await this.write(batch);
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) {
        await (previousHead === 0
          ? this.session.conditional("append", { query: UNCLAIM_FIRST, params: [batch.chat, claim] })
          : this.session.conditional("append", { query: UNCLAIM_NEXT, params: [previousHead, batch.chat, claim] }));
      }
      throw error;
    }
  }

  /**
   * The batch as rows: patches of messages in the batch folded into their inserts (two writes
   * of one cell in one batch share a timestamp, and Cassandra would then pick by value, not
   * order), patches of messages that are not stored dropped.
   */
  private async prepare(
    chat: string,
    batchMessages: readonly StoredMessage[],
    patches: readonly MessagePatch[],
    notify: readonly string[],
  ): Promise<PendingBatch> {
    const messages = new Map(batchMessages.map((message) => [message.seq, message]));
    const patchesOfStored: MessagePatch[] = [];
    for (const patch of patches) {
      const message = messages.get(patch.seq);
      if (message) messages.set(patch.seq, applyPatch(message, patch));
      else patchesOfStored.push(patch);
    }
    const existing = await this.existingSeqs(chat, patchesOfStored.map((patch) => patch.seq));
    return {
      chat,
      messages: [...messages.values()],
      patches: patchesOfStored.filter((patch) => existing.has(patch.seq)),
      notify: [...notify],
    };
  }

  /** The rows of a batch whose seqs are ours; idempotent, so a repeat is harmless. */
  private async write(batch: PendingBatch): Promise<void> {
    const statements: Statement[] = [];
    for (const message of batch.messages) {
      statements.push(insertMessage(message));
      // Event entries (edits, deletes, reactions) carry no idempotency key.
      if (message.cid !== "") {
        statements.push({ query: INSERT_CID, params: [message.chat, message.from, message.cid, message.seq, message.ts] });
      }
    }
    for (const patch of batch.patches) {
      const statement = patchMessage(batch.chat, patch);
      if (statement) statements.push(statement);
    }
    const last = batch.messages.at(-1);
    if (last) for (const user of batch.notify) statements.push({ query: SET_INBOX, params: [last.seq, user, batch.chat] });
    if (statements.length === 0) return;
    await this.session.loggedBatch("append", statements);
  }

  /**
   * Which of `seqs` are stored. Patches need it because an UPDATE of a missing row creates
   * one; the chat's single writer makes the read-then-write safe.
   */
  private async existingSeqs(chat: string, seqs: readonly number[]): Promise<Set<number>> {
    const found = new Set<number>();
    if (seqs.length === 0) return found;
    const byBucket = new Map<number, number[]>();
    for (const seq of seqs) {
      const bucket = bucketOf(seq);
      byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), seq]);
    }
    await Promise.all(
      [...byBucket].map(async ([bucket, inBucket]) => {
        const rows = await this.session.rows("append", { query: SELECT_SEQS, params: [chat, bucket, inBucket] });
        for (const row of rows) found.add(numberColumn(row, "seq"));
      }),
    );
    return found;
  }

  /**
   * The head, after finishing the batch it names if its writer died between claiming the
   * seqs and writing them (its last row is missing): the log never keeps a hole.
   */
  async lastSeq(chat: string): Promise<number> {
    const head = await this.head(chat, "lastSeq");
    if (head === 0) return 0;
    const stored = await this.existingSeqs(chat, [head]);
    if (stored.has(head)) return head;
    const [row] = await this.session.rows("lastSeq", { query: SELECT_PENDING, params: [chat] });
    const pending = row ? unpackPending(row.get("pending")) : undefined;
    const claim: unknown = row?.get("claim");
    const first = pending?.messages[0];
    if (!pending || !first || pending.messages.at(-1)?.seq !== head || typeof claim !== "string") return head;
    try {
      await this.writeClaimed(pending, claim, first.seq - 1);
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error;
      return first.seq - 1;
    }
    return head;
  }

  private async head(chat: string, operation: string): Promise<number> {
    const [row] = await this.session.rows(operation, { query: SELECT_HEAD, params: [chat] });
    return (row && optionalNumberColumn(row, "last_seq")) ?? 0;
  }

  async findByCid(chat: string, from: string, cid: string): Promise<SendRecord | undefined> {
    const [row] = await this.session.rows("findByCid", { query: SELECT_CID, params: [chat, from, cid] });
    return row ? { seq: numberColumn(row, "seq"), ts: numberColumn(row, "ts") } : undefined;
  }

  async readAfter(chat: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    const messages: StoredMessage[] = [];
    let from = Math.max(1, afterSeq + 1);
    while (messages.length < limit) {
      const bucket = bucketOf(from);
      const wanted = limit - messages.length;
      const rows = await this.session.rows("readAfter", { query: SELECT_FROM, params: [chat, bucket, from, wanted] });
      for (const row of rows) messages.push(messageFromRow(row));
      if (rows.length === wanted) break;
      // Short of the limit: the chat goes on only if this bucket is filled to its last seq.
      if (messages.at(-1)?.seq !== lastSeqOf(bucket)) break;
      from = firstSeqOf(bucket + 1);
    }
    return messages;
  }

  async readBefore(chat: string, beforeSeq: number, limit: number): Promise<StoredMessage[]> {
    if (limit <= 0 || beforeSeq <= 1) return [];
    // Start at the head, not at beforeSeq's bucket: "before" may be far past the last seq
    // (Number.MAX_SAFE_INTEGER means "the latest"), and the buckets in between are empty.
    const top = Math.min(beforeSeq - 1, await this.head(chat, "readBefore"));
    if (top < 1) return [];
    const newestFirst: StoredMessage[] = [];
    for (let bucket = bucketOf(top), upTo = top; bucket >= 0 && newestFirst.length < limit; bucket -= 1) {
      const wanted = limit - newestFirst.length;
      const rows = await this.session.rows("readBefore", { query: SELECT_UP_TO_DESC, params: [chat, bucket, upTo, wanted] });
      for (const row of rows) newestFirst.push(messageFromRow(row));
      upTo = lastSeqOf(bucket - 1);
    }
    return newestFirst.reverse();
  }

  async inbox(user: string): Promise<InboxEntry[]> {
    const rows = await this.session.rows("inbox", { query: SELECT_INBOX, params: [user] });
    return rows.map((row) => ({ chat: textColumn(row, "chat"), seq: numberColumn(row, "seq") }));
  }
}
