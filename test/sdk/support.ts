import { ChatClient, type ChatClientOptions } from "../../sdk/chat-client.ts";
import type { MessageFrame } from "../../sdk/frames.ts";
import { tokenFor } from "../support/node.ts";

/** Rejects when `promise` has not settled within `ms` (generous: the machine is shared). */
export function within<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Waits until `condition` holds, looking again every few milliseconds, up to a generous deadline. */
export async function until(condition: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A ChatClient for `user` whose tokens come from the tests' secret, and what it received. */
export function chatClient(url: string, user: string, options: Partial<ChatClientOptions> = {}): { client: ChatClient; messages: MessageFrame[]; readies: () => number } {
  const client = new ChatClient({
    url,
    token: () => tokenFor(user),
    // Quick retries: the tests wait on a node that comes back within seconds.
    backoff: { initialDelayMs: 100, maxDelayMs: 2_000 },
    requestTimeoutMs: 30_000,
    ...options,
  });
  const messages: MessageFrame[] = [];
  let readies = 0;
  client.on("message", (message) => messages.push(message));
  client.on("ready", () => (readies += 1));
  return { client, messages, readies: () => readies };
}
