/**
 * Phone numbers as E.164: `+`, a country code and the subscriber number, 15 digits at most,
 * the first not 0. Clients send what the user typed or the address book holds; spaces, dots,
 * dashes and brackets are dropped and a leading international `00` becomes `+`. Numbers
 * without a country code are refused rather than guessed: the client knows the user's country.
 */
const SEPARATORS = /[\s().\-\u00a0]/g;
const E164 = /^\+[1-9][0-9]{6,14}$/;
/** Longer input is not a phone number, whatever it normalises to. */
const MAX_INPUT_LENGTH = 32;

export function normalisePhone(input: unknown): string | undefined {
  if (typeof input !== "string" || input.length > MAX_INPUT_LENGTH) return undefined;
  let phone = input.replace(SEPARATORS, "");
  if (phone.startsWith("00")) phone = `+${phone.slice(2)}`;
  return E164.test(phone) ? phone : undefined;
}

/** For logs: enough to tell numbers apart while debugging, not enough to call one. */
export function maskPhone(phone: string): string {
  return `${phone.slice(0, 3)}…${phone.slice(-2)}`;
}
