/**
 * Push notifications: each device's push address and each user's mutes and quiet hours.
 * Used by src/push/; implementations: lmdb/push-store.ts, cql/push-store.ts.
 */

export type PushPlatform = "apns" | "fcm" | "webhook";

/** One device's push address. A device has at most one; registering again replaces it. */
export interface PushRegistration {
  user: string;
  device: string;
  platform: PushPlatform;
  token: string;
  updatedAt: number;
}

/**
 * Quiet hours as minutes of the day (0-1440) in `tz`, an IANA zone (UTC when absent): quiet
 * when start <= now < end, wrapping midnight when start > end.
 */
export interface PushDnd {
  start: number;
  end: number;
  tz?: string;
}

export interface PushSettings {
  /** chat → muted until (ms since the epoch). */
  mutes: Map<string, number>;
  dnd?: PushDnd;
}

/** Written from any node's sessions; each key is one (user, device) or (user, chat), so last write wins. */
export interface PushRegistrationStore {
  register(registration: PushRegistration): Promise<void>;
  unregister(user: string, device: string): Promise<void>;
  /**
   * Removes the registration only while it still holds `token`: a provider's "unregistered"
   * answer about an old token must not remove the one the device registered since.
   */
  removeIfToken(user: string, device: string, token: string): Promise<boolean>;
  registrations(user: string): Promise<PushRegistration[]>;
  settings(user: string): Promise<PushSettings>;
  /** `until` 0 (or in the past) unmutes. */
  setMute(user: string, chat: string, until: number): Promise<void>;
  /** Undefined clears the do-not-disturb window. */
  setDnd(user: string, dnd: PushDnd | undefined): Promise<void>;
}
