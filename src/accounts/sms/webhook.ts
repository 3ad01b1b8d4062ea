import { SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignature } from "../../push/webhook.ts";
import { SMS_TIMEOUT_MS, SmsError, type SmsMessage, type SmsSender } from "./sender.ts";

/**
 * POSTs `{to, code, text, expires_at}` as JSON to one operator-configured URL, signed as push
 * webhooks are: `x-router-timestamp` and `x-router-signature: v1=<hex HMAC-SHA256 of "timestamp.body">`.
 * Any 2xx is success; the receiver sends the text through whatever gateway it likes.
 */
export class WebhookSmsSender implements SmsSender {
  readonly kind = "webhook";

  constructor(private readonly options: { url: string; secret: string; timeoutMs?: number }) {}

  async send(message: SmsMessage): Promise<void> {
    const body = JSON.stringify({ to: message.to, code: message.code, text: message.text, expires_at: message.expiresAt });
    const timestamp = String(Date.now());
    const response = await fetch(this.options.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: webhookSignature(this.options.secret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? SMS_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    // 422: the receiver says the number cannot take texts.
    if (response.status === 422) throw new SmsError("sms webhook refused the number", true);
    if (!response.ok) throw new SmsError(`sms webhook answered ${response.status}`);
  }
}
