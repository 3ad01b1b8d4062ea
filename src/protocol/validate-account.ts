import {
  CHATS_MAX_LIMIT,
  MAX_CHATS_CURSOR_LENGTH,
  MEDIA_ID_PATTERN,
  type AccountDeleteFrame,
  type ChatsRequestFrame,
  type PrivacyAudience,
  type PrivacyRequestFrame,
  type ProfileRequestFrame,
} from "./frames.ts";
import { absent, FieldError, optionalSeq, optionalText, requestId, userId, type FrameParsers, type Fields } from "./validate-fields.ts";

/** Longest profile name and about text (`profile.set`), in characters. */
export const MAX_PROFILE_NAME_LENGTH = 64;
export const MAX_PROFILE_ABOUT_LENGTH = 140;

export type AccountFrame = PrivacyRequestFrame | ProfileRequestFrame | AccountDeleteFrame | ChatsRequestFrame;

/** An optional profile text: "" clears the field; otherwise 1-maxLength characters without control characters. */
function profileText(fields: Fields, name: string, maxLength: number): string | undefined {
  if (fields[name] === "") return "";
  // eslint-disable-next-line no-control-regex
  return optionalText(fields, name, maxLength, /^[^\u0000-\u001f\u007f]*$/u);
}

function optionalAudience(fields: Fields, name: string): PrivacyAudience | undefined {
  const value = fields[name];
  if (absent(value)) return undefined;
  if (value === "everyone" || value === "contacts" || value === "nobody") return value;
  throw new FieldError(`\`${name}\` must be "everyone", "contacts" or "nobody"`);
}

function chats(fields: Fields): ChatsRequestFrame {
  const limit = optionalSeq(fields, "limit");
  if (limit !== undefined && (limit < 1 || limit > CHATS_MAX_LIMIT)) throw new FieldError(`\`limit\` must be 1-${CHATS_MAX_LIMIT}`);
  return { t: "chats", r: requestId(fields), after: optionalText(fields, "after", MAX_CHATS_CURSOR_LENGTH), limit };
}

/** What a user keeps about themselves: privacy settings, profile, chat list, the account itself. */
export const ACCOUNT_PARSERS: FrameParsers<AccountFrame> = {
  "privacy.set": (fields) => ({
    t: "privacy.set",
    r: requestId(fields),
    last_seen: optionalAudience(fields, "last_seen"),
    online: optionalAudience(fields, "online"),
    groups: optionalAudience(fields, "groups"),
    profile: optionalAudience(fields, "profile"),
  }),
  "privacy.get": (fields) => ({ t: "privacy.get", r: requestId(fields) }),
  "profile.set": (fields) => ({
    t: "profile.set",
    r: requestId(fields),
    name: profileText(fields, "name", MAX_PROFILE_NAME_LENGTH),
    about: profileText(fields, "about", MAX_PROFILE_ABOUT_LENGTH),
    photo: fields.photo === "" ? "" : optionalText(fields, "photo", 32, MEDIA_ID_PATTERN),
  }),
  "profile.get": (fields) => ({ t: "profile.get", r: requestId(fields), user: userId(fields, "user") }),
  "account.delete": (fields) => ({ t: "account.delete", r: requestId(fields) }),
  chats,
};
