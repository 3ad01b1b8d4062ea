import { isUserId, type ContactsRequestFrame, type ContactsSyncFrame } from "./frames.ts";
import { FieldError, requestId, type FrameParsers, type Fields } from "./validate-fields.ts";

/** Phone numbers per `contacts.sync`: an address book's worth, not a directory's. */
export const MAX_SYNC_PHONES = 5000;
/** Longer strings are not phone numbers (src/accounts/phone.ts refuses them too). */
const MAX_PHONE_LENGTH = 32;
/** User ids per `contacts.add` / `contacts.remove`. */
export const MAX_CONTACTS_PER_FRAME = 1000;

function users(fields: Fields): string[] {
  const value = fields.users;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_CONTACTS_PER_FRAME) {
    throw new FieldError(`\`users\` must be an array of 1-${MAX_CONTACTS_PER_FRAME} user ids`);
  }
  for (const user of value) if (!isUserId(user)) throw new FieldError("`users` holds something that is not a user id");
  return [...new Set(value as string[])];
}

function user(fields: Fields): string {
  if (!isUserId(fields.user)) throw new FieldError("`user` must be a user id");
  return fields.user;
}

/**
 * Phones are only checked to be short strings here: one an address book holds that is not a
 * valid number is simply not found.
 */
function sync(fields: Fields): ContactsSyncFrame {
  const r = requestId(fields);
  const phones = fields.phones;
  if (!Array.isArray(phones) || phones.length === 0 || phones.length > MAX_SYNC_PHONES) {
    throw new FieldError(`\`phones\` must be an array of 1-${MAX_SYNC_PHONES} phone numbers`);
  }
  for (const phone of phones) {
    if (typeof phone !== "string" || phone.length === 0 || phone.length > MAX_PHONE_LENGTH) {
      throw new FieldError(`\`phones\` holds something that is not a phone number (a string of 1-${MAX_PHONE_LENGTH} characters)`);
    }
  }
  return { t: "contacts.sync", r, phones: [...new Set(phones as string[])] };
}

/** Contact discovery, and the user's server-side contact and block lists. */
export const CONTACTS_PARSERS: FrameParsers<ContactsRequestFrame> = {
  "contacts.sync": sync,
  "contacts.add": (fields) => ({ t: "contacts.add", r: requestId(fields), users: users(fields) }),
  "contacts.remove": (fields) => ({ t: "contacts.remove", r: requestId(fields), users: users(fields) }),
  "contacts.list": (fields) => ({ t: "contacts.list", r: requestId(fields) }),
  block: (fields) => ({ t: "block", r: requestId(fields), user: user(fields) }),
  unblock: (fields) => ({ t: "unblock", r: requestId(fields), user: user(fields) }),
  blocks: (fields) => ({ t: "blocks", r: requestId(fields) }),
};
