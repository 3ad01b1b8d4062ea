import { isUserId, type ContactsRequestFrame } from "./frames.ts";

/** Phone numbers per `contacts.sync`: an address book's worth, not a directory's. */
export const MAX_SYNC_PHONES = 5000;
/** Longer strings are not phone numbers (src/accounts/phone.ts refuses them too). */
const MAX_PHONE_LENGTH = 32;
/** User ids per `contacts.add` / `contacts.remove`. */
export const MAX_CONTACTS_PER_FRAME = 1000;

type Fields = Record<string, unknown>;

function requestId(fields: Fields, fail: (msg: string) => Error): number {
  const r = fields.r;
  if (typeof r !== "number" || !Number.isSafeInteger(r) || r < 0) throw fail("`r` must be an unsigned integer");
  return r;
}

function users(fields: Fields, fail: (msg: string) => Error): string[] {
  const value = fields.users;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_CONTACTS_PER_FRAME) {
    throw fail(`\`users\` must be an array of 1-${MAX_CONTACTS_PER_FRAME} user ids`);
  }
  for (const user of value) if (!isUserId(user)) throw fail("`users` holds something that is not a user id");
  return [...new Set(value as string[])];
}

function user(fields: Fields, fail: (msg: string) => Error): string {
  if (!isUserId(fields.user)) throw fail("`user` must be a user id");
  return fields.user;
}

/**
 * `contacts.*` and `block` / `unblock` / `blocks` frames; `fail` builds the validator's field
 * error so the caller answers `invalid_field`. Phones are only checked to be short strings
 * here: one an address book holds that is not a valid number is simply not found.
 */
export function parseContactsFrame(fields: Fields, fail: (msg: string) => Error): ContactsRequestFrame {
  const r = requestId(fields, fail);
  switch (fields.t) {
    case "contacts.sync": {
      const phones = fields.phones;
      if (!Array.isArray(phones) || phones.length === 0 || phones.length > MAX_SYNC_PHONES) {
        throw fail(`\`phones\` must be an array of 1-${MAX_SYNC_PHONES} phone numbers`);
      }
      for (const phone of phones) {
        if (typeof phone !== "string" || phone.length === 0 || phone.length > MAX_PHONE_LENGTH) {
          throw fail(`\`phones\` holds something that is not a phone number (a string of 1-${MAX_PHONE_LENGTH} characters)`);
        }
      }
      return { t: "contacts.sync", r, phones: [...new Set(phones as string[])] };
    }
    case "contacts.add":
      return { t: "contacts.add", r, users: users(fields, fail) };
    case "contacts.remove":
      return { t: "contacts.remove", r, users: users(fields, fail) };
    case "contacts.list":
      return { t: "contacts.list", r };
    case "block":
      return { t: "block", r, user: user(fields, fail) };
    case "unblock":
      return { t: "unblock", r, user: user(fields, fail) };
    default:
      return { t: "blocks", r };
  }
}
