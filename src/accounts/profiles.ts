/**
 * `profile.set` / `profile.get`. Profiles are written field by field by the store (no
 * read-modify-write), so any node may serve them without the user's actor.
 *
 * Photo: the media id of an object the user uploaded (POST /media). Whoever may see the
 * profile may download it: MediaAccess asks `photoVisible` when the asker is neither the
 * uploader nor a member of a chat carrying the object. Changing the photo (or the `profile`
 * setting) takes that access away again.
 */
import type { ProfileFrame, ProfileRequestFrame, ServerFrame } from "../protocol/frames.ts";
import type { BlockStore, ContactStore } from "../storage/contacts.ts";
import type { PrivacySettings, PrivacyStore } from "../storage/privacy.ts";
import type { ProfileChanges, ProfileStore } from "../storage/profiles.ts";
import type { MediaStore } from "../storage/media.ts";

export interface ProfileDeps {
  profiles: ProfileStore;
  privacy: PrivacyStore;
  contacts: Pick<ContactStore, "has">;
  blocks: Pick<BlockStore, "has">;
  media: Pick<MediaStore, "info">;
}

export class ProfileService {
  constructor(private readonly deps: ProfileDeps) {}

  async handle(user: string, frame: ProfileRequestFrame): Promise<ServerFrame> {
    if (frame.t === "profile.get") return this.view(frame.r, user, frame.user);
    if (frame.photo) {
      const info = await this.deps.media.info(frame.photo);
      // One answer for "no such object" and "not yours": ids of others' media stay unconfirmed.
      if (!info || info.uploader !== user) return { t: "err", r: frame.r, code: "invalid_field", msg: "`photo` must be the id of media you uploaded" };
    }
    const changes: ProfileChanges = {};
    if (frame.name !== undefined) changes.name = frame.name;
    if (frame.about !== undefined) changes.about = frame.about;
    if (frame.photo !== undefined) changes.photo = frame.photo;
    const profile = await this.deps.profiles.update(user, changes);
    return { t: "profile", r: frame.r, user, ...profile };
  }

  /** What `viewer` may see of `owner`'s profile: all of it, or only the user id. */
  private async view(r: number, viewer: string, owner: string): Promise<ProfileFrame> {
    const [settings, profile] = await Promise.all([this.deps.privacy.settings(owner), this.deps.profiles.profile(owner)]);
    if (!(await this.mayView(viewer, owner, settings.profile))) return { t: "profile", r, user: owner };
    return { t: "profile", r, user: owner, ...profile };
  }

  /** Whether `id` is `owner`'s current profile photo and `viewer` may see that profile. */
  async photoVisible(viewer: string, owner: string, id: string): Promise<boolean> {
    const [settings, profile] = await Promise.all([this.deps.privacy.settings(owner), this.deps.profiles.profile(owner)]);
    return profile.photo === id && (await this.mayView(viewer, owner, settings.profile));
  }

  /**
   * The owner always; nobody else under `nobody`; never a user the owner blocked (as presence);
   * otherwise everyone, or under `contacts` those in the owner's contact list.
   */
  private async mayView(viewer: string, owner: string, audience: PrivacySettings["profile"]): Promise<boolean> {
    if (viewer === owner) return true;
    if (audience === "nobody") return false;
    if (await this.deps.blocks.has(owner, viewer)) return false;
    return audience === "everyone" || (await this.deps.contacts.has(owner, viewer));
  }
}
