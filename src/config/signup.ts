import { ConfigError } from "./error.ts";

/** Sign-up by phone number and refresh tokens (README "Configuration", docs/protocol.md "Sign-up"). */
export interface SignupConfig {
  /**
   * How codes reach phones: `log` (development only: the code goes to the node's log),
   * `webhook`, `twilio`, or empty: sign-up is off and `/v1/verify/*` answer 404.
   */
  sender: string;
  /** A code is good for this long. */
  codeTtlMs: number;
  /** Tries one code allows; after them the code is dead. */
  codeAttempts: number;
  /** Codes sent to one phone per window. */
  startsPerPhone: number;
  startWindowMs: number;
  /** Sign-up and refresh requests one source address may make per window. */
  requestsPerAddress: number;
  addressWindowMs: number;
  /** Lifetime of the access tokens sign-up and refresh hand out. */
  accessTokenTtlSeconds: number;
  /** A refresh token unused this long expires; each use starts the period again. */
  refreshTokenTtlSeconds: number;
  webhook: {
    url: string;
    /** HMAC-SHA256 key for the x-router-signature header, as for push webhooks. */
    secret: string;
  };
  twilio: {
    /** https://api.twilio.com; a local server in tests. */
    url: string;
    accountSid: string;
    authToken: string;
    /** The sending number (E.164), or... */
    from: string;
    /** ...a Messaging Service that picks one. */
    messagingServiceSid: string;
  };
}

export const SMS_SENDERS = ["log", "webhook", "twilio"] as const;
export type SmsSenderKind = (typeof SMS_SENDERS)[number];

export function defaultSignupConfig(): SignupConfig {
  return {
    sender: "",
    codeTtlMs: 10 * 60_000,
    codeAttempts: 5,
    startsPerPhone: 3,
    startWindowMs: 10 * 60_000,
    // Generous: many phones share one address behind a carrier's NAT.
    requestsPerAddress: 100,
    addressWindowMs: 10 * 60_000,
    accessTokenTtlSeconds: 24 * 3600,
    refreshTokenTtlSeconds: 60 * 24 * 3600,
    webhook: { url: "", secret: "" },
    twilio: { url: "https://api.twilio.com", accountSid: "", authToken: "", from: "", messagingServiceSid: "" },
  };
}

/** The sender a config selects, or undefined when sign-up is off; ConfigError for what cannot work. */
export function validateSignupConfig(signup: SignupConfig): SmsSenderKind | undefined {
  const positive: Array<[string, number]> = [
    ["codeTtlMs", signup.codeTtlMs],
    ["codeAttempts", signup.codeAttempts],
    ["startsPerPhone", signup.startsPerPhone],
    ["startWindowMs", signup.startWindowMs],
    ["requestsPerAddress", signup.requestsPerAddress],
    ["addressWindowMs", signup.addressWindowMs],
    ["accessTokenTtlSeconds", signup.accessTokenTtlSeconds],
    ["refreshTokenTtlSeconds", signup.refreshTokenTtlSeconds],
  ];
  for (const [key, value] of positive) {
    if (!(Number.isInteger(value) && value >= 1)) throw new ConfigError(`signup.${key} must be a whole number of at least 1`);
  }
  if (signup.sender === "") return undefined;
  if (!(SMS_SENDERS as readonly string[]).includes(signup.sender)) {
    throw new ConfigError(`unknown SMS sender ${JSON.stringify(signup.sender)}: ${SMS_SENDERS.join(", ")}, or empty for sign-up off`);
  }
  const sender = signup.sender as SmsSenderKind;
  if (sender === "webhook" && !(signup.webhook.url && signup.webhook.secret)) {
    throw new ConfigError("the webhook SMS sender needs ROUTER_SMS_WEBHOOK_URL and ROUTER_SMS_WEBHOOK_SECRET");
  }
  if (sender === "webhook" || sender === "twilio") {
    const url = sender === "webhook" ? signup.webhook.url : signup.twilio.url;
    if (!/^https?:\/\//.test(url) || !URL.canParse(url)) throw new ConfigError(`the ${sender} SMS sender's URL must be http(s)://, got ${JSON.stringify(url)}`);
  }
  if (sender === "twilio") {
    const { accountSid, authToken, from, messagingServiceSid } = signup.twilio;
    if (!accountSid || !authToken) throw new ConfigError("the twilio SMS sender needs ROUTER_SMS_TWILIO_ACCOUNT_SID and ROUTER_SMS_TWILIO_AUTH_TOKEN");
    if (!/^[A-Za-z0-9]+$/.test(accountSid)) throw new ConfigError("ROUTER_SMS_TWILIO_ACCOUNT_SID must be letters and digits (AC...)");
    if (!from && !messagingServiceSid) {
      throw new ConfigError("the twilio SMS sender needs ROUTER_SMS_TWILIO_FROM or ROUTER_SMS_TWILIO_MESSAGING_SERVICE_SID");
    }
  }
  return sender;
}
