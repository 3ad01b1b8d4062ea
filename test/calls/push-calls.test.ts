import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CallIncomingOfferFrame, ServerFrame } from "../../src/protocol/frames.ts";
import type { PushEvent } from "../../src/push/scheduler.ts";
import type { RouterClient } from "../../sdk/client.ts";
import { tempDir, TestNode } from "../support/node.ts";
import { apnsToken, FakeApns, FakeFcm, FakeWebhook } from "../push/fake-services.ts";

const RING_TIMEOUT_MS = 45_000;

describe("calls to users with no device connected", () => {
  let node: TestNode;
  const apns = new FakeApns();
  const fcm = new FakeFcm();
  const webhook = new FakeWebhook();
  const events: PushEvent[] = [];
  const dir = tempDir("router-call-push-");
  const clients: RouterClient[] = [];

  before(async () => {
    await Promise.all([apns.start(), fcm.start(), webhook.start()]);
    const keyFile = join(dir, "AuthKey.p8");
    writeFileSync(keyFile, apns.privateKeyPem);
    const serviceAccountFile = join(dir, "service-account.json");
    writeFileSync(serviceAccountFile, JSON.stringify(fcm.serviceAccount()));
    node = await TestNode.start({
      config: (c) => {
        c.calls.ringTimeoutMs = RING_TIMEOUT_MS;
        c.push.apns = { url: apns.url, keyFile, keyId: apns.keyId, teamId: apns.teamId, topic: apns.topic };
        c.push.fcm = { url: fcm.url, projectId: fcm.projectId, accessToken: "", serviceAccountFile, tokenUrl: "" };
        c.push.webhook = { url: webhook.url, secret: webhook.secret };
      },
      overrides: { pushObserver: (event) => events.push(event) },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await node.stop();
    await Promise.all([apns.stop(), fcm.stop(), webhook.stop()]);
  });

  const connect = async (user: string, device?: string) => {
    const client = await node.connect(user, device ? { device } : {});
    clients.push(client);
    return client;
  };

  async function register(user: string, device: string, platform: "apns" | "fcm" | "webhook", token: string): Promise<void> {
    const client = await node.connect(user, { device });
    assert.equal((await client.request({ t: "push.register", platform, token })).t, "push.ok");
    await client.close();
  }

  it("wakes every registered device with a high-priority call push that expires with the ring, and the device that connects is rung", async () => {
    const [iphone, android, hook] = [apnsToken(), "fcm-token-callee", "hook-token-callee"];
    await register("pc-bob", "iphone", "apns", iphone);
    await register("pc-bob", "android", "fcm", android);
    await register("pc-bob", "hook", "webhook", hook);
    const alice = await connect("pc-alice");
    // Once the router has seen every device of the callee go, none is connected.
    alice.sendRaw({ t: "watch", users: ["pc-bob"] });
    await alice.waitFor((f) => f.t === "presence" && f.user === "pc-bob" && !f.online);
    const startedAt = Date.now();
    const call = await alice.call({ to: "pc-bob" }, "offer-sdp", true);

    const voip = await apns.received.next((r) => r.token === iphone && (r.payload.router as { call?: string } | undefined)?.call === call, 30_000);
    assert.equal(voip.headers?.["apns-push-type"], "voip");
    assert.equal(voip.headers?.["apns-topic"], `${apns.topic}.voip`);
    assert.equal(voip.headers?.["apns-priority"], "10");
    const expiration = Number(voip.headers?.["apns-expiration"]);
    assert.ok(expiration >= Math.floor(startedAt / 1000) + 44 && expiration <= Math.ceil(Date.now() / 1000) + 46, `expiration ${expiration}`);
    assert.deepEqual(voip.payload.router, { type: "call", call, from: "pc-alice", video: true });

    const high = await fcm.received.next((r) => r.token === android && (r.payload.data as { call?: string } | undefined)?.call === call, 30_000);
    assert.deepEqual(high.payload.android, { priority: "HIGH", ttl: "45s" });
    assert.deepEqual(high.payload.data, { type: "call", call, from: "pc-alice", video: "true" });
    assert.equal(high.payload.notification, undefined, "data only: the app shows its own call screen");

    const event = await webhook.received.next((r) => r.token === hook && r.payload.call === call, 30_000);
    assert.deepEqual(event.payload, { event: "call", user: "pc-bob", device: "hook", token: hook, call, from: "pc-alice", video: true, ttl: RING_TIMEOUT_MS });
    // The SDP is never in a push.
    for (const push of [voip, high, event]) assert.equal(push.raw.includes("offer-sdp"), false);

    // Woken, the phone connects within the ring timeout: the held offer rings it.
    const phone = await connect("pc-bob", "iphone");
    const offer = await phone.waitFor((f: ServerFrame): f is CallIncomingOfferFrame => f.t === "call.offer" && f.call === call);
    assert.equal(offer.sdp, "offer-sdp");
    await phone.answer(call, "answer-sdp");
    await alice.waitFor((f) => f.t === "call.answer" && f.call === call);
    await alice.hangUp(call);
    await phone.waitFor((f) => f.t === "call.end" && f.call === call);
  });

  it("does not push a callee whose device is connected", async () => {
    const token = apnsToken();
    await register("pc-dave", "iphone", "apns", token);
    const dave = await connect("pc-dave", "iphone");
    const carol = await connect("pc-carol");
    const call = await carol.call({ to: "pc-dave" }, "sdp");
    await dave.waitFor((f) => f.t === "call.offer" && f.call === call);
    await dave.answer(call, "sdp");
    await carol.waitFor((f) => f.t === "call.answer" && f.call === call);
    await carol.hangUp(call);
    await dave.waitFor((f) => f.t === "call.end" && f.call === call);
    assert.equal(events.some((e) => e.type === "call-sent" && e.user === "pc-dave"), false);
    assert.equal(apns.received.forToken(token).some((r) => r.headers?.["apns-push-type"] === "voip"), false);
  });
});
