import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ServerFrame, StatusNewFrame, StatusViewedFrame } from "../../src/protocol/frames.ts";
import { MAX_STATUS_AUDIENCE } from "../../src/protocol/validate-status.ts";
import { STATUS_LISTS_PER_MINUTE } from "../../src/status/service.ts";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { download, ref, sampleBytes, upload } from "../media/helpers.ts";
import { ManualClock } from "../../src/util/clock.ts";
import { TestNode } from "../support/node.ts";

function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  return assert.rejects(promise, (error: unknown) => error instanceof RequestError && error.code === code);
}

const isNew = (poster: string, id: string) => (f: ServerFrame): f is StatusNewFrame => f.t === "status.new" && f.poster === poster && f.id === id;

/** Polls `check` until it holds: the machine is busy, so waits are on conditions, never sleeps. */
async function eventually(check: () => Promise<boolean>, what: string, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function sweptCount(node: TestNode): Promise<number> {
  const line = (await node.node.metrics.render()).split("\n").find((l) => l.startsWith("router_status_swept_total"));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("status updates", () => {
  let node: TestNode;
  const clients: RouterClient[] = [];
  const connect = async (user: string) => {
    const client = await node.connect(user);
    clients.push(client);
    return client;
  };
  before(async () => {
    node = await TestNode.start({
      config: (c) => {
        c.status.maxActive = 5;
        c.status.postsPerDay = 7;
      },
    });
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await node.stop();
  });

  it("shows a status to its audience only, grouped by poster newest first, and tells online members", async () => {
    const alice = await connect("st-alice");
    const bob = await connect("st-bob");
    const carol = await connect("st-carol");
    const dave = await connect("st-dave");
    const zed = await connect("st-zed");
    // Each knows alice from a direct chat, so her statuses are candidates for all of them.
    for (const user of ["st-bob", "st-carol", "st-dave"]) await alice.send(user, "hi");
    await bob.send("st-zed", "hi");

    const first = await alice.postStatus({ kind: "text", body: "first" }, { allow: ["st-bob", "st-carol"], deny: ["st-carol"] });
    const second = await alice.postStatus({ kind: "cipher", body: new Uint8Array([9, 8, 7]), caption: new Uint8Array([1]) }, { allow: ["st-bob", "st-carol"] });
    const fromZed = await zed.postStatus({ kind: "text", body: "zed here" }, { allow: ["st-bob"] });
    assert.ok(second.expires - second.ts >= 60_000, "the default lifetime is a day, not seconds");
    await bob.waitFor(isNew("st-alice", first.id));
    await bob.waitFor(isNew("st-alice", second.id));
    await carol.waitFor(isNew("st-alice", second.id));

    const seenByBob = await bob.listStatuses();
    assert.deepEqual(seenByBob.posters.map((p) => p.poster), ["st-zed", "st-alice"], "posters newest first");
    const fromAlice = seenByBob.posters[1]!.statuses;
    assert.deepEqual(fromAlice.map((s) => s.id), [second.id, first.id], "statuses newest first");
    assert.equal(fromAlice[1]!.body, "first");
    assert.equal(fromAlice[0]!.kind, "cipher");
    assert.deepEqual([...(fromAlice[0]!.body as Uint8Array)], [9, 8, 7]);
    assert.equal(fromAlice[0]!.seen, false);
    assert.equal(seenByBob.posters[0]!.statuses[0]!.id, fromZed.id);

    // Denied: carol sees only the second; dave, outside the audience, sees nothing of alice's.
    assert.deepEqual((await carol.listStatuses()).posters.map((p) => p.statuses.map((s) => s.id)), [[second.id]]);
    assert.deepEqual((await dave.listStatuses()).posters, []);
    assert.equal(carol.frames.some((f) => f.t === "status.new" && f.id === first.id), false, "a denied member is not told");
    assert.equal(dave.frames.some((f) => f.t === "status.new"), false);
    // Naming a poster does not widen the audience.
    assert.deepEqual((await dave.listStatuses(["st-alice"])).posters, []);
    assert.deepEqual((await alice.listStatuses()).mine.map((s) => s.id), [second.id, first.id]);
  });

  it("finds a poster the viewer shares no chat with when the client names them", async () => {
    const poster = await connect("st-far-poster");
    const viewer = await connect("st-far-viewer");
    const posted = await poster.postStatus({ kind: "text", body: "hello stranger" }, { allow: ["st-far-viewer"] });
    const notice = await viewer.waitFor(isNew("st-far-poster", posted.id));
    assert.deepEqual((await viewer.listStatuses()).posters, [], "no chat, no contacts yet: not a candidate by itself");
    const named = await viewer.listStatuses([notice.poster]);
    assert.deepEqual(named.posters.map((p) => p.statuses.map((s) => s.body)), [["hello stranger"]]);
  });

  it("posts to the poster's contacts by default, and finds posters among the viewer's contacts", async () => {
    const poster = await connect("st-c-poster");
    const friend = await connect("st-c-friend");
    const denied = await connect("st-c-denied");
    const stranger = await connect("st-c-stranger");
    await poster.addContacts(["st-c-friend", "st-c-denied"]);
    // The friend has the poster in their own contacts: a candidate without any chat between them.
    await friend.addContacts(["st-c-poster"]);
    const toContacts = await poster.postStatus({ kind: "text", body: "to my contacts" });
    const notToDenied = await poster.postStatus({ kind: "text", body: "not for denied" }, { deny: ["st-c-denied"] });
    await denied.waitFor(isNew("st-c-poster", toContacts.id));

    const seen = await friend.listStatuses();
    assert.deepEqual(seen.posters.map((p) => p.statuses.map((s) => s.body)), [["not for denied", "to my contacts"]]);
    const deniedSees = await denied.listStatuses(["st-c-poster"]);
    assert.deepEqual(deniedSees.posters.map((p) => p.statuses.map((s) => s.body)), [["to my contacts"]]);
    assert.equal(denied.frames.some((f) => f.t === "status.new" && f.id === notToDenied.id), false);
    assert.deepEqual((await stranger.listStatuses(["st-c-poster"])).posters, [], "not a contact: nothing, even named");
    // The audience is the contacts at the time of posting: a contact added later sees new posts only.
    await poster.addContacts(["st-c-stranger"]);
    assert.deepEqual((await stranger.listStatuses(["st-c-poster"])).posters, []);
    await poster.postStatus({ kind: "text", body: "now for stranger too" });
    const later = await stranger.listStatuses(["st-c-poster"]);
    assert.deepEqual(later.posters.map((p) => p.statuses.map((s) => s.body)), [["now for stranger too"]]);
  });

  it("counts viewers once each, tells the poster, and pages the viewer list", async () => {
    const poster = await connect("st-counted");
    const viewers = await Promise.all(["st-v1", "st-v2", "st-v3"].map(connect));
    const outsider = await connect("st-v4");
    const posted = await poster.postStatus({ kind: "text", body: "look" }, { allow: ["st-v1", "st-v2", "st-v3"] });
    for (const viewer of viewers) await viewer.viewStatus("st-counted", posted.id);
    await viewers[0]!.viewStatus("st-counted", posted.id);
    for (const by of ["st-v1", "st-v2", "st-v3"]) {
      await poster.waitFor<StatusViewedFrame>((f) => f.t === "status.viewed" && f.id === posted.id && f.by === by);
    }
    await rejectsWith(outsider.viewStatus("st-counted", posted.id), "not_found");
    await rejectsWith(poster.viewStatus("st-counted", posted.id), "not_found");

    const page = await poster.statusViewers(posted.id, { limit: 2 });
    assert.equal(page.count, 3);
    assert.deepEqual(page.viewers.map((v) => v.user), ["st-v1", "st-v2"]);
    assert.equal(page.more, true);
    const rest = await poster.statusViewers(posted.id, { after: "st-v2", limit: 2 });
    assert.deepEqual(rest.viewers.map((v) => v.user), ["st-v3"]);
    assert.equal(rest.more, false);
    assert.equal(poster.frames.filter((f) => f.t === "status.viewed").length, 3, "a second view tells the poster nothing new");
    assert.equal((await poster.listStatuses()).mine[0]!.views, 3);
    assert.equal((await viewers[0]!.listStatuses(["st-counted"])).posters[0]!.statuses[0]!.seen, true);
    // Only the poster may ask who saw it.
    await rejectsWith(viewers[0]!.statusViewers(posted.id), "not_found");
  });

  it("lets the poster delete a status early; its media is then unreachable to the audience", async () => {
    const poster = await connect("st-deleter");
    const viewer = await connect("st-del-viewer");
    await connect("st-del-outsider");
    const bytes = sampleBytes(2048);
    const media = ref(await upload(node, "st-deleter", bytes));
    const posted = await poster.postStatus({ kind: "image", media, caption: "sunset" }, { allow: ["st-del-viewer"] });
    const listed = await viewer.listStatuses(["st-deleter"]);
    assert.equal(listed.posters[0]!.statuses[0]!.media?.id, media.id);
    const got = await download(node, "st-del-viewer", media.id);
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), bytes);
    assert.equal((await download(node, "st-del-outsider", media.id)).status, 403);

    await rejectsWith(viewer.deleteStatus(posted.id), "not_found");
    await poster.deleteStatus(posted.id);
    assert.deepEqual((await viewer.listStatuses(["st-deleter"])).posters, []);
    assert.equal((await download(node, "st-del-viewer", media.id)).status, 403);
    await rejectsWith(poster.deleteStatus(posted.id), "not_found");
    await rejectsWith(viewer.viewStatus("st-deleter", posted.id), "not_found");
  });

  it("refuses what is out of bounds: audience, body, media posted by someone who cannot read it", async () => {
    const poster = await connect("st-bounds");
    await rejectsWith(poster.request({ t: "status.post", kind: "text", body: "x", audience: ["a"] }), "invalid_field");
    await rejectsWith(poster.request({ t: "status.post", kind: "text", body: "x", audience: { allow: "a" } }), "invalid_field");
    const tooMany = Array.from({ length: MAX_STATUS_AUDIENCE + 1 }, (_, i) => `u${i}`);
    await rejectsWith(poster.postStatus({ kind: "text", body: "x" }, { allow: tooMany }), "invalid_field");
    await rejectsWith(poster.postStatus({ kind: "text", body: "x".repeat(1025) }, { allow: ["a"] }), "invalid_field");
    await rejectsWith(poster.postStatus({ kind: "text", body: new Uint8Array([1]) }, { allow: ["a"] }), "invalid_field");
    await rejectsWith(poster.postStatus({ kind: "image", body: "x" }, { allow: ["a"] }), "invalid_field");
    await rejectsWith(poster.postStatus({ kind: "story" as "text", body: "x" }, { allow: ["a"] }), "invalid_field");
    await rejectsWith(poster.request({ t: "status.view", poster: "st-bounds", id: "nope" }), "invalid_field");
    await rejectsWith(poster.request({ t: "status.viewers", id: "0".repeat(21), limit: 501 }), "invalid_field");
    // Someone else's upload cannot be posted by id alone.
    const other = ref(await upload(node, "st-someone-else", sampleBytes(64)));
    await rejectsWith(poster.postStatus({ kind: "image", media: other }, { allow: ["a"] }), "forbidden");
  });

  it("limits live statuses per poster and posts per day", async () => {
    const poster = await connect("st-prolific");
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await poster.postStatus({ kind: "text", body: `p${i}` }, { allow: ["a"] })).id);
    await rejectsWith(poster.postStatus({ kind: "text", body: "sixth" }, { allow: ["a"] }), "limit_exceeded");
    await poster.deleteStatus(ids[0]!);
    await poster.deleteStatus(ids[1]!);
    await poster.postStatus({ kind: "text", body: "p5" }, { allow: ["a"] });
    await poster.postStatus({ kind: "text", body: "p6" }, { allow: ["a"] });
    await poster.deleteStatus(ids[2]!);
    await rejectsWith(poster.postStatus({ kind: "text", body: "p7" }, { allow: ["a"] }), "rate_limited");
  });

  it("limits how often one user lists statuses, each a read per candidate poster", async () => {
    const lister = await connect("st-lister");
    for (let i = 0; i < STATUS_LISTS_PER_MINUTE; i += 1) await lister.listStatuses();
    await assert.rejects(lister.listStatuses(), (error: unknown) => error instanceof RequestError && error.code === "rate_limited" && error.frame.msg.includes("status lists"));
  });
});

describe("status expiry", () => {
  let node: TestNode;
  // A status's lifetime runs on the node's clock, which the test moves on.
  const clock = new ManualClock();
  before(async () => {
    node = await TestNode.start({
      config: (c) => {
        c.status.ttlMs = 2000;
        c.status.sweepIntervalMs = 200;
      },
      overrides: { clock },
    });
  });
  after(async () => {
    await node.stop();
  });

  it("hides a status once it expires, and the sweep removes it and its media link", async () => {
    const poster = await node.connect("st-ephemeral");
    const viewer = await node.connect("st-eph-viewer");
    const media = ref(await upload(node, "st-ephemeral", sampleBytes(512)));
    const posted = await poster.postStatus({ kind: "video", media }, { allow: ["st-eph-viewer"] });
    const text = await poster.postStatus({ kind: "text", body: "soon gone" }, { allow: ["st-eph-viewer"] });
    assert.equal(posted.expires - posted.ts, 2000);
    // Live until its lifetime has passed.
    clock.advance(posted.expires - 1 - clock.now());
    const listed = await viewer.listStatuses(["st-ephemeral"]);
    assert.equal(listed.posters[0]?.statuses.length, 2);
    assert.equal((await download(node, "st-eph-viewer", media.id)).status, 200);
    // Reads never return an expired status, swept or not: checked right after expiry.
    clock.advance(text.expires + 1 - clock.now());
    assert.deepEqual((await viewer.listStatuses(["st-ephemeral"])).posters, []);
    assert.deepEqual((await poster.listStatuses()).mine, []);
    await rejectsWith(viewer.viewStatus("st-ephemeral", text.id), "not_found");
    await rejectsWith(poster.statusViewers(text.id), "not_found");
    assert.equal((await download(node, "st-eph-viewer", media.id)).status, 403);
    await eventually(async () => (await sweptCount(node)) >= 2, "the sweep removed both");
    await Promise.all([poster.close(), viewer.close()]);
  });
});

describe("status hidden by a hook (where blocking plugs in)", () => {
  let node: TestNode;
  before(async () => {
    // As blocking will: st-hider blocked st-blocked.
    node = await TestNode.start({
      overrides: { statusHooks: { hiddenFrom: (posters, viewer) => new Set(viewer === "st-blocked" ? posters.filter((p) => p === "st-hider") : []) } },
    });
  });
  after(async () => {
    await node.stop();
  });

  it("keeps a hidden poster's status from the viewer though the audience names them: no list, view, media or notice", async () => {
    const hider = await node.connect("st-hider");
    const blocked = await node.connect("st-blocked");
    const friend = await node.connect("st-friend");
    await hider.send("st-blocked", "we did chat");
    const media = ref(await upload(node, "st-hider", sampleBytes(256)));
    const posted = await hider.postStatus({ kind: "image", media }, { allow: ["st-blocked", "st-friend"] });
    await friend.waitFor(isNew("st-hider", posted.id));
    assert.equal((await friend.listStatuses()).posters.length, 0, "no chat with the friend: found only when named");
    assert.equal((await friend.listStatuses(["st-hider"])).posters[0]?.statuses[0]?.id, posted.id);
    assert.equal((await download(node, "st-friend", media.id)).status, 200);

    assert.deepEqual((await blocked.listStatuses(["st-hider"])).posters, []);
    await rejectsWith(blocked.viewStatus("st-hider", posted.id), "not_found");
    assert.equal((await download(node, "st-blocked", media.id)).status, 403);
    assert.equal(blocked.frames.some((f) => f.t === "status.new"), false);
    await Promise.all([hider.close(), blocked.close(), friend.close()]);
  });
});
