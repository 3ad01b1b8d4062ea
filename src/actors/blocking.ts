import type { BlockStore } from "../storage/contacts.ts";
import type { StoredMessage } from "../storage/messages.ts";
import type { Stores } from "../storage/stores.ts";
import type { BlockNotice } from "./messages.ts";

/**
 * The kind of the entry a withheld message leaves in the chat's log: its position, its
 * sender and its cid, never its body. Not a kind a client can send (client kinds start with
 * a letter); members are handed a `skip` of its position.
 */
export const WITHHELD_KIND = "#withheld";

export function isWithheld(entry: StoredMessage): boolean {
  return entry.kind === WITHHELD_KIND;
}

/** What a chat does with an entry before it takes its place. */
export type AcceptVerdict = "accept" | "withhold";

/**
 * Blocking in one direct chat: whose sends the chat withholds, because the other member
 * blocked them. The chat's actor asks `beforeAccept` of every new entry (a hook: the writer
 * never names blocking otherwise).
 *
 * Read from the store when the chat's actor starts and kept current by the blocker's
 * UserActor, which tells the chat (wherever it runs) after each block or unblock is stored.
 * Rather than a store read per send: a send then costs nothing more, and the notice arrives
 * through the same routing every message of the chat takes. A chat that starts after the
 * write reads it; one running gets the notice, queued behind whatever it is doing.
 *
 * Why a placeholder rather than nothing: the blocked sender must get a `sent` with a seq
 * (anything else tells them they are blocked), and a seq handed out must never be handed out
 * again, or their client (which deduplicates by chat and seq) would drop the real message
 * that later takes it. So the withheld message takes the next seq like any other, but its
 * entry holds no body and only its sender hears of it live; the blocker is handed a `skip`
 * of that position when they next receive something of the chat (docs/protocol.md).
 */
export class DirectChatBlocks {
  /** Members whose entries are withheld from the other member. */
  private readonly withheld = new Set<string>();

  async load(stores: Pick<Stores, "blocks">, members: readonly string[]): Promise<void> {
    if (members.length !== 2) return;
    const [a, b] = members as [string, string];
    const [aBlocksB, bBlocksA] = await Promise.all([stores.blocks.has(a, b), stores.blocks.has(b, a)]);
    if (aBlocksB) this.withheld.add(b);
    if (bBlocksA) this.withheld.add(a);
  }

  apply(notice: BlockNotice, members: readonly string[]): void {
    if (notice.by === notice.user || !members.includes(notice.by) || !members.includes(notice.user)) return;
    if (notice.on) this.withheld.add(notice.user);
    else this.withheld.delete(notice.user);
  }

  beforeAccept(from: string): AcceptVerdict {
    return this.withheld.has(from) ? "withhold" : "accept";
  }
}

/** The entry a withheld one leaves in the log. */
export function withheldEntry(message: StoredMessage): StoredMessage {
  return { chat: message.chat, seq: message.seq, ts: message.ts, from: message.from, body: "", kind: WITHHELD_KIND, cid: message.cid };
}

/**
 * The status hook (src/status/service.ts) answered from the posters' block lists: a poster
 * who blocked the viewer is hidden from them, whatever the status's audience says. `also`:
 * further reasons a node was given (tests). Read from the store, as presence and group adds
 * read it: statuses are served by whichever node holds the viewer's socket.
 */
export function hideFromBlocked(
  blocks: Pick<BlockStore, "holders">,
  also: { hiddenFrom(posters: readonly string[], viewer: string): Promise<Set<string>> | Set<string> },
): { hiddenFrom(posters: readonly string[], viewer: string): Promise<Set<string>> } {
  return {
    async hiddenFrom(posters, viewer) {
      const [blocked, other] = await Promise.all([blocks.holders(posters, viewer), also.hiddenFrom(posters, viewer)]);
      for (const poster of other) blocked.add(poster);
      return blocked;
    },
  };
}
