import type { SignupConfig, SmsSenderKind } from "../../config/signup.ts";
import type { Logger } from "../../util/logger.ts";
import { LogSmsSender } from "./log.ts";
import type { SmsSender } from "./sender.ts";
import { TwilioSmsSender } from "./twilio.ts";
import { WebhookSmsSender } from "./webhook.ts";

/** The configured sender; `kind` comes from validateSignupConfig, so its settings are complete. */
export function openSmsSender(kind: SmsSenderKind, config: SignupConfig, log: Logger): SmsSender {
  switch (kind) {
    case "log":
      return new LogSmsSender(log);
    case "webhook":
      return new WebhookSmsSender(config.webhook);
    case "twilio":
      return new TwilioSmsSender(config.twilio);
  }
}
