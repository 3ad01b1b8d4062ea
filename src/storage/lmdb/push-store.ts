import type { Database, RootDatabase } from "lmdb";
import { StorageUnavailableError } from "../errors.ts";
import type { PushDnd, PushRegistration, PushRegistrationStore, PushSettings } from "../push.ts";

const STRING_MAX = "\uffff";

type RegistrationValue = Omit<PushRegistration, "user" | "device">;

/** Push registrations, mutes and quiet hours in the node's LMDB environment. */
export class LmdbPushStore implements PushRegistrationStore {
  private readonly registrationsDb: Database<RegistrationValue, [string, string]>;
  private readonly mutesDb: Database<number, [string, string]>;
  private readonly dndDb: Database<PushDnd, string>;

  constructor(private readonly root: RootDatabase) {
    this.registrationsDb = root.openDB({ name: "push-registrations" });
    this.mutesDb = root.openDB({ name: "push-mutes" });
    this.dndDb = root.openDB({ name: "push-dnd" });
  }

  private async write(operation: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      throw new StorageUnavailableError(`lmdb ${operation} failed`, { cause: error });
    }
  }

  register(registration: PushRegistration): Promise<void> {
    const { user, device, ...value } = registration;
    return this.write("push.register", () => this.registrationsDb.put([user, device], value));
  }

  unregister(user: string, device: string): Promise<void> {
    return this.write("push.unregister", () => this.registrationsDb.remove([user, device]));
  }

  async removeIfToken(user: string, device: string, token: string): Promise<boolean> {
    let removed = false;
    await this.write("push.removeIfToken", () =>
      this.root.transaction(() => {
        const current = this.registrationsDb.get([user, device]);
        if (current?.token !== token) return;
        this.registrationsDb.remove([user, device]);
        removed = true;
      }),
    );
    return removed;
  }

  async registrations(user: string): Promise<PushRegistration[]> {
    const out: PushRegistration[] = [];
    for (const { key, value } of this.registrationsDb.getRange({ start: [user, ""], end: [user, STRING_MAX] })) {
      out.push({ user, device: key[1], ...value });
    }
    return out;
  }

  async settings(user: string): Promise<PushSettings> {
    const mutes = new Map<string, number>();
    for (const { key, value } of this.mutesDb.getRange({ start: [user, ""], end: [user, STRING_MAX] })) mutes.set(key[1], value);
    return { mutes, dnd: this.dndDb.get(user) };
  }

  setMute(user: string, chat: string, until: number): Promise<void> {
    return this.write("push.mute", () => (until > Date.now() ? this.mutesDb.put([user, chat], until) : this.mutesDb.remove([user, chat])));
  }

  setDnd(user: string, dnd: PushDnd | undefined): Promise<void> {
    return this.write("push.dnd", () => (dnd ? this.dndDb.put(user, dnd) : this.dndDb.remove(user)));
  }
}
