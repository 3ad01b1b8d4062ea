import { StorageUnavailableError } from "../errors.ts";
import type { PushDnd, PushPlatform, PushRegistration, PushRegistrationStore, PushSettings } from "../push.ts";
import { numberColumn, optionalNumberColumn, optionalTextColumn, textColumn } from "./columns.ts";
import type { CqlSession } from "./session.ts";

// Every write of a registration is a lightweight transaction. removeIfToken must be one (it
// compares), and a plain write next to it would carry the client's clock while the delete
// carries Paxos's: a registration written just after the delete could be shadowed by it.
const UPDATE_REGISTRATION =
  "UPDATE push_registrations SET platform = ?, push_token = ?, updated_at = ? WHERE user_id = ? AND device = ? IF EXISTS";
const INSERT_REGISTRATION =
  "INSERT INTO push_registrations (user_id, device, platform, push_token, updated_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS";
const DELETE_REGISTRATION = "DELETE FROM push_registrations WHERE user_id = ? AND device = ? IF EXISTS";
const DELETE_IF_TOKEN = "DELETE FROM push_registrations WHERE user_id = ? AND device = ? IF push_token = ?";
const SELECT_REGISTRATIONS = "SELECT device, platform, push_token, updated_at FROM push_registrations WHERE user_id = ?";

const SET_MUTE = "INSERT INTO push_settings (user_id, chat, muted_until) VALUES (?, ?, ?) USING TTL ?";
const DELETE_MUTE = "DELETE FROM push_settings WHERE user_id = ? AND chat = ?";
const SET_DND = "UPDATE push_settings SET dnd_start = ?, dnd_end = ?, dnd_tz = ? WHERE user_id = ?";
const DELETE_DND = "DELETE dnd_start, dnd_end, dnd_tz FROM push_settings WHERE user_id = ?";
const SELECT_SETTINGS = "SELECT chat, muted_until, dnd_start, dnd_end, dnd_tz FROM push_settings WHERE user_id = ?";

const PLATFORMS: ReadonlySet<string> = new Set<PushPlatform>(["apns", "fcm", "webhook"]);

/**
 * A mute ending within this long expires from the table on its own, an hour after it ended
 * (slack for the database's clock running ahead of the node's); a longer one ("always") is kept
 * without a TTL, as a TTL that far out overflows some servers' expiry times.
 */
const MUTE_TTL_MAX_SECONDS = 366 * 24 * 3600;
const MUTE_TTL_SLACK_SECONDS = 3600;
const NO_TTL = 0;

/** A registration write that keeps losing to another one of the same device: give up. */
const MAX_REGISTER_ATTEMPTS = 5;

/** Push registrations, mutes and quiet hours: one partition per user for each. */
export class CqlPushRegistrationStore implements PushRegistrationStore {
  constructor(private readonly session: CqlSession) {}

  async register(registration: PushRegistration): Promise<void> {
    const { user, device, platform, token, updatedAt } = registration;
    // No LWT writes unconditionally: overwrite a registration that is there, else create one.
    for (let attempt = 0; attempt < MAX_REGISTER_ATTEMPTS; attempt += 1) {
      const [updated] = await this.session.conditional("push.register", {
        query: UPDATE_REGISTRATION,
        params: [platform, token, updatedAt, user, device],
      });
      if (updated?.get("[applied]") === true) return;
      const [inserted] = await this.session.conditional("push.register", {
        query: INSERT_REGISTRATION,
        params: [user, device, platform, token, updatedAt],
      });
      if (inserted?.get("[applied]") === true) return;
    }
    throw new StorageUnavailableError(`cql push.register for ${user}/${device} kept racing another write`);
  }

  async unregister(user: string, device: string): Promise<void> {
    await this.session.conditional("push.unregister", { query: DELETE_REGISTRATION, params: [user, device] });
  }

  async removeIfToken(user: string, device: string, token: string): Promise<boolean> {
    const [row] = await this.session.conditional("push.removeIfToken", { query: DELETE_IF_TOKEN, params: [user, device, token] });
    return row?.get("[applied]") === true;
  }

  async registrations(user: string): Promise<PushRegistration[]> {
    const rows = await this.session.rows("push.registrations", { query: SELECT_REGISTRATIONS, params: [user] });
    return rows.map((row) => {
      const platform = textColumn(row, "platform");
      if (!PLATFORMS.has(platform)) throw new TypeError(`cql push_registrations holds an unknown platform: ${platform}`);
      return {
        user,
        device: textColumn(row, "device"),
        platform: platform as PushPlatform,
        token: textColumn(row, "push_token"),
        updatedAt: numberColumn(row, "updated_at"),
      };
    });
  }

  async settings(user: string): Promise<PushSettings> {
    const rows = await this.session.rows("push.settings", { query: SELECT_SETTINGS, params: [user] });
    const mutes = new Map<string, number>();
    let dnd: PushDnd | undefined;
    for (const row of rows) {
      // A partition with quiet hours and no mutes reads as one row with chat null.
      const chat = optionalTextColumn(row, "chat");
      const until = optionalNumberColumn(row, "muted_until");
      if (chat !== undefined && until !== undefined) mutes.set(chat, until);
      const start = optionalNumberColumn(row, "dnd_start");
      const end = optionalNumberColumn(row, "dnd_end");
      if (dnd === undefined && start !== undefined && end !== undefined) {
        const tz = optionalTextColumn(row, "dnd_tz");
        dnd = tz ? { start, end, tz } : { start, end };
      }
    }
    return { mutes, dnd };
  }

  async setMute(user: string, chat: string, until: number): Promise<void> {
    const left = until - Date.now();
    if (left <= 0) {
      await this.session.execute("push.mute", { query: DELETE_MUTE, params: [user, chat] });
      return;
    }
    const ttl = Math.ceil(left / 1000) + MUTE_TTL_SLACK_SECONDS;
    await this.session.execute("push.mute", { query: SET_MUTE, params: [user, chat, until, ttl <= MUTE_TTL_MAX_SECONDS ? ttl : NO_TTL] });
  }

  async setDnd(user: string, dnd: PushDnd | undefined): Promise<void> {
    if (dnd) await this.session.execute("push.dnd", { query: SET_DND, params: [dnd.start, dnd.end, dnd.tz ?? "", user] });
    else await this.session.execute("push.dnd", { query: DELETE_DND, params: [user] });
  }
}
