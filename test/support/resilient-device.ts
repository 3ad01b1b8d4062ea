import type { MessageFrame } from "../../src/protocol/frames.ts";
import { RouterClient } from "../../sdk/client.ts";
import { tokenFor } from "./node.ts";

/**
 * A device that keeps going whatever the cluster does: it reconnects to a live node when its
 * socket closes, and resends every message without an answer under its original cid. This is
 * the client behaviour docs/protocol.md asks for.
 */
export class ResilientDevice {
  client: RouterClient | undefined;
  readonly received = new Map<string, MessageFrame>();
  private reconnecting: Promise<void> | undefined;

  constructor(
    readonly user: string,
    private readonly liveUrls: () => string[],
  ) {}

  async connect(): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      const urls = this.liveUrls();
      const url = urls[(attempt + this.user.length) % urls.length]!;
      try {
        const client = await RouterClient.connect({ url, token: await tokenFor(this.user) });
        this.client = client;
        this.collect(client);
        void client.waitForClose().then(() => {
          if (this.client === client) this.client = undefined;
        });
        return;
      } catch {
        if (attempt > 50) throw new Error(`${this.user} could not reconnect`);
      }
    }
  }

  private collect(client: RouterClient): void {
    const take = (frame: MessageFrame) => this.received.set(`${frame.chat}/${frame.seq}`, frame);
    for (const message of client.messages) take(message);
    const original = client.messages.push.bind(client.messages);
    client.messages.push = (...frames: MessageFrame[]) => {
      for (const frame of frames) take(frame);
      return original(...frames);
    };
  }

  private async live(): Promise<RouterClient> {
    while (!this.client || this.client.closed) {
      this.reconnecting ??= this.connect().finally(() => (this.reconnecting = undefined));
      await this.reconnecting;
    }
    return this.client;
  }

  /** Sends until the router answers `sent`, across reconnects, with one cid. */
  async send(to: string, body: string, cid: string): Promise<number> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const client = await this.live();
      try {
        return (await client.send(to, body, { cid })).seq;
      } catch {
        // Closed, unavailable or timed out: the same cid again can only land once.
      }
    }
    throw new Error(`${this.user}: ${cid} never answered`);
  }

  /** Waits until `count` messages of `chat` arrived, reconnecting if the socket closed meanwhile. */
  async awaitMessages(chat: string, count: number, timeoutMs = 20_000): Promise<MessageFrame[]> {
    const deadline = Date.now() + timeoutMs;
    const mine = () => [...this.received.values()].filter((m) => m.chat === chat).sort((a, b) => a.seq - b.seq);
    while (mine().length < count && Date.now() < deadline) {
      if (!this.client || this.client.closed) await this.connect();
      else await this.client.waitForMessages(count, chat, 2000).catch(() => undefined);
    }
    return mine();
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }
}

