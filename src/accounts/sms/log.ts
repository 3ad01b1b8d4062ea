import { maskPhone } from "../phone.ts";
import type { Logger } from "../../util/logger.ts";
import type { SmsMessage, SmsSender } from "./sender.ts";

/**
 * Development only: the code goes to the node's log at warn level, where anyone who reads the
 * log can sign in as anyone. The one place a code is ever logged; never for production.
 */
export class LogSmsSender implements SmsSender {
  readonly kind = "log";

  constructor(private readonly log: Logger) {
    log.warn("sms sender log: verification codes are written to the log; never use it in production");
  }

  async send(message: SmsMessage): Promise<void> {
    this.log.warn({ phone: maskPhone(message.to), to: message.to, code: message.code }, "verification code (log sms sender, development only)");
  }
}
