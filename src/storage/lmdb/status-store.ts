import type { Database, RootDatabase } from "lmdb";
import { StorageUnavailableError } from "../errors.ts";
import type { ExpiredStatus, StatusStore, StatusView, StoredStatus } from "../status.ts";

const STRING_MAX = "\uffff";

type StatusValue = Omit<StoredStatus, "poster" | "id">;

async function write(operation: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    throw new StorageUnavailableError(`lmdb ${operation} failed`, { cause: error });
  }
}

/**
 * Statuses in the node's LMDB environment: one record per status, one per view, and an
 * expiry index ([expiresAt, poster, id]) the sweep reads from its start instead of scanning.
 */
export class LmdbStatusStore implements StatusStore {
  private readonly statuses: Database<StatusValue, [string, string]>;
  private readonly views: Database<number, [string, string, string]>;
  private readonly expiry: Database<string | null, [number, string, string]>;

  constructor(private readonly root: RootDatabase) {
    this.statuses = root.openDB({ name: "statuses" });
    this.views = root.openDB({ name: "status-views" });
    this.expiry = root.openDB({ name: "status-expiry" });
  }

  post(status: StoredStatus): Promise<void> {
    const { poster, id, ...value } = status;
    return write("status.post", () =>
      this.root.transaction(() => {
        this.statuses.put([poster, id], value);
        this.expiry.put([status.expiresAt, poster, id], status.media?.id ?? null);
      }),
    );
  }

  async live(poster: string, now: number): Promise<StoredStatus[]> {
    const out: StoredStatus[] = [];
    for (const { key, value } of this.statuses.getRange({ start: [poster, STRING_MAX], end: [poster, ""], reverse: true })) {
      if (value.expiresAt > now) out.push({ poster, id: key[1], ...value });
    }
    return out;
  }

  async get(poster: string, id: string, now: number): Promise<StoredStatus | undefined> {
    const value = this.statuses.get([poster, id]);
    return value && value.expiresAt > now ? { poster, id, ...value } : undefined;
  }

  remove(poster: string, id: string): Promise<void> {
    return write("status.remove", () =>
      this.root.transaction(() => {
        const value = this.statuses.get([poster, id]);
        if (value) this.expiry.remove([value.expiresAt, poster, id]);
        this.statuses.remove([poster, id]);
        for (const key of this.views.getKeys({ start: [poster, id, ""], end: [poster, id, STRING_MAX] })) this.views.remove(key);
      }),
    );
  }

  async view(poster: string, id: string, viewer: string, ts: number): Promise<boolean> {
    let first = false;
    await write("status.view", () =>
      this.root.transaction(() => {
        if (this.views.get([poster, id, viewer]) !== undefined) return;
        this.views.put([poster, id, viewer], ts);
        first = true;
      }),
    );
    return first;
  }

  async viewers(poster: string, id: string, after: string | undefined, limit: number): Promise<{ views: StatusView[]; count: number }> {
    const views: StatusView[] = [];
    let count = 0;
    for (const { key, value } of this.views.getRange({ start: [poster, id, ""], end: [poster, id, STRING_MAX] })) {
      count += 1;
      if (views.length < limit && (after === undefined || key[2] > after)) views.push({ user: key[2], ts: value });
    }
    return { views, count };
  }

  async seen(poster: string, ids: readonly string[], viewer: string): Promise<Set<string>> {
    return new Set(ids.filter((id) => this.views.get([poster, id, viewer]) !== undefined));
  }

  async expired(now: number, limit: number): Promise<ExpiredStatus[]> {
    const out: ExpiredStatus[] = [];
    for (const { key, value } of this.expiry.getRange({ start: [0, "", ""], end: [now, STRING_MAX, STRING_MAX], limit })) {
      out.push({ expiresAt: key[0], poster: key[1], id: key[2], ...(value ? { mediaId: value } : {}) });
    }
    return out;
  }
}
