import { SMS_TIMEOUT_MS, SmsError, type SmsMessage, type SmsSender } from "./sender.ts";

export interface TwilioOptions {
  /** https://api.twilio.com, or a local server that checks requests as Twilio does. */
  url: string;
  accountSid: string;
  authToken: string;
  from: string;
  messagingServiceSid: string;
  timeoutMs?: number;
}

/**
 * Twilio error codes that mean the number itself cannot take this text (invalid "To", not a
 * mobile number, unreachable region): the client's fault, answered 400, not 502.
 * https://www.twilio.com/docs/api/errors
 */
const BAD_NUMBER_CODES: ReadonlySet<number> = new Set([21211, 21214, 21408, 21610, 21612, 21614]);

/**
 * Twilio's Messages API: `POST {url}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form
 * encoded `To`, `From` (or `MessagingServiceSid`) and `Body`, with HTTP Basic auth
 * AccountSid:AuthToken. Twilio answers 201 with the message resource.
 */
export class TwilioSmsSender implements SmsSender {
  readonly kind = "twilio";
  private readonly endpoint: string;
  private readonly authorization: string;

  constructor(private readonly options: TwilioOptions) {
    this.endpoint = `${options.url.replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
    this.authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString("base64")}`;
  }

  async send(message: SmsMessage): Promise<void> {
    const form = new URLSearchParams({ To: message.to, Body: message.text });
    if (this.options.messagingServiceSid) form.set("MessagingServiceSid", this.options.messagingServiceSid);
    else form.set("From", this.options.from);
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: { authorization: this.authorization, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: form.toString(),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? SMS_TIMEOUT_MS),
    });
    const text = await response.text();
    if (response.ok) return;
    // Only Twilio's numeric code is kept: its message repeats the phone number.
    let code: number | undefined;
    try {
      const parsed = JSON.parse(text) as { code?: unknown };
      if (typeof parsed.code === "number") code = parsed.code;
    } catch {
      // not JSON: the status says enough
    }
    throw new SmsError(`twilio answered ${response.status}${code === undefined ? "" : ` (error ${code})`}`, code !== undefined && BAD_NUMBER_CODES.has(code));
  }
}
