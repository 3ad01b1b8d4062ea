import { directChatMembers, isGroupChat, type ErrorCode, type MediaRef } from "../protocol/frames.ts";
import type { GroupStore } from "../storage/groups.ts";
import type { MediaInfo, MediaStore } from "../storage/media.ts";

export type MediaDecision = { ok: true; info: MediaInfo } | { ok: false; code: Extract<ErrorCode, "not_found" | "forbidden" | "invalid_field">; msg: string };

/**
 * Who may touch an object: its uploader, and the current members of any chat carrying it.
 * Group membership is read when asked, so a removed member loses access to the group's media.
 */
export class MediaAccess {
  /** Who may read a status's media (its live audience): set once the status service exists. */
  statusReader?: (user: string, chat: string) => Promise<boolean>;

  constructor(
    readonly store: MediaStore,
    private readonly groups: GroupStore,
    /** Profile photos: readable by whoever may see the uploader's profile (src/accounts/profiles.ts). */
    private readonly profilePhotos?: { photoVisible(viewer: string, owner: string, id: string): Promise<boolean> },
  ) {}

  async canRead(user: string, id: string): Promise<MediaDecision> {
    const info = await this.store.info(id);
    if (!info) return { ok: false, code: "not_found", msg: "no such media" };
    if (info.uploader === user) return { ok: true, info };
    for (const chat of await this.store.chatsOf(id)) {
      if (await this.isMember(user, chat)) return { ok: true, info };
    }
    if (await this.profilePhotos?.photoVisible(user, info.uploader, id)) return { ok: true, info };
    return { ok: false, code: "forbidden", msg: "not a member of a chat that carries this media" };
  }

  /**
   * Called by the chat's writer before it accepts a media message: the link is durable
   * before the message is, so no stored message ever names media its members cannot fetch.
   * Only someone who can already read the object may put it in a chat (upload or forward):
   * knowing an id is not enough.
   */
  async attach(chat: string, from: string, ref: MediaRef): Promise<MediaDecision> {
    const decision = await this.canRead(from, ref.id);
    if (!decision.ok) return decision;
    if (decision.info.size !== ref.size || decision.info.sha256 !== ref.sha256) {
      return { ok: false, code: "invalid_field", msg: "`media` size or sha256 differ from the uploaded object" };
    }
    await this.store.link(chat, ref.id);
    return decision;
  }

  private async isMember(user: string, chat: string): Promise<boolean> {
    if (isGroupChat(chat)) return (await this.groups.get(chat))?.members.includes(user) ?? false;
    if (chat.startsWith("s:")) return (await this.statusReader?.(user, chat)) ?? false;
    return directChatMembers(chat)?.includes(user) ?? false;
  }
}
