import assert from "node:assert/strict";
import { directChatId } from "../../src/protocol/frames.ts";
import { ResilientDevice } from "./resilient-device.ts";

/**
 * Pairs of resilient devices, each sender sending `perPair` messages one after another to its
 * receiver, whatever the cluster does meanwhile. A test waits for milestones to inject faults,
 * then `verify()` checks that every message was answered with the next seq, and arrived once
 * and in order.
 */
export class PairTraffic {
  readonly senders: ResilientDevice[];
  readonly receivers: ResilientDevice[];
  private readonly answered: number[][];
  private sentSoFar = 0;
  private waiting: Array<{ count: number; resolve: () => void }> = [];
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly name: string,
    private readonly pairs: number,
    readonly perPair: number,
    liveUrls: () => string[],
  ) {
    this.senders = Array.from({ length: pairs }, (_, i) => new ResilientDevice(`${name}s${i}`, liveUrls));
    this.receivers = Array.from({ length: pairs }, (_, i) => new ResilientDevice(`${name}r${i}`, liveUrls));
    this.answered = Array.from({ length: pairs }, () => []);
  }

  get total(): number {
    return this.pairs * this.perPair;
  }

  async start(): Promise<void> {
    await Promise.all(this.devices().map((device) => device.connect()));
    this.running = Promise.all(
      this.senders.map(async (sender, i) => {
        for (let n = 0; n < this.perPair; n += 1) {
          this.answered[i]!.push(await sender.send(this.receivers[i]!.user, `m${n}`, `c${n}`));
          this.sentSoFar += 1;
          for (const waiter of this.waiting.filter((w) => this.sentSoFar >= w.count)) waiter.resolve();
          this.waiting = this.waiting.filter((w) => this.sentSoFar < w.count);
        }
      }),
    );
  }

  /** Resolves once this many messages (of all pairs) were answered `sent`. */
  milestone(count: number): Promise<void> {
    if (this.sentSoFar >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ count, resolve }));
  }

  chatOf(pair: number): string {
    return directChatId(this.senders[pair]!.user, this.receivers[pair]!.user);
  }

  /** Waits for the senders, then checks every pair; the assertion messages say what broke. */
  async verify(timeoutMs = 30_000): Promise<void> {
    await this.running;
    for (let i = 0; i < this.pairs; i += 1) {
      const expectedSeqs = Array.from({ length: this.perPair }, (_, n) => n + 1);
      assert.deepEqual(this.answered[i], expectedSeqs, `${this.name} pair ${i}: one seq per message, in the order sent`);
      const received = await this.receivers[i]!.awaitMessages(this.chatOf(i), this.perPair, timeoutMs);
      const expectedBodies = Array.from({ length: this.perPair }, (_, n) => `m${n}`);
      assert.deepEqual(received.map((m) => m.body), expectedBodies, `${this.name} pair ${i}: delivered once each, in order`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.devices().map((device) => device.close()));
  }

  private devices(): ResilientDevice[] {
    return [...this.senders, ...this.receivers];
  }
}
