import type { PresenceStore } from "../presence.ts";
import { numberColumn, textColumn } from "./columns.ts";
import type { CqlSession } from "./session.ts";

// The write time is the last-seen time itself (in µs, as CQL timestamps are), so of two writes
// the later last seen wins whatever order they arrive in: a node handing a user over, a replay
// after an outage, or a retry never moves it backwards.
const SET_LAST_SEEN = "UPDATE last_seen USING TIMESTAMP ? SET ts = ? WHERE user_id = ?";
const SELECT_LAST_SEEN = "SELECT user_id, ts FROM last_seen WHERE user_id = ?";

/** Reads fan out at most this many single-partition queries at once. */
const READ_CONCURRENCY = 32;

/** When each user was last online, one partition per user. The durable half of presence. */
export class CqlLastSeenStore implements PresenceStore {
  constructor(private readonly session: CqlSession) {}

  async setLastSeen(user: string, ts: number): Promise<void> {
    await this.session.execute("setLastSeen", { query: SET_LAST_SEEN, params: [ts * 1000, ts, user] });
  }

  async lastSeen(users: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const unique = [...new Set(users)];
    // One query per user rather than `IN`: each goes straight to its own replicas
    // (token-aware), where a multi-partition IN makes one coordinator gather them all.
    for (let start = 0; start < unique.length; start += READ_CONCURRENCY) {
      const slice = unique.slice(start, start + READ_CONCURRENCY);
      const rows = await Promise.all(
        slice.map((user) => this.session.rows("lastSeen", { query: SELECT_LAST_SEEN, params: [user] })),
      );
      for (const [row] of rows) if (row) out.set(textColumn(row, "user_id"), numberColumn(row, "ts"));
    }
    return out;
  }
}
