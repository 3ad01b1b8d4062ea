import type { ConversationKit, ConversationState, NewEntry } from "./conversation-kit.ts";
import type { MessagePatch } from "../storage/messages.ts";
import { ACCEPTED, refuse, type CommandResult } from "./command-result.ts";
import type { MessageOperation } from "./messages.ts";

/**
 * Edit, delete for everyone, and react. Each is an entry in the chat's order (so members,
 * offline ones included, apply it in order) plus a patch of the message it names, written
 * in the same batch. A delete empties the stored body; edit entries never hold a body of
 * their own, so no copy of deleted text remains.
 */
export async function handleMessageOperation(
  kit: ConversationKit,
  state: ConversationState,
  chat: string,
  request: MessageOperation,
): Promise<CommandResult> {
  const { operation, user, replyTo } = request;
  if (!state.members.includes(user)) return refuse("forbidden", "not a member of this chat");
  // Checked before the target is looked up: whether it exists or was deleted is history
  // from before the member joined, which they are promised not to see.
  if (operation.seq < (state.group?.joined[user] ?? 1)) return refuse("forbidden", "that message is from before you joined");
  if (!state.writer.writable) return refuse("unavailable", "storage is not taking writes for this chat; retry");
  const target = await kit.message(state, chat, operation.seq);
  if (!target || target.kind === "system") return refuse("not_found", `no message ${operation.seq} in this chat`);
  if (target.deleted) return refuse("conflict", "that message was deleted");
  const now = kit.deps.clock.now();
  const limits = kit.deps.limits;

  let entry: NewEntry;
  let patch: MessagePatch;
  let liveBody: NewEntry["body"] | undefined;
  switch (operation.t) {
    case "edit":
      if (target.from !== user) return refuse("forbidden", "only the sender may edit a message");
      if (now - target.ts > limits.editWindowMs) return refuse("too_late", "the edit window of this message has passed");
      entry = { from: user, body: "", kind: "edit", cid: "", target: target.seq };
      patch = { seq: target.seq, body: operation.body, edited: now };
      liveBody = operation.body;
      break;
    case "delete":
      if (target.from !== user) return refuse("forbidden", "only the sender may delete a message for everyone");
      if (now - target.ts > limits.deleteWindowMs) return refuse("too_late", "the delete window of this message has passed");
      entry = { from: user, body: "", kind: "delete", cid: "", target: target.seq };
      patch = { seq: target.seq, body: "", deleted: true };
      break;
    case "react": {
      const reactions = { ...target.reactions };
      if (operation.emoji === "") delete reactions[user];
      else reactions[user] = operation.emoji;
      entry = { from: user, body: "", kind: "react", cid: "", target: target.seq, emoji: operation.emoji };
      patch = { seq: target.seq, reactions };
      break;
    }
  }
  // Answered `sent` once durable, like a send; its `seq` is the event's own position.
  kit.accept(state, chat, entry, { device: request.device, waiters: [replyTo], patches: [patch], liveBody });
  return ACCEPTED;
}
