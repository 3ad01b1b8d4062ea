import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { directChatId, type DeleteFrame, type EditFrame, type ReactFrame } from "../../src/protocol/frames.ts";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import type { Stores } from "../../src/storage/stores.ts";
import { RequestError } from "../../sdk/client.ts";
import { ManualClock } from "../../src/util/clock.ts";
import { TestNode, tempDir } from "../support/node.ts";

const isCode = (code: string) => (error: RequestError) => error.code === code;

describe("edit, delete and react", () => {
  const dir = tempDir();
  let stores: Stores;
  let node: TestNode;
  before(async () => {
    stores = openLmdbStores({ path: join(dir, "lmdb") });
    node = await TestNode.start({ overrides: { stores } });
  });
  after(async () => {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reaches online and offline members in order, and deletes leave no text behind", async () => {
    const chat = directChatId("writer", "viewer");
    const writer = await node.connect("writer");
    const viewer = await node.connect("viewer");
    const original = await writer.send("viewer", "secret draft");
    const other = await writer.send("viewer", "second");
    await viewer.waitForMessages(2, chat);

    const edited = await writer.operate("edit", chat, original.seq, { body: "secret, edited" });
    assert.equal(edited.seq, 3);
    const edit = await viewer.waitFor<EditFrame>((f) => f.t === "edit");
    assert.deepEqual({ ...edit, ts: 0 }, { t: "edit", chat, seq: original.seq, body: "secret, edited", by: "writer", ts: 0, pos: 3 });

    await viewer.operate("react", chat, other.seq, { emoji: "👍" });
    const react = await writer.waitFor<ReactFrame>((f) => f.t === "react");
    assert.deepEqual([react.seq, react.user, react.emoji], [other.seq, "viewer", "👍"]);

    // Only the sender edits or deletes; the target must exist.
    await assert.rejects(viewer.operate("edit", chat, original.seq, { body: "mine now" }), isCode("forbidden"));
    await assert.rejects(viewer.operate("delete", chat, original.seq), isCode("forbidden"));
    await assert.rejects(writer.operate("edit", chat, 99, { body: "x" }), isCode("not_found"));
    await assert.rejects(writer.operate("react", chat, 3, { emoji: "x" }), isCode("not_found"));
    await assert.rejects(writer.operate("edit", directChatId("someone", "viewer"), 1, { body: "x" }), isCode("forbidden"));

    // Events reach a member who was offline, after the message, in order.
    await viewer.close();
    await writer.operate("delete", chat, original.seq);
    await writer.operate("react", chat, other.seq, { emoji: "🎉" });
    await writer.operate("react", chat, other.seq, { emoji: "" });
    await assert.rejects(writer.operate("edit", chat, original.seq, { body: "too late" }), isCode("conflict"));
    const back = await node.connect("viewer");
    const replayed = back.frames.filter((f) => f.t === "delete" || f.t === "react");
    assert.deepEqual(
      replayed.map((f) => [f.t, (f as DeleteFrame | ReactFrame).seq, (f as ReactFrame).emoji ?? null, (f as DeleteFrame).pos]),
      [["delete", original.seq, null, 5], ["react", other.seq, "🎉", 6], ["react", other.seq, "", 7]],
    );

    // History shows the current state.
    const page = await back.history(chat);
    assert.deepEqual(page.msgs.map((m) => [m.seq, m.body, m.deleted ?? false]), [[1, "", true], [2, "second", false]]);
    assert.deepEqual(page.msgs[1]?.reactions, { viewer: "👍" });

    // The store keeps the tombstone and no copy of the deleted text anywhere.
    const entries = await stores.messages.readAfter(chat, 0, 100);
    assert.equal(entries.length, 7);
    const stored = JSON.stringify(entries);
    assert.equal(stored.includes("secret"), false);
    assert.equal(entries[0]?.deleted, true);
    await Promise.all([writer.close(), back.close()]);
  });

  it("edits and reacts to a message far behind the chat's latest, read back from the store", async () => {
    const chat = directChatId("archivist", "reader");
    const archivist = await node.connect("archivist");
    const reader = await node.connect("reader");
    const first = await archivist.send("reader", "the first of many");
    // Far more than a chat keeps in memory, so the first is only in the store now.
    for (let i = 0; i < 150; i += 1) await archivist.send("reader", `filler ${i}`);
    await reader.waitForMessages(151, chat);

    await reader.operate("react", chat, first.seq, { emoji: "📜" });
    const edited = await archivist.operate("edit", chat, first.seq, { body: "the first, edited" });
    const edit = await reader.waitFor<EditFrame>((f) => f.t === "edit" && f.seq === first.seq);
    assert.deepEqual([edit.body, edit.pos], ["the first, edited", edited.seq]);
    await assert.rejects(archivist.operate("react", chat, edited.seq, { emoji: "x" }), isCode("not_found"));

    const page = await reader.history(chat, 2, 1);
    assert.deepEqual(page.msgs.map((m) => [m.seq, m.body, m.reactions]), [[first.seq, "the first, edited", { reader: "📜" }]]);
    await Promise.all([archivist.close(), reader.close()]);
  });

  it("works in groups and within the edit and delete windows only", async () => {
    // The windows are read on the node's clock, which this test moves on.
    const clock = new ManualClock();
    const node2 = await TestNode.start({
      config: (c) => {
        c.messages.editWindowMs = 60_000;
        c.messages.deleteWindowMs = 120_000;
      },
      overrides: { clock },
    });
    try {
      const [a, b] = await Promise.all([node2.connect("ea"), node2.connect("eb")]);
      const group = await a!.group("create", { name: "ops", members: ["eb"] });
      const sent = await a!.sendToGroup(group.chat, "hello");
      // At the edit window's last moment an edit is on time; a moment later it is late.
      clock.advance(60_000);
      await a!.operate("edit", group.chat, sent.seq, { body: "just in time" });
      clock.advance(1);
      await assert.rejects(a!.operate("edit", group.chat, sent.seq, { body: "late" }), isCode("too_late"));
      await b!.operate("react", group.chat, sent.seq, { emoji: "❤️" });
      const reaction = await a!.waitFor<ReactFrame>((f) => f.t === "react");
      assert.equal(reaction.chat, group.chat);
      // Past the edit window, still within the delete window.
      await a!.operate("delete", group.chat, sent.seq);
      await b!.waitFor((f) => f.t === "delete");
      const kept = await a!.sendToGroup(group.chat, "kept");
      clock.advance(120_001);
      await assert.rejects(a!.operate("delete", group.chat, kept.seq), isCode("too_late"));
      await Promise.all([a!.close(), b!.close()]);
    } finally {
      await node2.stop();
    }
  });
});
