import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ErrorFrame, MessageFrame } from "../../src/protocol/frames.ts";
import { inQuietHours, type PushEvent } from "../../src/push/scheduler.ts";
import type { RouterClient } from "../../sdk/client.ts";
import { tempDir, TestNode } from "../support/node.ts";
import { apnsToken, FakeApns, FakeFcm, FakeWebhook } from "./fake-services.ts";

/** Every push decision the node made, with a way to wait for one. */
class Events {
  readonly items: PushEvent[] = [];
  private waiters: Array<{ match: (e: PushEvent) => boolean; resolve: (e: PushEvent) => void }> = [];
  add(event: PushEvent): void {
    this.items.push(event);
    this.waiters = this.waiters.filter((w) => !(w.match(event) && (w.resolve(event), true)));
  }
  next(match: (e: PushEvent) => boolean, timeoutMs = 10_000): Promise<PushEvent> {
    const from = this.items.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such push event; saw ${JSON.stringify(this.items.slice(from))}`)), timeoutMs);
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }
}

let counter = 0;
/** Fresh user names per test: the node is shared. */
function users(...names: string[]): string[] {
  counter += 1;
  return names.map((n) => `${n}${counter}`);
}

describe("push notifications", () => {
  let node: TestNode;
  const apns = new FakeApns();
  const fcm = new FakeFcm();
  const webhook = new FakeWebhook();
  const events = new Events();
  const dir = tempDir("router-push-");
  const clients: RouterClient[] = [];

  before(async () => {
    await Promise.all([apns.start(), fcm.start(), webhook.start()]);
    const keyFile = join(dir, "AuthKey.p8");
    writeFileSync(keyFile, apns.privateKeyPem);
    const serviceAccountFile = join(dir, "service-account.json");
    writeFileSync(serviceAccountFile, JSON.stringify(fcm.serviceAccount()));
    node = await TestNode.start({
      config: (c) => {
        c.push.delayMs = 200;
        c.push.coalesceMs = 300;
        c.push.apns = { url: apns.url, keyFile, keyId: apns.keyId, teamId: apns.teamId, topic: apns.topic };
        c.push.fcm = { url: fcm.url, projectId: fcm.projectId, accessToken: "", serviceAccountFile, tokenUrl: "" };
        c.push.webhook = { url: webhook.url, secret: webhook.secret };
      },
      overrides: { pushObserver: (event) => events.add(event) },
    });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await node.stop();
    await Promise.all([apns.stop(), fcm.stop(), webhook.stop()]);
  });

  async function connect(user: string, options: { device?: string; autoAck?: boolean } = {}): Promise<RouterClient> {
    const client = await node.connect(user, options);
    clients.push(client);
    return client;
  }

  async function registered(user: string, platform: "apns" | "fcm" | "webhook", token: string, device = "phone", autoAck = true): Promise<RouterClient> {
    const client = await connect(user, { device, autoAck });
    const ok = await client.request({ t: "push.register", platform, token });
    assert.equal(ok.t, "push.ok");
    return client;
  }

  const sentTo = (user: string) => (e: PushEvent) => e.type === "sent" && e.user === user;

  it("pushes a device that has not acked after the delay, even though its socket is open", async () => {
    const [alice, bob] = users("alice", "bob");
    const token = apnsToken();
    const phone = await registered(bob!, "apns", token, "phone", false);
    const sender = await connect(alice!);
    await sender.send(bob!, "hello from alice");
    await phone.waitForMessages(1);
    const push = await apns.received.next((r) => r.token === token);
    const aps = push.payload.aps as { alert: { title: string; body: string }; badge: number };
    assert.deepEqual(aps.alert, { title: alice, body: "hello from alice" });
    assert.equal(aps.badge, 1);
    assert.deepEqual((push.payload.router as { chats: unknown }).chats, [{ chat: `d:${alice}:${bob}`, count: 1, seq: 1 }]);
  });

  it("does not push a device that acks in time", async () => {
    const [alice, bob] = users("alice", "bob");
    const token = apnsToken();
    const phone = await registered(bob!, "apns", token);
    const sender = await connect(alice!);
    const acked = events.next((e) => e.type === "skipped" && e.user === bob && e.reason === "acked");
    await sender.send(bob!, "seen at once");
    await phone.waitForMessages(1);
    await acked;
    assert.equal(apns.received.forToken(token).length, 0);
  });

  it("coalesces several messages from several chats into one push, then one per window", async () => {
    const [alice, carol, bob] = users("alice", "carol", "bob");
    const token = apnsToken();
    await (await registered(bob!, "apns", token)).close();
    const a = await connect(alice!);
    const c = await connect(carol!);
    // All five land well inside the delay, so the first push finds them all unacked.
    await Promise.all([...["one", "two", "three"].map((text) => a.send(bob!, text)), ...["four", "five"].map((text) => c.send(bob!, text))]);
    const first = await apns.received.next((r) => r.token === token);
    const aps = first.payload.aps as { alert: { title: string; body: string }; badge: number };
    assert.equal(aps.badge, 5);
    assert.equal(aps.alert.body, "5 new messages in 2 chats");
    assert.equal(aps.alert.title, "New messages");
    // The next message waits out the window and goes alone: the first five were pushed already.
    await a.send(bob!, "six");
    const second = await apns.received.next((r) => r.token === token && r !== first);
    assert.equal((second.payload.aps as { badge: number }).badge, 1);
    assert.equal(apns.received.forToken(token).length, 2);
  });

  it("respects a muted chat", async () => {
    const [alice, carol, bob] = users("alice", "carol", "bob");
    const token = apnsToken();
    const phone = await registered(bob!, "apns", token);
    assert.equal((await phone.request({ t: "push.mute", chat: `d:${alice}:${bob}`, until: Date.now() + 3600_000 })).t, "push.ok");
    await phone.close();
    const mutedSkip = events.next((e) => e.type === "skipped" && e.user === bob && e.reason === "muted");
    await (await connect(alice!)).send(bob!, "muted chat");
    await mutedSkip;
    assert.equal(apns.received.forToken(token).length, 0);
    await (await connect(carol!)).send(bob!, "not muted");
    const push = await apns.received.next((r) => r.token === token);
    assert.deepEqual(
      (push.payload.router as { chats: Array<{ chat: string }> }).chats.map((c) => c.chat),
      [`d:${bob}:${carol}`],
    );
  });

  it("holds pushes during do-not-disturb", async () => {
    const [alice, bob] = users("alice", "bob");
    const token = apnsToken();
    const phone = await registered(bob!, "apns", token);
    assert.equal((await phone.request({ t: "push.dnd", start: 0, end: 1440, tz: "Asia/Tokyo" })).t, "push.ok");
    await phone.close();
    const sender = await connect(alice!);
    const quiet = events.next((e) => e.type === "skipped" && e.user === bob && e.reason === "dnd");
    await sender.send(bob!, "at night");
    await quiet;
    assert.equal(apns.received.forToken(token).length, 0);
    const again = await registered(bob!, "apns", token);
    assert.equal((await again.request({ t: "push.dnd" })).t, "push.ok");
    await again.close();
    await sender.send(bob!, "in the morning");
    const push = await apns.received.next((r) => r.token === token);
    assert.equal((push.payload.aps as { alert: { body: string } }).alert.body, "in the morning");
  });

  it("computes quiet hours in the user's time zone, across midnight", () => {
    const at = (iso: string) => Date.parse(iso);
    const night = { start: 22 * 60, end: 7 * 60 };
    assert.equal(inQuietHours(night, at("2026-01-10T23:30:00Z")), true);
    assert.equal(inQuietHours(night, at("2026-01-10T06:59:00Z")), true);
    assert.equal(inQuietHours(night, at("2026-01-10T07:00:00Z")), false);
    assert.equal(inQuietHours(night, at("2026-01-10T12:00:00Z")), false);
    // 14:30 UTC is 23:30 in Tokyo.
    assert.equal(inQuietHours({ ...night, tz: "Asia/Tokyo" }, at("2026-01-10T14:30:00Z")), true);
    assert.equal(inQuietHours({ start: 600, end: 600 }, at("2026-01-10T10:00:00Z")), false);
  });

  it("removes registrations the providers say are dead", async () => {
    const cases: Array<["apns" | "fcm" | "webhook", string, () => void]> = [
      ["apns", apnsToken(), () => {}],
      ["apns", "not-a-hex-token", () => {}],
      ["fcm", "fcm-dead-token:APA91b", () => {}],
      ["webhook", "webhook-dead", () => {}],
    ];
    apns.unregistered.add(cases[0]![1]);
    fcm.unregistered.add(cases[2]![1]);
    webhook.gone.add(cases[3]![1]);
    for (const [platform, token] of cases) {
      const [alice, bob] = users("alice", "bob");
      await (await registered(bob!, platform, token)).close();
      const sender = await connect(alice!);
      const gone = events.next((e) => e.type === "unregistered" && e.user === bob);
      await sender.send(bob!, "anyone there?");
      assert.deepEqual(await gone, { type: "unregistered", user: bob, device: "phone", platform, removed: true });
      const none = events.next((e) => e.type === "no-registrations" && e.user === bob);
      await sender.send(bob!, "still there?");
      await none;
    }
  });

  it("a device that comes online after a push receives each message once", async () => {
    const [alice, bob] = users("alice", "bob");
    const token = apnsToken();
    await (await registered(bob!, "apns", token)).close();
    const sender = await connect(alice!);
    for (let i = 1; i <= 3; i += 1) await sender.send(bob!, `m${i}`);
    await events.next(sentTo(bob!));
    const phone = await connect(bob!, { device: "phone" });
    const acked = events.next((e) => e.type === "skipped" && e.user === bob && e.reason === "acked");
    await sender.send(bob!, "m4");
    await phone.waitForMessages(4);
    await acked;
    const seqs = phone.frames.filter((f): f is MessageFrame => f.t === "msg").map((f) => f.seq);
    assert.deepEqual(seqs, [1, 2, 3, 4]);
    assert.equal(apns.received.forToken(token).length, 1);
  });

  it("never puts encrypted or non-text bodies in a push (FCM via a service account)", async () => {
    const [alice, bob] = users("alice", "bob");
    const token = "fcm-token:APA91bHun4MxP5egoKMwt2KZFBaFUH";
    await (await registered(bob!, "fcm", token)).close();
    const sender = await connect(alice!);
    await sender.send(bob!, "TOP-SECRET-CIPHER-TEXT", { kind: "cipher" });
    await sender.send(bob!, new TextEncoder().encode("TOP-SECRET-BYTES"), { kind: "cipher" });
    await sender.send(bob!, new TextEncoder().encode("TOP-SECRET-BINARY-TEXT"));
    const push = await fcm.received.next((r) => r.token === token);
    assert.doesNotMatch(push.raw, /TOP-SECRET/);
    assert.deepEqual((push.payload as { notification: unknown }).notification, { title: alice, body: "3 new messages" });
    assert.equal((push.payload.data as { count: string }).count, "3");
    assert.ok(fcm.tokenExchanges >= 1);

    const [carol, dave] = users("carol", "dave");
    const apnsTok = apnsToken();
    await (await registered(dave!, "apns", apnsTok)).close();
    await (await connect(carol!)).send(dave!, "TOP-SECRET-ALONE", { kind: "cipher" });
    const single = await apns.received.next((r) => r.token === apnsTok);
    assert.doesNotMatch(single.raw, /TOP-SECRET/);
    assert.equal((single.payload.aps as { alert: { body: string } }).alert.body, "New message");
  });

  it("signs webhook pushes", async () => {
    const [alice, bob] = users("alice", "bob");
    await (await registered(bob!, "webhook", "hook-1")).close();
    await (await connect(alice!)).send(bob!, "via webhook");
    const push = await webhook.received.next((r) => r.token === "hook-1");
    assert.equal(push.payload.user, bob);
    assert.equal(push.payload.device, "phone");
    assert.equal(push.payload.count, 1);
    assert.equal(push.payload.body, "via webhook");
  });

  it("refuses malformed push requests", async () => {
    const [alice] = users("alice");
    const client = await connect(alice!);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ t: "push.register", r: 901, platform: "sms", token: "x" }, "invalid_field"],
      [{ t: "push.register", r: 902, platform: "apns", token: "bad token/../" }, "invalid_field"],
      [{ t: "push.mute", r: 903, chat: "d:bob:carol", until: 1 }, "forbidden"],
      [{ t: "push.dnd", r: 904, start: 60, end: 120, tz: "Mars/Olympus" }, "invalid_field"],
      [{ t: "push.dnd", r: 905, start: 60 }, "invalid_field"],
      [{ t: "push.dnd", r: 906, start: 60, end: 2000 }, "invalid_field"],
    ];
    for (const [frame, code] of cases) {
      client.sendRaw(frame);
      const err = await client.waitFor<ErrorFrame>((f) => f.t === "err" && f.r === frame.r);
      assert.equal(err.code, code, JSON.stringify(frame));
    }
    assert.equal((await client.request({ t: "push.unregister" })).t, "push.ok");
  });
});
