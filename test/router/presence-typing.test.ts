import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import { directChatId, type PresenceFrame, type TypingFrame } from "../../src/protocol/frames.ts";
import { ManualClock } from "../../src/util/clock.ts";
import { TestNode, tempDir } from "../support/node.ts";

const presenceOf = (user: string, online: boolean) => (f: { t: string }) =>
  f.t === "presence" && (f as PresenceFrame).user === user && (f as PresenceFrame).online === online;

describe("presence and last seen", () => {
  const dataDir = tempDir();
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  let node: TestNode | undefined;
  after(async () => {
    await node?.stop();
  });

  it("reports online and offline as they change, and keeps last seen across a restart", async () => {
    node = await TestNode.start({ dataDir });
    const watcher = await node.connect("watcher");
    await watcher.request({ t: "watch", users: ["target", "stranger"] });
    const never = await watcher.waitFor<PresenceFrame>(presenceOf("stranger", false));
    assert.equal(never.last_seen, undefined);
    await watcher.waitFor<PresenceFrame>(presenceOf("target", false));

    const phone = await node.connect("target", { device: "phone" });
    await watcher.waitFor(presenceOf("target", true));
    // A second device changes nothing: online means at least one live device.
    const laptop = await node.connect("target", { device: "laptop" });
    const before = watcher.frames.length;
    await phone.close();
    const ping = await watcher.request({ t: "ping" });
    assert.equal(ping.t, "pong");
    assert.equal(watcher.frames.slice(before).filter(presenceOf("target", false)).length, 0);
    const leftAt = Date.now();
    const mark = watcher.frames.length;
    await laptop.close();
    const offline = await watcher.waitFor<PresenceFrame>(presenceOf("target", false), 10_000, mark);
    assert.ok(offline.last_seen !== undefined && Math.abs(offline.last_seen - leftAt) < 5000);
    await watcher.close();
    await node.stop();

    node = await TestNode.start({ dataDir });
    const later = await node.connect("watcher");
    await later.request({ t: "watch", users: ["target"] });
    const remembered = await later.waitFor<PresenceFrame>(presenceOf("target", false));
    assert.equal(remembered.last_seen, offline.last_seen);
    await later.close();
  });
});

describe("typing", () => {
  let node: TestNode;
  after(async () => {
    await node?.stop();
  });

  it("reaches the other online member, throttled, expiring, and never replayed", async () => {
    // Throttle and expiry are read on the node's clock, which only the test moves.
    const clock = new ManualClock();
    node = await TestNode.start({ overrides: { clock } });
    const chat = directChatId("typist", "reader");
    const typist = await node.connect("typist");
    const reader = await node.connect("reader");
    const typingFrames = () => reader.frames.filter((f): f is TypingFrame => f.t === "typing");

    typist.typing(chat, true);
    typist.typing(chat, true);
    typist.typing(chat, true);
    typist.typing(chat, false);
    await reader.waitFor((f) => f.t === "typing" && !(f as TypingFrame).on);
    // Three `on` within the throttle window became one.
    assert.deepEqual(typingFrames().map((f) => [f.user, f.on]), [["typist", true], ["typist", false]]);
    assert.equal(typist.frames.filter((f) => f.t === "typing").length, 0);

    // An `on` never switched off is switched off by the server once the expiry has passed.
    typist.typing(chat, true);
    await reader.nextFrame((f) => f.t === "typing" && (f as TypingFrame).on);
    const expiring = reader.nextFrame<TypingFrame>((f) => f.t === "typing");
    clock.advance(node.config.typing.expiryMs);
    const expired = await expiring;
    assert.equal(expired.on, false);

    // Typing to nobody online is dropped, and never queued for later.
    await reader.close();
    typist.typing(chat, true);
    typist.typing(chat, false);
    const readerAgain = await node.connect("reader");
    assert.equal((await readerAgain.request({ t: "ping" })).t, "pong");
    assert.equal(readerAgain.frames.filter((f) => f.t === "typing").length, 0);

    // Typing in a chat one is not a member of goes nowhere.
    typist.typing(directChatId("other", "reader"), true);
    assert.equal((await typist.request({ t: "ping" })).t, "pong");
    await Promise.all([typist.close(), readerAgain.close()]);
  });

  it("reaches the other online members of a group only", async () => {
    const [a, b, c] = await Promise.all(["ga", "gb", "gc"].map((u) => node.connect(u)));
    const group = await a!.group("create", { name: "typing", members: ["gb", "gc", "gd"] });
    await c!.close();
    a!.typing(group.chat, true);
    const seen = await b!.waitFor<TypingFrame>((f) => f.t === "typing");
    assert.deepEqual([seen.chat, seen.user, seen.on], [group.chat, "ga", true]);
    const cAgain = await node.connect("gc");
    assert.equal(cAgain.frames.filter((f) => f.t === "typing").length, 0);
    await Promise.all([a!.close(), b!.close(), cAgain.close()]);
  });
});
