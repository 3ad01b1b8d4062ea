/**
 * Status updates (stories): the storage seam. A status is one record in its poster's
 * partition, carrying its own audience, so posting costs one write whatever the audience's
 * size (docs/design.md, "Status"). Views are one record each, in the status's partition.
 *
 * Writers: any node may post, view or delete (the StatusService of the node holding the
 * device's socket), so every write here is idempotent and commutative on its own: a status
 * id is unique (server-made), a view is a set-add keyed by viewer, a removal is final.
 */
import type { Body, MediaRef } from "../protocol/frames.ts";

/**
 * Who may see a status. Today only an explicit list (`allow` minus `deny`); once contacts
 * exist, `{ type: "contacts", deny }` joins this union, and stored lists keep their meaning.
 */
export type StatusAudience = { type: "list"; allow: string[]; deny: string[] };

export type StatusKind = "text" | "image" | "video" | "cipher";

export interface StoredStatus {
  poster: string;
  /** Server-made; sorts by post time (newest last), then random. */
  id: string;
  kind: StatusKind;
  body?: Body;
  media?: MediaRef;
  caption?: Body;
  audience: StatusAudience;
  /** Server time of the post and of its expiry, ms since the epoch. */
  ts: number;
  expiresAt: number;
}

export interface StatusView {
  user: string;
  ts: number;
}

/** What the sweep needs of an expired status: which record, and the media it references. */
export interface ExpiredStatus {
  poster: string;
  id: string;
  expiresAt: number;
  mediaId?: string;
}

export interface StatusStore {
  /** One status, durable before it resolves. */
  post(status: StoredStatus): Promise<void>;
  /** The poster's statuses unexpired at `now`, newest first. */
  live(poster: string, now: number): Promise<StoredStatus[]>;
  /** One status, unless it is gone or expired at `now`. */
  get(poster: string, id: string, now: number): Promise<StoredStatus | undefined>;
  /** Removes the status and its views; idempotent. */
  remove(poster: string, id: string): Promise<void>;
  /** Records that `viewer` saw the status; false when they had already (the first view's time stays). */
  view(poster: string, id: string, viewer: string, ts: number, expiresAt: number): Promise<boolean>;
  /** The status's viewers in user id order after `after`, at most `limit`, and how many there are. */
  viewers(poster: string, id: string, after: string | undefined, limit: number): Promise<{ views: StatusView[]; count: number }>;
  /** Which of `ids` (of one poster) `viewer` has seen. */
  seen(poster: string, ids: readonly string[], viewer: string): Promise<Set<string>>;
  /** Statuses whose expiry is at or before `now` and that were not removed, oldest first, at most `limit`. */
  expired(now: number, limit: number): Promise<ExpiredStatus[]>;
}

/** Whether `user` is in the status's audience (the poster always is). */
export function inAudience(status: StoredStatus, user: string): boolean {
  if (user === status.poster) return true;
  const audience = status.audience;
  return audience.allow.includes(user) && !audience.deny.includes(user);
}
