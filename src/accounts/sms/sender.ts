/** One verification text to send. `text` is what the phone shows; `code` is inside it. */
export interface SmsMessage {
  to: string;
  code: string;
  text: string;
  /** ms since the epoch. */
  expiresAt: number;
}

/** How codes reach phones (src/accounts/sms/open.ts picks one from the config). */
export interface SmsSender {
  readonly kind: string;
  /** Resolves once the provider accepted the message; rejects with SmsError otherwise. */
  send(message: SmsMessage): Promise<void>;
}

export class SmsError extends Error {
  override readonly name = "SmsError";
  constructor(
    message: string,
    /** The provider refused the number itself (not a valid or not a mobile number): the client's fault. */
    readonly badNumber = false,
  ) {
    super(message);
  }
}

/** Outbound requests to SMS providers give up after this long. */
export const SMS_TIMEOUT_MS = 10_000;
