import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { UploadSink, type UploadOutcome } from "../../../src/media/upload-sink.ts";
import { eventually } from "../../support/flood.ts";

// The upload sink on its own: chunks fed as uWS would feed them, a real staging directory,
// and the socket's pause / resume recorded instead of a socket.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "upload-sink-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;

function sinkFor(maxBytes: number, path = join(dir, "staging", `upload-${++counter}`)) {
  const outcomes: UploadOutcome[] = [];
  const waiters: Array<() => void> = [];
  const flow = { paused: false, pauses: 0, resumes: 0 };
  const sink = new UploadSink({
    path,
    maxBytes,
    flow: {
      pause: () => {
        flow.paused = true;
        flow.pauses += 1;
      },
      resume: () => {
        flow.paused = false;
        flow.resumes += 1;
      },
    },
    settled: (outcome) => {
      outcomes.push(outcome);
      for (const wake of waiters.splice(0)) wake();
    },
    log: pino({ level: "silent" }),
  });
  /** The `n`th outcome (1-based), once it happened. */
  const outcome = async (n = 1): Promise<UploadOutcome> => {
    while (outcomes.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    return outcomes[n - 1]!;
  };
  return { sink, path, flow, outcomes, outcome };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function gone(path: string): Promise<void> {
  await eventually(async () => assert.equal(existsSync(path), false, `${path} should be removed`));
}

describe("upload sink", () => {
  it("holds chunks in memory, with the sender paused, until the uploader is known; then stages and hashes them", async () => {
    const { sink, path, flow, outcome } = sinkFor(1000);
    const bytes = randomBytes(300);
    sink.feed(bytes.subarray(0, 100), false);
    sink.feed(bytes.subarray(100, 200), false);
    assert.equal(flow.paused, true);
    assert.equal(existsSync(path), false, "nothing touches disk before the uploader is known");
    await sink.open("ann");
    assert.equal(flow.paused, false, "the sender resumes once the held bytes are written");
    sink.feed(bytes.subarray(200), true);
    const done = await outcome();
    assert.equal(done.state, "complete");
    assert.deepEqual(done.state === "complete" && done.staged, { path, uploader: "ann", size: 300, sha256: sha256(bytes) });
    assert.deepEqual(await readFile(path), bytes);
    assert.equal(sink.state, "complete");
  });

  it("completes a body that was all in before the uploader was known", async () => {
    const { sink, path, flow, outcome } = sinkFor(1000);
    const bytes = randomBytes(50);
    sink.feed(bytes, true);
    await sink.open("ann");
    const done = await outcome();
    assert.equal(done.state, "complete");
    assert.deepEqual(await readFile(path), bytes);
    assert.equal(flow.paused, false, "a socket left paused would stay paused for the next request");
  });

  it("copies each chunk, since uWS reuses a chunk's memory once the callback returns", async () => {
    const { sink, path, outcome } = sinkFor(1000);
    await sink.open("ann");
    const chunk = new Uint8Array([1, 2, 3, 4]);
    sink.feed(chunk.buffer, false);
    chunk.fill(9);
    sink.feed(chunk.buffer, true);
    assert.equal((await outcome()).state, "complete");
    assert.deepEqual([...(await readFile(path))], [1, 2, 3, 4, 9, 9, 9, 9]);
  });

  it("pauses the sender while the file is behind, and resumes it once the file drained", async () => {
    const { sink, flow, outcome } = sinkFor(1 << 20);
    await sink.open("ann");
    sink.feed(randomBytes(256 * 1024), false);
    assert.equal(flow.paused, true, "a write past the file's buffer pauses the sender");
    await eventually(async () => assert.equal(flow.paused, false));
    sink.feed(randomBytes(10), true);
    const done = await outcome();
    assert.equal(done.state === "complete" && done.staged.size, 256 * 1024 + 10);
  });

  it("turns too-large the moment the bytes pass the limit, removes what it staged and ignores the rest", async () => {
    const { sink, path, outcomes, outcome } = sinkFor(10);
    await sink.open("ann");
    sink.feed(randomBytes(6), false);
    sink.feed(randomBytes(6), false);
    assert.deepEqual(await outcome(), { state: "too-large", limit: 10 });
    sink.feed(randomBytes(1), true);
    await gone(path);
    assert.equal(outcomes.length, 1, "one outcome, however many chunks follow");
    assert.equal(sink.state, "too-large");
  });

  it("counts bytes held before the uploader is known against the limit too", async () => {
    const { sink, path, outcome } = sinkFor(10);
    sink.feed(randomBytes(11), true);
    assert.equal((await outcome()).state, "too-large");
    await sink.open("ann");
    assert.equal(existsSync(path), false, "a refused upload never reaches disk");
  });

  it("is aborted when the client leaves: while receiving, before the file is open, or once complete", async () => {
    const receiving = sinkFor(1000);
    await receiving.sink.open("ann");
    receiving.sink.feed(randomBytes(10), false);
    receiving.sink.abort();
    assert.deepEqual(await receiving.outcome(), { state: "aborted" });
    await gone(receiving.path);

    const early = sinkFor(1000);
    early.sink.feed(randomBytes(10), false);
    early.sink.abort();
    await early.sink.open("ann");
    assert.equal(existsSync(early.path), false, "an upload aborted before its uploader was known never reaches disk");

    const complete = sinkFor(1000);
    await complete.sink.open("ann");
    complete.sink.feed(randomBytes(10), true);
    assert.equal((await complete.outcome()).state, "complete");
    complete.sink.abort();
    assert.deepEqual(await complete.outcome(2), { state: "aborted" });
    await gone(complete.path);
  });

  it("fails when the store refuses a complete upload, and removes the staged file", async () => {
    const { sink, path, outcome } = sinkFor(1000);
    await sink.open("ann");
    sink.feed(randomBytes(10), true);
    assert.equal((await outcome()).state, "complete");
    const error = new Error("the store is down");
    sink.fail(error);
    assert.deepEqual(await outcome(2), { state: "failed", error });
    await gone(path);
    sink.abort();
    assert.equal(sink.state, "failed", "an ended upload stays as it ended");
  });

  it("fails when its staging directory cannot be made", async () => {
    const blocker = join(dir, `a-file-${++counter}`);
    await writeFile(blocker, "not a directory");
    const { sink, outcome } = sinkFor(1000, join(blocker, "staging", "upload"));
    sink.feed(randomBytes(10), true);
    await sink.open("ann");
    assert.equal((await outcome()).state, "failed");
  });
});
