import { compactProfile, type Profile, type ProfileChanges, type ProfileStore } from "../profiles.ts";
import { optionalTextColumn } from "./columns.ts";
import type { CqlSession } from "./session.ts";

const SELECT_PROFILE = "SELECT name, about, photo FROM profiles WHERE user_id = ?";
const DELETE_PROFILE = "DELETE FROM profiles WHERE user_id = ?";
const COLUMNS = { name: "name", about: "about", photo: "photo" } as const;

/** Profiles, one row per user; each field is its own column, so updates need no read first. */
export class CqlProfileStore implements ProfileStore {
  constructor(private readonly session: CqlSession) {}

  async profile(user: string): Promise<Profile> {
    const [row] = await this.session.rows("profile.get", { query: SELECT_PROFILE, params: [user] });
    if (!row) return {};
    return compactProfile({ name: optionalTextColumn(row, "name"), about: optionalTextColumn(row, "about"), photo: optionalTextColumn(row, "photo") });
  }

  async update(user: string, changes: ProfileChanges): Promise<Profile> {
    const fields = (Object.keys(COLUMNS) as Array<keyof typeof COLUMNS>).filter((field) => changes[field] !== undefined);
    if (fields.length > 0) {
      // "" clears: stored as null (a tombstone), read back as absent.
      const query = `UPDATE profiles SET ${fields.map((field) => `${COLUMNS[field]} = ?`).join(", ")} WHERE user_id = ?`;
      await this.session.execute("profile.update", { query, params: [...fields.map((field) => changes[field] || null), user] });
    }
    return this.profile(user);
  }

  async deleteProfile(user: string): Promise<void> {
    await this.session.execute("profile.delete", { query: DELETE_PROFILE, params: [user] });
  }
}
