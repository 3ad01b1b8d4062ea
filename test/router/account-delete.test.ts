import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { CLOSE_CODES, directChatId, type ErrorFrame } from "../../src/protocol/frames.ts";
import type { PushEvent } from "../../src/push/scheduler.ts";
import { finishVerification, startVerification, type Session } from "../../sdk/accounts.ts";
import { RequestError, RouterClient } from "../../sdk/client.ts";
import { FakeSms } from "../accounts/fake-sms.ts";
import { freshPhone } from "../accounts/helpers.ts";
import { FakeWebhook } from "../push/fake-services.ts";
import { TestNode, tokenFor } from "../support/node.ts";

const isCode = (code: string) => (error: unknown) => error instanceof RequestError && error.code === code;

function ec(): Uint8Array {
  return new Uint8Array([5, ...randomBytes(32)]);
}

function systemNotices(client: RouterClient, chat: string): Array<{ op: string; by?: string; users: string[] }> {
  return client.messages.filter((m) => m.chat === chat && m.kind === "system").map((m) => JSON.parse(m.body as string));
}

describe("account deletion", () => {
  let node: TestNode;
  const sms = new FakeSms();
  const webhook = new FakeWebhook();
  const pushEvents: PushEvent[] = [];
  const open: RouterClient[] = [];

  before(async () => {
    await Promise.all([sms.start(), webhook.start()]);
    node = await TestNode.start({
      config: (c) => {
        c.signup.sender = "webhook";
        c.signup.webhook = { url: sms.webhookUrl, secret: sms.webhookSecret };
        c.push.delayMs = 100;
        c.push.webhook = { url: webhook.url, secret: webhook.secret };
        // Groups above 2 members pull: leaving such a group writes no inbox entries.
        c.groups.fanoutThreshold = 2;
      },
      overrides: { pushObserver: (event) => pushEvents.push(event) },
    });
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await node.stop();
    await Promise.all([sms.stop(), webhook.stop()]);
  });

  async function signUp(phone: string, device: string): Promise<Session> {
    const before = sms.received.length;
    await startVerification(node.httpUrl, phone);
    const { code } = await sms.next(phone, before);
    return finishVerification(node.httpUrl, phone, code, device);
  }

  async function connectWith(token: string): Promise<RouterClient> {
    const client = await RouterClient.connect({ url: node.url, token, requestTimeoutMs: node.config.limits.requestTimeoutMs + 10_000 });
    open.push(client);
    return client;
  }

  async function waitUntil(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("removes the account everywhere, leaves its groups visibly, closes its devices, and frees the phone", async () => {
    const phone = freshPhone();
    const first = await signUp(phone, "phone");
    const gone = first.user;
    const goneOnPhone = await connectWith(first.token);
    const goneOnLaptop = await connectWith(await tokenFor(gone, "laptop", node.config.secret));
    const a = await connectWith(await tokenFor("ad-a", undefined, node.config.secret));
    const b = await connectWith(await tokenFor("ad-b", undefined, node.config.secret));

    await goneOnPhone.putKeys({ identity: ec(), signed: { id: 1, key: ec(), sig: new Uint8Array(randomBytes(64)) }, prekeys: [{ id: 1, key: ec() }, { id: 2, key: ec() }] });
    assert.equal((await a.getKeys(gone)).bundles.length, 1);
    assert.equal((await goneOnPhone.request({ t: "push.register", platform: "webhook", token: "gone-phone" })).t, "push.ok");
    await goneOnPhone.setProfile({ name: "Soon gone" });
    const big = await a.group("create", { name: "Big", members: [gone, "ad-b"] });
    const pair = await goneOnLaptop.group("create", { name: "Pair", members: ["ad-a"] });
    const direct = directChatId(gone, "ad-a");
    const delivered = await a.send(gone, "kept");
    await goneOnPhone.waitForMessages(1, direct);

    const answer = await goneOnPhone.deleteAccount();
    assert.equal(answer.t, "account.deleted");
    const [phoneClosed, laptopClosed] = await Promise.all([goneOnPhone.waitForClose(), goneOnLaptop.waitForClose()]);
    assert.equal(phoneClosed.code, CLOSE_CODES.unauthorized);
    assert.equal(laptopClosed.code, CLOSE_CODES.unauthorized);

    // Each group was left as a normal leave: the remaining members see it.
    await waitUntil(() => systemNotices(a, big.chat).some((n) => n.op === "leave"), "the leave of Big at a");
    await waitUntil(() => systemNotices(b, big.chat).some((n) => n.op === "leave"), "the leave of Big at b");
    await waitUntil(() => systemNotices(a, pair.chat).some((n) => n.op === "leave"), "the leave of Pair at a");
    assert.deepEqual(systemNotices(b, big.chat).find((n) => n.op === "leave"), { op: "leave", by: gone, users: [gone] });
    assert.deepEqual((await a.group("info", { chat: big.chat })).members, ["ad-a", "ad-b"]);

    // Prekeys and profile are gone; what was delivered stays with its recipient's chat.
    await assert.rejects(a.getKeys(gone), isCode("not_found"));
    assert.deepEqual({ ...(await a.getProfile(gone)), r: 0 }, { t: "profile", r: 0, user: gone });
    const history = await a.request({ t: "history", chat: direct });
    assert.ok(history.t === "history" && history.msgs.some((m) => m.seq === delivered.seq));

    // Push registrations are gone.
    assert.deepEqual(await node.node.stores.push?.registrations(gone), []);
    // The deleted id takes nothing any more: no message, no group add, no new group with it.
    await assert.rejects(a.send(gone, "anyone there?"), isCode("not_found"));
    await assert.rejects(a.group("add", { chat: big.chat, users: [gone] }), isCode("not_found"));
    await assert.rejects(a.group("create", { name: "Again", members: ["ad-b", gone] }), isCode("not_found"));
    assert.deepEqual(webhook.received.forToken("gone-phone"), []);

    // Any token of the deleted id is refused, one minted afterwards included.
    for (const token of [first.token, await tokenFor(gone, "laptop", node.config.secret)]) {
      const client = await RouterClient.open(node.url);
      client.sendRaw({ t: "hello", r: 1, token });
      const err = await client.waitFor<ErrorFrame>((f) => f.t === "err");
      assert.equal(err.code, "unauthorized");
      assert.equal((await client.waitForClose()).code, CLOSE_CODES.unauthorized);
    }

    // The phone signs up again, as a new user.
    const again = await signUp(phone, "phone");
    assert.equal(again.new_user, true);
    assert.notEqual(again.user, gone);
    const reborn = await connectWith(again.token);
    assert.equal(reborn.welcome?.user, again.user);
    assert.deepEqual((await reborn.chats()).chats, [], "the new id inherits nothing");
  });

  it("is refused before hello, and without a request id", async () => {
    const early = await RouterClient.open(node.url);
    open.push(early);
    early.sendRaw({ t: "account.delete", r: 5 });
    assert.equal((await early.waitFor<ErrorFrame>((f) => f.t === "err")).code, "hello_required");
    const user = await connectWith(await tokenFor("ad-c", undefined, node.config.secret));
    user.sendRaw({ t: "account.delete", r: "x" });
    assert.equal((await user.waitFor<ErrorFrame>((f) => f.t === "err")).code, "invalid_field");
    // Nothing happened to the account: it still works.
    assert.equal((await user.request({ t: "ping" })).t, "pong");
  });
});
