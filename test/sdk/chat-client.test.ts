import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ChatClient, ClientStoppedError, type StateChange } from "../../sdk/chat-client.ts";
import { RouterClient } from "../../sdk/client.ts";
import { CLOSE_CODES, directChatId } from "../../sdk/frames.ts";
import { signToken } from "../../src/auth/tokens.ts";
import { TEST_SECRET, TestNode, tokenFor } from "../support/node.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { chatClient, until, within } from "./support.ts";

const bodies = (messages: Array<{ body: unknown }>) => messages.map((m) => String(m.body));

describe("ChatClient against a node", () => {
  let node: TestNode;
  let proxy: TcpProxy;
  const clients: ChatClient[] = [];
  const started = (client: ChatClient) => {
    clients.push(client);
    return within(client.start(), "start");
  };

  before(async () => {
    node = await TestNode.start();
    proxy = await TcpProxy.start({ host: "127.0.0.1", port: node.node.port });
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    await proxy.stop();
    await node.stop();
  });

  it("sends, receives once, and turns frames into typed events", async () => {
    const alice = chatClient(node.url, "sdk-alice");
    const bob = chatClient(node.url, "sdk-bob");
    await started(alice.client);
    await started(bob.client);
    assert.equal(alice.client.user, "sdk-alice");
    assert.equal(alice.client.state, "ready");

    const sent = await alice.client.send({ to: "sdk-bob" }, "hello bob");
    assert.equal(sent.chat, directChatId("sdk-alice", "sdk-bob"));
    await until(() => bob.messages.length === 1, "bob's message");
    assert.deepEqual(bodies(bob.messages), ["hello bob"]);

    const typing = bob.client.once("typing");
    alice.client.typing(sent.chat, true);
    assert.deepEqual(await within(typing, "typing"), { t: "typing", chat: sent.chat, user: "sdk-alice", on: true });

    const receipt = alice.client.once("receipt", (r) => r.read === sent.seq);
    bob.client.read(sent.chat, sent.seq);
    assert.equal((await within(receipt, "read receipt")).user, "sdk-bob");

    const history = await alice.client.history(sent.chat);
    assert.deepEqual(bodies(history.msgs), ["hello bob"]);
  });

  it("sends a read asked for before it is ready (as for messages handed out during sync) once it is", async () => {
    const alice = chatClient(node.url, "early-alice");
    const bob = chatClient(node.url, "early-bob");
    await started(alice.client);
    const sent = await alice.client.send({ to: "early-bob" }, "read me on arrival");
    const receipt = alice.client.once("receipt", (r) => r.read === sent.seq);
    // Not started yet: a read now would be lost if the client only sent reads while ready.
    bob.client.read(sent.chat, sent.seq);
    await started(bob.client);
    assert.equal((await within(receipt, "read receipt after bob is ready")).user, "early-bob");
  });

  it("reconnects after a dropped connection, resending unanswered sends with their cid and receiving what it missed once", async () => {
    const alice = chatClient(proxy.url, "drop-alice");
    const bob = chatClient(node.url, "drop-bob");
    await started(alice.client);
    await started(bob.client);
    const chat = directChatId("drop-alice", "drop-bob");
    await alice.client.send({ to: "drop-bob" }, "a1");

    // The node's answers stop on the way: these land, but alice never hears `sent`.
    proxy.hold();
    const unanswered = ["a2", "a3", "a4"].map((body) => alice.client.send({ to: "drop-bob" }, body));
    await until(() => bob.messages.length === 4, "bob receives a2-a4 while alice waits");
    assert.equal(alice.client.pendingSends, 3);

    const states: StateChange[] = [];
    alice.client.on("state", (change) => states.push(change));
    proxy.drop();
    // While alice is away, bob writes, and alice queues another.
    await bob.client.send({ to: "drop-alice" }, "b1");
    const queued = alice.client.send({ to: "drop-bob" }, "a5");

    const answers = await within(Promise.all([...unanswered, queued]), "answers after the reconnect");
    assert.deepEqual(
      answers.map((a) => a.seq),
      [2, 3, 4, 6],
      "the repeats are answered with their first `sent`; b1 took seq 5",
    );
    await until(() => bob.messages.length === 5 && alice.messages.length === 1, "a5 at bob, b1 at alice");
    assert.deepEqual(bodies(bob.messages), ["a1", "a2", "a3", "a4", "a5"], "nothing twice, in order");
    assert.deepEqual(bob.messages.map((m) => m.seq), [1, 2, 3, 4, 6]);
    assert.deepEqual(bodies(alice.messages), ["b1"]);
    assert.equal(alice.readies(), 2);
    assert.ok(states.some((s) => s.state === "waiting" && s.close?.code === 1006), "a drop is a 1006, retried");
    assert.equal((await alice.client.history(chat)).msgs.length, 6);
  });

  it("moves the connection onto fresh tokens before they expire", async () => {
    let issued = 0;
    const client = new ChatClient({
      url: node.url,
      token: () => {
        issued += 1;
        return signToken(TEST_SECRET, { user: "refresh-carol" }, 20);
      },
      refreshBeforeMs: 17_000,
    });
    const refreshed: Array<number | undefined> = [];
    client.on("token", ({ exp }) => refreshed.push(exp));
    let readies = 0;
    client.on("ready", () => (readies += 1));
    await started(client);
    await until(() => refreshed.length >= 2, "two refreshes", 90_000);
    assert.ok(refreshed[1]! > Date.now() + 10_000, "the connection now runs on a token good for a while");
    assert.equal(readies, 1, "never reconnected");
    assert.ok(issued >= 3);
    assert.equal(client.currentToken?.split(".").length, 3);
  });

  it("after 4001 (token expired) fetches a new token and reconnects", async () => {
    let sawExpiry = false;
    let calls = 0;
    const client = new ChatClient({
      url: node.url,
      token: () => {
        calls += 1;
        if (calls === 1) return signToken(TEST_SECRET, { user: "expiry-dan" }, 3);
        // The source is down until the server has closed the connection on expiry.
        if (!sawExpiry) throw new Error("token service unreachable");
        return tokenFor("expiry-dan");
      },
      backoff: { initialDelayMs: 100, maxDelayMs: 500 },
    });
    client.on("state", (change) => {
      if (change.close?.code === CLOSE_CODES.unauthorized) sawExpiry = true;
    });
    let readies = 0;
    client.on("ready", () => (readies += 1));
    await started(client);
    await until(() => readies === 2, "ready again on a new token");
    assert.ok(sawExpiry);
    assert.ok((await client.send({ to: "expiry-dan" }, "note to self")).seq >= 1);
  });

  it("stops for good on 4001 when the token cannot be renewed (a fixed token)", async () => {
    const client = new ChatClient({ url: node.url, token: await signToken(TEST_SECRET, { user: "fixed-erin" }, 3) });
    await started(client);
    const stopped = await within(client.once("state", (s) => s.state === "stopped"), "stopped");
    assert.equal(stopped.close?.code, CLOSE_CODES.unauthorized);
    await assert.rejects(client.send({ to: "fixed-erin" }, "x"), ClientStoppedError);
  });

  it("stops for good when replaced by another connection of its device (4009), rejecting what it had queued", async () => {
    const first = chatClient(node.url, "replaced-fay", { device: "phone" });
    await started(first.client);
    const stopped = first.client.once("state", (s) => s.state === "stopped");
    const replacement = await RouterClient.connect({ url: node.url, token: await tokenFor("replaced-fay"), device: "phone" });
    const change = await within(stopped, "stopped");
    assert.equal(change.close?.code, CLOSE_CODES.replaced);
    await assert.rejects(first.client.send({ to: "replaced-fay" }, "x"), ClientStoppedError);
    // Had it come back, it would have replaced the replacement in turn.
    await replacement.request({ t: "ping" });
    assert.equal(replacement.closed, undefined);
    assert.equal(first.readies(), 1);
    await replacement.close();
  });
});

describe("ChatClient and the device limit", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start({ config: (config) => (config.limits.maxDevicesPerUser = 1) });
  });
  after(() => node.stop());

  it("does not retry a refused device (too_many_devices): start() rejects", async () => {
    const other = await RouterClient.connect({ url: node.url, token: await tokenFor("busy-gus"), device: "tablet" });
    const { client } = chatClient(node.url, "busy-gus", { device: "phone" });
    await assert.rejects(within(client.start(), "start"), /too_many_devices/);
    assert.equal(client.state, "stopped");
    await other.request({ t: "ping" });
    await other.close();
  });
});
