import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { PresignedRequest } from "../../src/storage/media.ts";
import { S3MediaStore } from "../../src/storage/media/s3-media-store.ts";
import { ManualClock } from "../../src/util/clock.ts";
import { directChatId } from "../../src/protocol/frames.ts";
import { startS3, type TestS3 } from "../support/s3.ts";
import { TestNode, tempDir } from "../support/node.ts";
import { auth, download, ref, sampleBytes, sha256, upload } from "./helpers.ts";

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Uint8Array));
  return Buffer.concat(parts);
}

describe("S3 media store against s3rver", () => {
  let s3: TestS3;
  let store: S3MediaStore;
  before(async () => {
    s3 = await startS3();
    store = await S3MediaStore.open({ ...s3, bucket: "media-store", createBucket: true });
  });
  after(async () => {
    await store.close();
    await s3.stop();
  });

  it("puts, describes, reads ranges and links objects", async () => {
    const bytes = sampleBytes(10_000);
    const staged = join(tempDir(), "staged");
    writeFileSync(staged, bytes);
    const info = { id: "a".repeat(32), uploader: "amy", mime: "image/webp", size: bytes.length, sha256: sha256(bytes), createdAt: 1234 };
    await store.put(info, staged);
    assert.deepEqual(await store.info(info.id), info);
    assert.equal(await store.info("b".repeat(32)), undefined);
    assert.ok((await streamToBuffer(await store.read(info.id))).equals(bytes));
    assert.ok((await streamToBuffer(await store.read(info.id, { start: 100, end: 199 }))).equals(bytes.subarray(100, 200)));
    assert.deepEqual(await store.chatsOf(info.id), []);
    await store.link("d:amy:ben", info.id);
    await store.link("g:abcdefgh12", info.id);
    await store.link("d:amy:ben", info.id);
    assert.deepEqual((await store.chatsOf(info.id)).sort(), ["d:amy:ben", "g:abcdefgh12"]);
    // A status's link goes when the status does (expiry sweep, delete); unlinking twice is fine.
    await store.link("s:amy:0000000000abcdefghijkl", info.id);
    await store.unlink("s:amy:0000000000abcdefghijkl", info.id);
    await store.unlink("s:amy:0000000000abcdefghijkl", info.id);
    assert.deepEqual((await store.chatsOf(info.id)).sort(), ["d:amy:ben", "g:abcdefgh12"]);
  });

  it("hands out presigned URLs that work without credentials, and only as signed", async () => {
    const bytes = sampleBytes(5000);
    const info = { id: "c".repeat(32), uploader: "cat", mime: "audio/ogg", size: bytes.length, sha256: sha256(bytes), createdAt: 99 };
    const put = await store.presignUpload(info, 60);
    assert.equal(put.method, "PUT");
    const uploaded = await fetch(put.url, { method: "PUT", headers: put.headers, body: bytes as Uint8Array<ArrayBuffer> });
    assert.equal(uploaded.status, 200, await uploaded.text());
    assert.deepEqual(await store.confirmUpload(info.id), info);

    const get = await store.presignDownload(info.id, 60);
    const whole = await fetch(get.url);
    assert.equal(whole.status, 200);
    // A browser handed the URL downloads the uploader's bytes rather than rendering them.
    assert.equal(whole.headers.get("content-disposition"), "attachment");
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes));
    const part = await fetch(get.url, { headers: { range: "bytes=10-19" } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20)));

    // URLs die: a client that once had access cannot keep fetching forever. The S3 server
    // checks expiry on its own clock, so the URLs are signed two minutes ago instead of
    // waiting for one to expire. (s3rver does not verify SigV4 signatures themselves, so a
    // forged-signature check needs real S3.)
    const signedEarlier = await S3MediaStore.open({ ...s3, bucket: "media-store", clock: new ManualClock(Date.now() - 120_000) });
    try {
      const expired = await signedEarlier.presignDownload(info.id, 60);
      assert.ok(expired.expiresAt < Date.now());
      assert.equal((await fetch(expired.url)).status, 403);
      const running = await signedEarlier.presignDownload(info.id, 600);
      assert.equal((await fetch(running.url)).status, 200, "signed in the past, not yet expired: still good");
    } finally {
      await signedEarlier.close();
    }
  });

  describe("behind a router node", () => {
    let node: TestNode;
    before(async () => {
      const media = await S3MediaStore.open({ ...s3, bucket: "node-media", createBucket: true });
      node = await TestNode.start({ overrides: { media } });
    });
    after(async () => {
      await node.stop();
    });

    it("uploads through the router, downloads with ranges and checks membership", async () => {
      const bytes = sampleBytes(70_000);
      const uploaded = await upload(node, "dan", bytes, "video/mp4");
      assert.equal(uploaded.sha256, sha256(bytes));
      const dan = await node.connect("dan");
      await dan.request({ t: "send", cid: "d-1", to: "eve", body: "", kind: "media", media: ref(uploaded) });
      const whole = await download(node, "eve", uploaded.id);
      assert.equal(whole.status, 200);
      assert.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes));
      const tail = await download(node, "eve", uploaded.id, { range: "bytes=-10" });
      assert.equal(tail.status, 206);
      assert.ok(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10)));
      assert.equal((await download(node, "fay", uploaded.id)).status, 403);
      await dan.close();
    });

    it("lets clients move the bytes straight to and from the bucket with presigned URLs", async () => {
      const bytes = sampleBytes(40_000);
      const asked = await fetch(`${node.httpUrl}/media/uploads`, {
        method: "POST",
        headers: { ...(await auth(node, "gil")), "content-type": "application/json" },
        body: JSON.stringify({ mime: "image/jpeg", size: bytes.length, sha256: sha256(bytes) }),
      });
      assert.equal(asked.status, 200);
      const { id, upload: put } = (await asked.json()) as { id: string; upload: PresignedRequest };
      assert.equal((await fetch(put.url, { method: "PUT", headers: put.headers, body: bytes as Uint8Array<ArrayBuffer> })).status, 200);
      const done = await fetch(`${node.httpUrl}/media/${id}/complete`, { method: "POST", headers: await auth(node, "gil") });
      assert.equal(done.status, 200);
      const described = (await done.json()) as { id: string; mime: string; size: number; sha256: string };
      assert.deepEqual(described, { id, mime: "image/jpeg", size: bytes.length, sha256: sha256(bytes) });

      const gil = await node.connect("gil");
      await gil.request({ t: "send", cid: "g-1", to: "hal", body: "", kind: "media", media: described });
      const link = await fetch(`${node.httpUrl}/media/${id}/url`, { headers: await auth(node, "hal") });
      assert.equal(link.status, 200);
      const { download: get } = (await link.json()) as { download: PresignedRequest };
      const fetched = await fetch(get.url);
      assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(bytes));
      assert.equal((await fetch(`${node.httpUrl}/media/${id}/url`, { headers: await auth(node, "ivy") })).status, 403);
      // Every route answers a missing token alike: 401 with the Bearer challenge.
      for (const [path, method] of [["/media/uploads", "POST"], [`/media/${id}/complete`, "POST"], [`/media/${id}/url`, "GET"], [`/media/${id}`, "GET"]] as const) {
        const refused = await fetch(`${node.httpUrl}${path}`, { method, ...(method === "POST" ? { body: "{}", headers: { "content-type": "application/json" } } : {}) });
        assert.equal(refused.status, 401, `${method} ${path}`);
        assert.equal(refused.headers.get("www-authenticate"), "Bearer", `${method} ${path}`);
        await refused.arrayBuffer();
      }
      assert.equal(directChatId("gil", "hal"), "d:gil:hal");
      await gil.close();
    });
  });
});
