import type { CursorStore, CursorWrite } from "../cursors.ts";
import { numberColumn, textColumn } from "./columns.ts";
import type { CqlSession } from "./session.ts";

const SET_CURSOR = "UPDATE device_cursors SET seq = ? WHERE user_id = ? AND device = ? AND chat = ?";
const SELECT_CURSORS = "SELECT chat, seq FROM device_cursors WHERE user_id = ? AND device = ?";

/** One partition per (user, device), one row per chat it has acked. */
export class CqlCursorStore implements CursorStore {
  constructor(private readonly session: CqlSession) {}

  async cursors(user: string, device: string): Promise<Map<string, number>> {
    const rows = await this.session.rows("cursors", { query: SELECT_CURSORS, params: [user, device] });
    return new Map(rows.map((row) => [textColumn(row, "chat"), numberColumn(row, "seq")]));
  }

  async setCursor(user: string, device: string, chat: string, seq: number): Promise<void> {
    // The user's single writer only passes higher seqs, so a plain overwrite is "advance".
    await this.session.execute("setCursor", { query: SET_CURSOR, params: [seq, user, device, chat] });
  }

  async setCursors(writes: readonly CursorWrite[]): Promise<void> {
    // Rows of many partitions: concurrent single writes, not a batch (a multi-partition batch
    // costs the coordinator more than it saves).
    await Promise.all(writes.map(({ user, device, chat, seq }) => this.session.execute("setCursor", { query: SET_CURSOR, params: [seq, user, device, chat] })));
  }
}
