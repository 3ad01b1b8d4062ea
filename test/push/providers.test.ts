import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ApnsProvider } from "../../src/push/apns.ts";
import { FcmProvider } from "../../src/push/fcm.ts";
import { previewOf, summarise, type PendingMessage } from "../../src/push/notification.ts";
import { WebhookProvider } from "../../src/push/webhook.ts";
import type { PushRegistration } from "../../src/storage/push.ts";
import { apnsToken, FakeApns, FakeFcm, FakeWebhook } from "./fake-services.ts";

function registration(platform: PushRegistration["platform"], token: string): PushRegistration {
  return { user: "bob", device: "phone", platform, token, updatedAt: Date.now() };
}

describe("push providers against local services", () => {
  const apns = new FakeApns();
  const fcm = new FakeFcm();
  const webhook = new FakeWebhook();
  before(async () => {
    await Promise.all([apns.start(), fcm.start(), webhook.start()]);
  });
  after(async () => {
    await Promise.all([apns.stop(), fcm.stop(), webhook.stop()]);
  });

  const apnsOptions = () => ({ url: apns.url, key: apns.privateKeyPem, keyId: apns.keyId, teamId: apns.teamId, topic: apns.topic });

  it("keeps a summary of hundreds of chats under APNs' 4 KiB limit", async () => {
    const pending: PendingMessage[] = [];
    for (let i = 0; i < 300; i += 1) pending.push({ chat: `g:${"x".repeat(30)}${String(i).padStart(8, "0")}`, seq: i + 1, from: `user${i}`, ts: i });
    const provider = new ApnsProvider(apnsOptions());
    const token = apnsToken();
    assert.deepEqual(await provider.send(registration("apns", token), summarise(pending)), { kind: "sent" });
    const [push] = apns.received.forToken(token);
    assert.ok(Buffer.byteLength(push!.raw) <= 4096);
    assert.equal((push!.payload.aps as { badge: number }).badge, 300);
    await provider.close();
  });

  it("truncates text previews and shows none for anything but plain text", () => {
    assert.equal(previewOf("text", "a".repeat(150), 100), `${"a".repeat(100)}…`);
    assert.equal(previewOf("text", "short", 100), "short");
    assert.equal(previewOf("cipher", "secret", 100), undefined);
    assert.equal(previewOf("text", new Uint8Array([1, 2]), 100), undefined);
    assert.equal(previewOf("text", "hidden", 0), undefined);
  });

  it("APNs refuses a provider token signed with another key", async () => {
    const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const provider = new ApnsProvider({ ...apnsOptions(), key: other });
    const outcome = await provider.send(registration("apns", apnsToken()), summarise([{ chat: "d:a:bob", seq: 1, from: "a", ts: 1 }]));
    assert.deepEqual(outcome, { kind: "failed", reason: "apns 403 InvalidProviderToken" });
    await provider.close();
  });

  it("FCM refuses an access token it did not issue", async () => {
    const provider = new FcmProvider({ url: fcm.url, projectId: fcm.projectId, accessToken: "ya29.forged" });
    const outcome = await provider.send(registration("fcm", "tok"), summarise([{ chat: "d:a:bob", seq: 1, from: "a", ts: 1 }]));
    assert.deepEqual(outcome, { kind: "failed", reason: "fcm 401 UNAUTHENTICATED" });
  });

  it("the webhook receiver refuses a wrong signature", async () => {
    const provider = new WebhookProvider({ url: webhook.url, secret: "not-the-secret" });
    const outcome = await provider.send(registration("webhook", "hook"), summarise([{ chat: "d:a:bob", seq: 1, from: "a", ts: 1 }]));
    assert.deepEqual(outcome, { kind: "failed", reason: "webhook 401" });
  });
});
