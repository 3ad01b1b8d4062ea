import type { UserSetStore } from "../contacts.ts";
import { textColumn } from "./columns.ts";
import type { CqlSession } from "./session.ts";

/** Writes and reads fan out at most this many single-row queries at once. */
const CONCURRENCY = 32;

async function inSlices<T, R>(items: readonly T[], each: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let start = 0; start < items.length; start += CONCURRENCY) {
    out.push(...(await Promise.all(items.slice(start, start + CONCURRENCY).map(each))));
  }
  return out;
}

/**
 * One owner's set of user ids as one partition of `table` (user_contacts, user_blocks). The
 * owner's UserActor is the only writer, so the size read before an add cannot race another add.
 */
export class CqlUserSetStore implements UserSetStore {
  private readonly insert: string;
  private readonly remove_: string;
  private readonly select: string;
  private readonly selectOne: string;

  constructor(
    private readonly session: CqlSession,
    private readonly table: "user_contacts" | "user_blocks",
  ) {
    this.insert = `INSERT INTO ${table} (owner, user_id, added_at) VALUES (?, ?, ?)`;
    this.remove_ = `DELETE FROM ${table} WHERE owner = ? AND user_id = ?`;
    this.select = `SELECT user_id FROM ${table} WHERE owner = ?`;
    this.selectOne = `SELECT user_id FROM ${table} WHERE owner = ? AND user_id = ?`;
  }

  async add(owner: string, users: readonly string[], max: number): Promise<{ added: boolean; size: number }> {
    const held = new Set(await this.list(owner));
    const fresh = [...new Set(users)].filter((user) => !held.has(user));
    if (held.size + fresh.length > max) return { added: false, size: held.size };
    const now = Date.now();
    await inSlices(fresh, (user) => this.session.execute(`${this.table}.add`, { query: this.insert, params: [owner, user, now] }));
    return { added: true, size: held.size + fresh.length };
  }

  async remove(owner: string, users: readonly string[]): Promise<number> {
    await inSlices([...new Set(users)], (user) => this.session.execute(`${this.table}.remove`, { query: this.remove_, params: [owner, user] }));
    return (await this.list(owner)).length;
  }

  async list(owner: string): Promise<string[]> {
    const rows = await this.session.rows(`${this.table}.list`, { query: this.select, params: [owner] });
    return rows.map((row) => textColumn(row, "user_id"));
  }

  async has(owner: string, user: string): Promise<boolean> {
    const rows = await this.session.rows(`${this.table}.has`, { query: this.selectOne, params: [owner, user] });
    return rows.length > 0;
  }

  async holders(owners: readonly string[], user: string): Promise<Set<string>> {
    const unique = [...new Set(owners)];
    const found = await inSlices(unique, (owner) => this.has(owner, user));
    return new Set(unique.filter((_, i) => found[i]));
  }
}
