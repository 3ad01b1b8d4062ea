import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decode, encode } from "@msgpack/msgpack";
import WebSocket from "ws";
import { encodeFrame } from "../../src/protocol/codec.ts";
import { TestNode, tokenFor } from "../support/node.ts";

/** A client written against another MessagePack library, as a Swift or Kotlin app would be. */
class ForeignClient {
  readonly frames: Record<string, unknown>[] = [];
  private listeners: Array<() => void> = [];
  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      // @msgpack/msgpack rejects unknown extension types: any msgpackr-only encoding fails here.
      this.frames.push(decode(data) as Record<string, unknown>);
      for (const listener of this.listeners) listener();
    });
  }
  static async open(url: string): Promise<ForeignClient> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    return new ForeignClient(socket);
  }
  send(frame: Record<string, unknown>): void {
    this.socket.send(encode(frame));
  }
  async waitFor(predicate: (f: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      await new Promise<void>((resolve) => this.listeners.push(resolve));
    }
  }
  close(): void {
    this.socket.close();
  }
}

describe("wire format", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  it("is standard MessagePack both ways", async () => {
    const alice = await ForeignClient.open(node.url);
    alice.send({ t: "hello", r: 1, token: await tokenFor("alice"), device: "ios" });
    const welcome = await alice.waitFor((f) => f.t === "welcome");
    assert.deepEqual(Object.keys(welcome).sort(), ["device", "node", "r", "t", "ts", "user"]);
    assert.equal(welcome.user, "alice");
    await alice.waitFor((f) => f.t === "synced");

    const bob = await ForeignClient.open(node.url);
    bob.send({ t: "hello", r: 1, token: await tokenFor("bob") });
    await bob.waitFor((f) => f.t === "synced");

    alice.send({ t: "send", r: 2, cid: "x1", to: "bob", body: new Uint8Array([9, 8, 7]), kind: "cipher" });
    const sent = await alice.waitFor((f) => f.t === "sent");
    assert.equal(sent.seq, 1);
    // No `reply` key at all when there is none: absent, not nil and not an extension.
    const msg = await bob.waitFor((f) => f.t === "msg");
    assert.deepEqual(new Uint8Array(msg.body as Uint8Array), new Uint8Array([9, 8, 7]));
    assert.equal("reply" in msg, false);
    alice.close();
    bob.close();
  });

  it("encodes optional fields by omitting them", () => {
    const bytes = encodeFrame({ t: "err", r: undefined, code: "bad_frame", msg: "x" });
    assert.deepEqual(decode(bytes), { t: "err", code: "bad_frame", msg: "x" });
  });
});
