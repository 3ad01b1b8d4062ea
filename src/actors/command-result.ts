import type { ErrorCode, ServerFrame } from "../protocol/frames.ts";
import type { ClientLink, ReplyTo } from "../seams.ts";

/** A request refused: the client gets an `err` frame with this code. */
export interface Refusal {
  ok: false;
  code: ErrorCode;
  msg: string;
}

/**
 * What an actor's command handler decided, for the one place that turns it into frames
 * (`answer`). Refusals are values, never thrown: a thrown error is a failure (storage, a bug)
 * that the actor's crash handling answers `unavailable` or `internal`. `reply` is absent when
 * the answer comes later: an edit, like a send, is answered `sent` once it is durable.
 */
export type CommandResult = { ok: true; reply?: ServerFrame } | Refusal;

export const ACCEPTED: CommandResult = Object.freeze({ ok: true });

export function refuse(code: ErrorCode, msg: string): Refusal {
  return { ok: false, code, msg };
}

export function replied(reply: ServerFrame): CommandResult {
  return { ok: true, reply };
}

/** Sends what `result` says to the request's connection (`r` absent: a frame the client does not number). */
export function answer(link: ClientLink, replyTo: Omit<ReplyTo, "r"> & { r?: number }, result: CommandResult): void {
  if (!result.ok) link.send(replyTo.conn, { t: "err", r: replyTo.r, code: result.code, msg: result.msg });
  else if (result.reply) link.send(replyTo.conn, result.reply);
}
