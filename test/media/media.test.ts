import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { directChatId, type GroupFrame } from "../../src/protocol/frames.ts";
import { RequestError } from "../../sdk/client.ts";
import { downloadMedia, MediaError, uploadMedia } from "../../sdk/media.ts";
import { TestNode, tokenFor } from "../support/node.ts";
import { auth, download, ref, sampleBytes, sha256, upload } from "./helpers.ts";

describe("media over HTTP (file store)", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start({ config: (config) => (config.media.maxUploadBytes = 256 * 1024) });
  });
  after(async () => {
    await node.stop();
  });

  it("uploads, references the upload in a message, and lets the other member download it", async () => {
    const bytes = sampleBytes(150_000);
    const uploaded = await upload(node, "mia", bytes, "image/png");
    assert.match(uploaded.id, /^[0-9a-f]{32}$/);
    assert.deepEqual({ mime: uploaded.mime, size: uploaded.size, sha256: uploaded.sha256 }, { mime: "image/png", size: bytes.length, sha256: sha256(bytes) });

    const mia = await node.connect("mia");
    const noah = await node.connect("noah");
    const thumb = new Uint8Array([1, 2, 3, 4]);
    const sent = await mia.request({ t: "send", cid: "m-1", to: "noah", body: "look", kind: "media", media: ref(uploaded, thumb) });
    assert.equal(sent.t, "sent");
    const [msg] = await noah.waitForMessages(1, directChatId("mia", "noah"));
    assert.equal(msg!.kind, "media");
    assert.deepEqual({ ...msg!.media, thumb: new Uint8Array(msg!.media!.thumb!) }, { ...ref(uploaded), thumb });

    // The message survives in history with its reference.
    const page = await noah.history(directChatId("mia", "noah"));
    assert.equal(page.msgs[0]!.media?.id, uploaded.id);

    const response = await download(node, "noah", uploaded.id);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "image/png");
    assert.equal(response.headers.get("accept-ranges"), "bytes");
    assert.equal(response.headers.get("content-length"), String(bytes.length));
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes));
    await mia.close();
    await noah.close();
  });

  it("serves media so a browser never runs it: nosniff, a sandboxing CSP, and attachment unless image, audio or video", async () => {
    const cases: Array<[string, "inline" | "attachment"]> = [
      ["image/png", "inline"],
      ["audio/ogg", "inline"],
      ["video/mp4", "inline"],
      ["IMAGE/JPEG; foo=bar", "inline"],
      ["image/svg+xml", "attachment"],
      ["text/html", "attachment"],
      ["text/html; charset=utf-8", "attachment"],
      ["application/xhtml+xml", "attachment"],
      ["application/javascript", "attachment"],
      ["application/octet-stream", "attachment"],
    ];
    for (const [mime, disposition] of cases) {
      const uploaded = await upload(node, "xena", Buffer.from("<script>alert(1)</script>"), mime);
      for (const range of [undefined, "bytes=0-3"]) {
        const response = await download(node, "xena", uploaded.id, range ? { range } : {});
        assert.equal(response.status, range ? 206 : 200);
        assert.equal(response.headers.get("content-type"), mime, "the uploader's type is kept for the client");
        assert.equal(response.headers.get("x-content-type-options"), "nosniff", mime);
        assert.equal(response.headers.get("content-disposition"), disposition, mime);
        const csp = response.headers.get("content-security-policy") ?? "";
        assert.match(csp, /default-src 'none'/, mime);
        assert.match(csp, /sandbox/, mime);
        await response.arrayBuffer();
      }
    }
  });

  it("refuses a non-member (403), a missing or bad token (401) and an unknown id (404)", async () => {
    const uploaded = await upload(node, "olga", sampleBytes(1000));
    const olga = await node.connect("olga");
    await olga.request({ t: "send", cid: "o-1", to: "pete", body: "", kind: "media", media: ref(uploaded) });

    assert.equal((await download(node, "olga", uploaded.id)).status, 200, "the uploader");
    assert.equal((await download(node, "pete", uploaded.id)).status, 200, "the other member");
    const stranger = await download(node, "quinn", uploaded.id);
    assert.equal(stranger.status, 403);
    assert.equal(((await stranger.json()) as { code: string }).code, "forbidden");
    assert.equal((await download(node, undefined, uploaded.id)).status, 401);
    const forged = await download(node, undefined, uploaded.id, { authorization: "Bearer not.a.token" });
    assert.equal(forged.status, 401);
    assert.equal(forged.headers.get("www-authenticate"), "Bearer");
    assert.equal((await download(node, "olga", "0".repeat(32))).status, 404);

    // Uploading needs a token too.
    const anonymous = await fetch(`${node.httpUrl}/media`, { method: "POST", body: new Uint8Array(10) });
    assert.equal(anonymous.status, 401);
    await olga.close();
  });

  it("lets only current group members download what was sent to the group", async () => {
    const rita = await node.connect("rita");
    const group = (await rita.group("create", { name: "pics", members: ["sam"] })) as GroupFrame;
    const uploaded = await upload(node, "rita", sampleBytes(2048));
    await rita.request({ t: "send", cid: "g-1", group: group.chat, body: "", kind: "media", media: ref(uploaded) });
    assert.equal((await download(node, "sam", uploaded.id)).status, 200);
    assert.equal((await download(node, "tom", uploaded.id)).status, 403);
    await rita.group("remove", { chat: group.chat, user: "sam" });
    assert.equal((await download(node, "sam", uploaded.id)).status, 403, "removed members lose access");
    await rita.close();
  });

  it("refuses references to media the sender cannot read, or that do not match the upload", async () => {
    const uploaded = await upload(node, "uma", sampleBytes(500));
    const victor = await node.connect("victor");
    // Knowing an id is not enough to pull it into one's own chat.
    await assert.rejects(
      victor.request({ t: "send", cid: "v-1", to: "wendy", body: "", kind: "media", media: ref(uploaded) }),
      (error: unknown) => error instanceof RequestError && error.code === "forbidden",
    );
    assert.equal((await download(node, "wendy", uploaded.id)).status, 403);
    const uma = await node.connect("uma");
    await assert.rejects(
      uma.request({ t: "send", cid: "u-1", to: "wendy", body: "", kind: "media", media: { ...ref(uploaded), size: 1 } }),
      (error: unknown) => error instanceof RequestError && error.code === "invalid_field",
    );
    await assert.rejects(
      uma.request({ t: "send", cid: "u-2", to: "wendy", body: "", kind: "media" }),
      (error: unknown) => error instanceof RequestError && error.code === "invalid_field",
    );
    await assert.rejects(
      uma.request({ t: "send", cid: "u-3", to: "wendy", body: "", kind: "media", media: { ...ref(uploaded), id: "../etc" } }),
      (error: unknown) => error instanceof RequestError && error.code === "invalid_field",
    );
    // A member may forward what they received into another chat.
    await uma.request({ t: "send", cid: "u-4", to: "wendy", body: "", kind: "media", media: ref(uploaded) });
    const wendy = await node.connect("wendy");
    await wendy.request({ t: "send", cid: "w-1", to: "xena", body: "fwd", kind: "media", media: ref(uploaded) });
    assert.equal((await download(node, "xena", uploaded.id)).status, 200);
    await victor.close();
    await uma.close();
    await wendy.close();
  });

  it("serves single ranges for resumable download", async () => {
    const bytes = sampleBytes(100_000);
    const uploaded = await upload(node, "yara", bytes);
    const first = await download(node, "yara", uploaded.id, { range: "bytes=0-99" });
    assert.equal(first.status, 206);
    assert.equal(first.headers.get("content-range"), `bytes 0-99/${bytes.length}`);
    assert.equal(first.headers.get("content-length"), "100");
    assert.ok(Buffer.from(await first.arrayBuffer()).equals(bytes.subarray(0, 100)));

    const suffix = await download(node, "yara", uploaded.id, { range: "bytes=-500" });
    assert.equal(suffix.status, 206);
    assert.equal(suffix.headers.get("content-range"), `bytes ${bytes.length - 500}-${bytes.length - 1}/${bytes.length}`);
    assert.ok(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(bytes.length - 500)));

    // Resume: a client that holds 60,000 bytes asks for the rest.
    const rest = await download(node, "yara", uploaded.id, { range: "bytes=60000-" });
    assert.equal(rest.status, 206);
    assert.equal(rest.headers.get("content-range"), `bytes 60000-${bytes.length - 1}/${bytes.length}`);
    const resumed = Buffer.concat([bytes.subarray(0, 60_000), Buffer.from(await rest.arrayBuffer())]);
    assert.equal(sha256(resumed), uploaded.sha256);

    const beyond = await download(node, "yara", uploaded.id, { range: `bytes=${bytes.length}-` });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get("content-range"), `bytes */${bytes.length}`);
    await beyond.arrayBuffer();

    // An end past the object is clamped, not refused.
    const clamped = await download(node, "yara", uploaded.id, { range: `bytes=99990-200000` });
    assert.equal(clamped.status, 206);
    assert.equal((await clamped.arrayBuffer()).byteLength, 10);
  });

  it("refuses uploads over the configured limit, from Content-Length and while streaming", async () => {
    const limit = node.config.media.maxUploadBytes;
    const declared = await fetch(`${node.httpUrl}/media`, {
      method: "POST",
      headers: { ...(await auth(node, "zoe")), "content-type": "video/mp4" },
      body: new Uint8Array(limit + 1),
    }).catch((error: unknown) => error);
    assert.ok(declared instanceof Response, `expected an answer, got ${String(declared)}`);
    assert.equal(declared.status, 413);

    // Chunked: no Content-Length, so the limit is enforced on the bytes as they arrive.
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > limit * 4) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const streamed = await fetch(`${node.httpUrl}/media`, {
      method: "POST",
      headers: { ...(await auth(node, "zoe")), "content-type": "video/mp4" },
      body,
      duplex: "half",
    } as RequestInit).catch((error: unknown) => error);
    if (streamed instanceof Response) assert.equal(streamed.status, 413);
    else assert.ok(sent <= limit * 4 + chunk.length, "the server cut the upload off");

    // Exactly at the limit is fine.
    const atLimit = await upload(node, "zoe", new Uint8Array(limit), "video/mp4");
    assert.equal(atLimit.size, limit);
    // Refused uploads leave nothing behind in the staging area.
    const staging = join(node.config.dataDir, "media", "staging");
    for (let i = 0; i < 50 && readdirSync(staging).length > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(readdirSync(staging), []);
  });

  it("works through the SDK: upload, sendMedia, resumed download", async () => {
    const bytes = sampleBytes(30_000);
    const media = await uploadMedia(node.httpUrl, await tokenFor("kim", undefined, node.config.secret), bytes, "audio/ogg");
    const kim = await node.connect("kim");
    const lou = await node.connect("lou");
    await kim.sendMedia({ to: "lou" }, media, "voice note");
    const [msg] = await lou.waitForMessages(1, directChatId("kim", "lou"));
    const louToken = await tokenFor("lou", undefined, node.config.secret);
    const head = (await downloadMedia(node.httpUrl, louToken, msg!.media!.id)).subarray(0, 12_345);
    const rest = await downloadMedia(node.httpUrl, louToken, msg!.media!.id, head.length);
    assert.equal(sha256(Buffer.concat([head, rest])), msg!.media!.sha256);
    await assert.rejects(downloadMedia(node.httpUrl, await tokenFor("max", undefined, node.config.secret), media.id), (error: unknown) => error instanceof MediaError && error.status === 403);
    await kim.close();
    await lou.close();
  });

  it("streams a large object to a slow reader without losing bytes", async () => {
    const big = await TestNode.start({ config: (config) => (config.media.maxUploadBytes = 32 * 1024 * 1024) });
    try {
      const bytes = sampleBytes(20 * 1024 * 1024);
      const uploaded = await upload(big, "ann", bytes, "application/octet-stream");
      assert.equal(uploaded.sha256, sha256(bytes));
      const response = await download(big, "ann", uploaded.id);
      const reader = response.body!.getReader();
      const parts: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        // Reading slowly fills the socket, so the server must wait for onWritable.
        if (parts.length % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(sha256(Buffer.concat(parts)), uploaded.sha256);
    } finally {
      await big.stop();
    }
  });
});
