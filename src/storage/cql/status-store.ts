import { decodeValue, encodeValue } from "../../protocol/codec.ts";
import { blobParam, bytesColumn, numberColumn, optionalTextColumn, textColumn } from "./columns.ts";
import type { CqlSession, Row } from "./session.ts";
import type { ExpiredStatus, StatusStore, StatusView, StoredStatus } from "../status.ts";

const INSERT_STATUS = "INSERT INTO statuses (poster, id, expires_at, data) VALUES (?, ?, ?, ?) USING TTL ?";
const INSERT_EXPIRY = "INSERT INTO status_expiry (bucket, expires_at, poster, id, media_id) VALUES (?, ?, ?, ?, ?) USING TTL ?";
const SELECT_LIVE = "SELECT id, expires_at, data FROM statuses WHERE poster = ? AND id > ?";
const SELECT_ONE = "SELECT id, expires_at, data FROM statuses WHERE poster = ? AND id = ?";
const DELETE_STATUS = "DELETE FROM statuses WHERE poster = ? AND id = ?";
const DELETE_VIEWS = "DELETE FROM status_views WHERE poster = ? AND id = ?";
const DELETE_EXPIRY = "DELETE FROM status_expiry WHERE bucket = ? AND expires_at = ? AND poster = ? AND id = ?";
const INSERT_VIEW = "INSERT INTO status_views (poster, id, viewer, ts) VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?";
const SELECT_VIEWERS = "SELECT viewer, ts FROM status_views WHERE poster = ? AND id = ? AND viewer > ? LIMIT ?";
const COUNT_VIEWERS = "SELECT COUNT(*) AS n FROM status_views WHERE poster = ? AND id = ?";
const SELECT_VIEW = "SELECT viewer FROM status_views WHERE poster = ? AND id = ? AND viewer = ?";
const SELECT_EXPIRED = "SELECT expires_at, poster, id, media_id FROM status_expiry WHERE bucket = ? AND expires_at <= ? LIMIT ?";

/** Expiry index partitions: one per hour of expiry. */
const BUCKET_MS = 60 * 60 * 1000;
/** Rows outlive their expiry by this much, for the sweep to find (then the TTL drops them). */
const GRACE_SECONDS = 7 * 24 * 60 * 60;
/** The sweep's first look goes back as far as an unswept row can live. */
const LOOKBACK_MS = GRACE_SECONDS * 1000;
const READ_CONCURRENCY = 32;

type StatusData = Omit<StoredStatus, "poster" | "id">;

function ttlSeconds(expiresAt: number): number {
  return Math.max(1, Math.ceil((expiresAt - Date.now()) / 1000)) + GRACE_SECONDS;
}

function fromRow(poster: string, row: Row): StoredStatus {
  const data = decodeValue(bytesColumn(row, "data")) as StatusData;
  return { ...data, poster, id: textColumn(row, "id"), expiresAt: numberColumn(row, "expires_at") };
}

/**
 * Statuses on the cluster's CQL store: a poster's partition holds their statuses, a status's
 * partition its views, and an hourly expiry index feeds the sweep.
 */
export class CqlStatusStore implements StatusStore {
  /** Expiry buckets before this one were read empty after their hour had passed: nothing can land there again. */
  private emptyBefore: number | undefined;

  constructor(private readonly session: CqlSession) {}

  async post(status: StoredStatus): Promise<void> {
    const { poster, id, ...data } = status;
    const ttl = ttlSeconds(status.expiresAt);
    // Two partitions; the expiry row first, so a status the sweep cannot find never exists.
    await this.session.execute("status.expiry", {
      query: INSERT_EXPIRY,
      params: [Math.floor(status.expiresAt / BUCKET_MS), status.expiresAt, poster, id, status.media?.id ?? null, ttl],
    });
    await this.session.execute("status.post", { query: INSERT_STATUS, params: [poster, id, status.expiresAt, blobParam(encodeValue(data)), ttl] });
  }

  async live(poster: string, now: number): Promise<StoredStatus[]> {
    const rows = await this.session.rows("status.live", { query: SELECT_LIVE, params: [poster, ""] });
    return rows.map((row) => fromRow(poster, row)).filter((status) => status.expiresAt > now);
  }

  async get(poster: string, id: string, now: number): Promise<StoredStatus | undefined> {
    const [row] = await this.session.rows("status.get", { query: SELECT_ONE, params: [poster, id] });
    const status = row ? fromRow(poster, row) : undefined;
    return status && status.expiresAt > now ? status : undefined;
  }

  async remove(poster: string, id: string): Promise<void> {
    const [row] = await this.session.rows("status.get", { query: SELECT_ONE, params: [poster, id] });
    await this.session.execute("status.views.delete", { query: DELETE_VIEWS, params: [poster, id] });
    await this.session.execute("status.delete", { query: DELETE_STATUS, params: [poster, id] });
    if (row) {
      const expiresAt = numberColumn(row, "expires_at");
      await this.session.execute("status.expiry.delete", { query: DELETE_EXPIRY, params: [Math.floor(expiresAt / BUCKET_MS), expiresAt, poster, id] });
    }
  }

  async view(poster: string, id: string, viewer: string, ts: number, expiresAt: number): Promise<boolean> {
    const [row] = await this.session.conditional("status.view", { query: INSERT_VIEW, params: [poster, id, viewer, ts, ttlSeconds(expiresAt)] });
    return row?.get("[applied]") === true;
  }

  async viewers(poster: string, id: string, after: string | undefined, limit: number): Promise<{ views: StatusView[]; count: number }> {
    const rows = limit > 0 ? await this.session.rows("status.viewers", { query: SELECT_VIEWERS, params: [poster, id, after ?? "", limit] }) : [];
    const [counted] = await this.session.rows("status.viewers.count", { query: COUNT_VIEWERS, params: [poster, id] });
    return {
      views: rows.map((row) => ({ user: textColumn(row, "viewer"), ts: numberColumn(row, "ts") })),
      count: counted ? numberColumn(counted, "n") : 0,
    };
  }

  async seen(poster: string, ids: readonly string[], viewer: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (let start = 0; start < ids.length; start += READ_CONCURRENCY) {
      const slice = ids.slice(start, start + READ_CONCURRENCY);
      const found = await Promise.all(slice.map((id) => this.session.rows("status.seen", { query: SELECT_VIEW, params: [poster, id, viewer] })));
      slice.forEach((id, i) => {
        if (found[i]!.length > 0) out.add(id);
      });
    }
    return out;
  }

  async expired(now: number, limit: number): Promise<ExpiredStatus[]> {
    const out: ExpiredStatus[] = [];
    const last = Math.floor(now / BUCKET_MS);
    let bucket = this.emptyBefore ?? Math.floor((now - LOOKBACK_MS) / BUCKET_MS);
    let allEmpty = true;
    for (; bucket <= last && out.length < limit; bucket++) {
      const rows = await this.session.rows("status.expired", { query: SELECT_EXPIRED, params: [bucket, now, limit - out.length] });
      for (const row of rows) {
        const mediaId = optionalTextColumn(row, "media_id");
        out.push({ expiresAt: numberColumn(row, "expires_at"), poster: textColumn(row, "poster"), id: textColumn(row, "id"), ...(mediaId ? { mediaId } : {}) });
      }
      // A passed hour read empty stays empty: new statuses expire in the future.
      if (allEmpty && rows.length === 0 && (bucket + 1) * BUCKET_MS <= now) this.emptyBefore = bucket + 1;
      else allEmpty = false;
    }
    return out;
  }
}
