import type { FrameHandlers, ReadyFrame } from "../session-context.ts";
import { ACCOUNT_HANDLERS } from "./accounts.ts";
import { CALL_HANDLERS } from "./calls.ts";
import { CONTACTS_HANDLERS } from "./contacts.ts";
import { GROUP_HANDLERS } from "./groups.ts";
import { KEYS_HANDLERS } from "./keys.ts";
import { MESSAGING_HANDLERS } from "./messaging.ts";
import { PUSH_HANDLERS } from "./push.ts";
import { SESSION_HANDLERS } from "./session.ts";
import { STATUS_HANDLERS } from "./status.ts";

/**
 * The handler of every frame type after hello, each family named once. Typed over the whole
 * union: a frame type without a handler, or a family left out here, does not compile.
 */
export const FRAME_HANDLERS: FrameHandlers<ReadyFrame> = {
  ...SESSION_HANDLERS,
  ...MESSAGING_HANDLERS,
  ...GROUP_HANDLERS,
  ...ACCOUNT_HANDLERS,
  ...CONTACTS_HANDLERS,
  ...KEYS_HANDLERS,
  ...PUSH_HANDLERS,
  ...CALL_HANDLERS,
  ...STATUS_HANDLERS,
};
