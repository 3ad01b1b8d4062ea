/**
 * Profiles: a display name, an about text and a photo (a media id the user uploaded). Written
 * field by field (`update`), so two devices changing different fields at once both land
 * without a read-modify-write; who may see them is the owner's `profile` privacy setting.
 */

export interface Profile {
  name?: string;
  about?: string;
  /** A media id (src/media/): readable by whoever may see the profile. */
  photo?: string;
}

/** A change: a field given as "" is cleared, a field absent is left as it is. */
export type ProfileChanges = Partial<Record<keyof Profile, string>>;

export interface ProfileStore {
  /** An empty profile for a user who never set one. */
  profile(user: string): Promise<Profile>;
  /** Applies the changes and resolves with the profile as it now is. */
  update(user: string, changes: ProfileChanges): Promise<Profile>;
  /** Account deletion: the profile goes with the user. */
  deleteProfile(user: string): Promise<void>;
}

/** The profile with cleared ("") and unset fields left out. */
export function compactProfile(profile: Profile): Profile {
  const out: Profile = {};
  if (profile.name) out.name = profile.name;
  if (profile.about) out.about = profile.about;
  if (profile.photo) out.photo = profile.photo;
  return out;
}
