import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CLOSE_CODES, type ErrorFrame } from "../../src/protocol/frames.ts";
import { RouterClient } from "../../sdk/client.ts";
import { TestNode, tokenFor } from "../support/node.ts";

function isErr(f: { t: string }): f is ErrorFrame {
  return f.t === "err";
}

describe("bad input", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start({
      config: (c) => {
        // Long enough for a busy machine to answer a hello; short enough to wait for in a test.
        c.limits.helloTimeoutMs = 1500;
      },
    });
  });
  after(async () => {
    await node.stop();
  });

  it("answers unknown types and missing or mistyped fields with err and keeps the connection", async () => {
    const client = await node.connect("mallory");
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ t: "teleport", r: 11 }, "unknown_type"],
      [{ t: "send", r: 12, cid: "x", to: "bob", body: 42 }, "invalid_field"],
      [{ t: "send", r: 13, cid: "x", body: "no recipient" }, "invalid_field"],
      [{ t: "send", r: 14, cid: "", to: "bob", body: "empty cid" }, "invalid_field"],
      [{ t: "send", r: 15, cid: "x", to: "not a user!", body: "x" }, "invalid_field"],
      [{ t: "send", r: 16, cid: "x", to: "bob", body: "x", kind: "system" }, "invalid_field"],
      [{ t: "history", r: 17, chat: "d:bob:mallory", limit: -1 }, "invalid_field"],
      [{ t: "ack", r: 18, chat: "d:bob:mallory", seq: "1" }, "invalid_field"],
      [{ t: "hello", r: 19, token: "again" }, "already_authenticated"],
      [{ t: "history", r: 20, chat: "d:alice:bob" }, "forbidden"],
    ];
    for (const [frame, code] of cases) {
      client.sendRaw(frame);
      const err = await client.waitFor<ErrorFrame>((f) => isErr(f) && f.r === frame.r);
      assert.equal(err.code, code, JSON.stringify(frame));
    }
    // Not a map, no `t`, a text frame: errors without `r`, still connected.
    client.sendRaw([1, 2, 3]);
    client.sendRaw({ r: 30 });
    client.sendBytes("a text frame");
    const before = client.frames.length;
    await client.waitFor((f) => isErr(f) && f.code === "bad_frame" && f.r === 30);
    const pong = await client.request({ t: "ping" });
    assert.equal(pong.t, "pong");
    assert.ok(client.frames.slice(before).filter((f) => isErr(f) && f.code === "bad_frame").length >= 1);
    assert.equal(client.closed, undefined);
    await client.close();
  });

  it("closes with 1007 on bytes that are not MessagePack, and the node carries on", async () => {
    const client = await node.connect("garbage");
    client.sendBytes(new Uint8Array([0xc1, 0xc1, 0xc1]));
    const closed = await client.waitForClose();
    assert.equal(closed.code, CLOSE_CODES.unsupported_data);
    const other = await node.connect("fine");
    assert.equal((await other.request({ t: "ping" })).t, "pong");
    await other.close();
  });

  it("closes with 1009 on a frame over the size limit", async () => {
    const client = await node.connect("big");
    client.sendRaw({ t: "send", r: 1, cid: "big", to: "bob", body: new Uint8Array(65 * 1024) });
    const closed = await client.waitForClose();
    assert.equal(closed.code, CLOSE_CODES.too_large);
  });

  it("requires hello first, refuses bad tokens, and times out a silent connection", async () => {
    // Tokens are signed before the sockets open, so the hello timeout only measures the server.
    const [otherSecretToken, phoneToken] = [await tokenFor("alice", undefined, "some-other-secret"), await tokenFor("alice", "phone")];
    const noHello = await RouterClient.open(node.url);
    noHello.sendRaw({ t: "ping", r: 1 });
    assert.equal((await noHello.waitFor<ErrorFrame>(isErr)).code, "hello_required");

    const forged = await RouterClient.open(node.url);
    forged.sendRaw({ t: "hello", r: 1, token: otherSecretToken });
    assert.equal((await forged.waitFor<ErrorFrame>(isErr)).code, "unauthorized");
    assert.equal((await forged.waitForClose()).code, CLOSE_CODES.unauthorized);

    const junk = await RouterClient.open(node.url);
    junk.sendRaw({ t: "hello", r: 1, token: "not.a.jwt" });
    assert.equal((await junk.waitForClose()).code, CLOSE_CODES.unauthorized);

    const wrongDevice = await RouterClient.open(node.url);
    wrongDevice.sendRaw({ t: "hello", r: 1, token: phoneToken, device: "laptop" });
    assert.equal((await wrongDevice.waitForClose()).code, CLOSE_CODES.unauthorized);

    const silent = await RouterClient.open(node.url);
    assert.equal((await silent.waitForClose()).code, CLOSE_CODES.hello_timeout);
    assert.equal((await noHello.waitForClose()).code, CLOSE_CODES.hello_timeout);
  });

  it("lets a burst of a few hundred frames through and limits a flood", async () => {
    const client = await node.connect("bursty");
    const pongs = await Promise.all(Array.from({ length: 500 }, () => client.request({ t: "ping" })));
    assert.equal(pongs.length, 500);
    for (let i = 0; i < 5000; i += 1) client.sendRaw({ t: "ping", r: 100_000 + i });
    const limited = await client.waitFor<ErrorFrame>((f) => isErr(f) && f.code === "rate_limited");
    assert.ok(limited.r !== undefined && limited.r >= 100_000);
    assert.equal(client.closed, undefined);
    await client.close();
  });
});
