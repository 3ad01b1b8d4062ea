import { postSignedJson } from "../../push/webhook.ts";
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
    const status = await postSignedJson(this.options.url, this.options.secret, body, this.options.timeoutMs ?? SMS_TIMEOUT_MS);
    // 422: the receiver says the number cannot take texts.
    if (status === 422) throw new SmsError("sms webhook refused the number", true);
    if (status < 200 || status >= 300) throw new SmsError(`sms webhook answered ${status}`);
  }
}
