import { createHash } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "../util/logger.ts";

/** How a sink slows its sender down: the socket's pause and resume. */
export interface Flow {
  pause(): void;
  resume(): void;
}

/** An upload's bytes, all staged on disk for the store to take. */
export interface StagedUpload {
  path: string;
  uploader: string;
  size: number;
  sha256: string;
}

/** Where an upload ended up; `complete` may still turn `aborted` or `failed` until the store took it. */
export type UploadOutcome =
  | { state: "complete"; staged: StagedUpload }
  | { state: "too-large"; limit: number }
  | { state: "failed"; error: unknown }
  | { state: "aborted" };

/**
 * An upload's phases. While receiving, bytes go to memory until the uploader is known (nothing
 * touches disk for a stranger, and the sender is paused meanwhile), then to the staging file;
 * `closing` waits for the file to be flushed.
 */
type Phase =
  | { state: "receiving"; into: "memory"; held: Buffer[]; allIn: boolean }
  | { state: "receiving"; into: "file"; file: WriteStream; uploader: string }
  | { state: "closing"; file: WriteStream; uploader: string }
  | UploadOutcome;

export interface UploadSinkOptions {
  /** The staging file to create (it must not exist). */
  path: string;
  maxBytes: number;
  flow: Flow;
  /** Told of every outcome, synchronously as it happens. */
  settled(outcome: UploadOutcome): void;
  log: Logger;
}

/**
 * One upload streamed to a staging file while being hashed:
 * receiving → closing → complete, or aborted, too-large or failed on the way; a complete
 * upload is still aborted (its file removed) if the client leaves, or failed if the store
 * refuses it, until the store has taken the file. Whatever ends it early removes the file.
 */
export class UploadSink {
  private phase: Phase = { state: "receiving", into: "memory", held: [], allIn: false };
  private size = 0;
  private readonly hash = createHash("sha256");

  constructor(private readonly options: UploadSinkOptions) {}

  get state(): Phase["state"] {
    return this.phase.state;
  }

  /** A chunk from the client (its memory may be reused once this returns); `isLast` ends the body. */
  feed(chunk: ArrayBuffer | Uint8Array, isLast: boolean): void {
    const phase = this.phase;
    if (phase.state !== "receiving") return;
    this.size += chunk.byteLength;
    if (this.size > this.options.maxBytes) return this.settle({ state: "too-large", limit: this.options.maxBytes });
    const copy = Buffer.from(chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk));
    this.hash.update(copy);
    if (phase.into === "memory") {
      phase.held.push(copy);
      phase.allIn = isLast;
      this.options.flow.pause();
      return;
    }
    this.write(phase.file, copy);
    if (isLast) this.close(phase.file, phase.uploader);
  }

  /** The uploader is known: what was held and what follows goes to the staging file. */
  async open(uploader: string): Promise<void> {
    try {
      await mkdir(dirname(this.options.path), { recursive: true });
    } catch (error) {
      return this.fail(error);
    }
    const phase = this.phase;
    if (phase.state !== "receiving" || phase.into !== "memory") return;
    const file = createWriteStream(this.options.path, { flags: "wx" });
    file.on("error", (error) => this.fail(error));
    this.phase = { state: "receiving", into: "file", file, uploader };
    for (const chunk of phase.held) this.write(file, chunk);
    if (phase.allIn) this.close(file, uploader);
    else if (file.writableNeedDrain === false) this.options.flow.resume();
  }

  /** The client went away, or was refused. */
  abort(): void {
    if (this.active()) this.settle({ state: "aborted" });
  }

  /** Writing the file failed, or the store refused it. */
  fail(error: unknown): void {
    if (this.active()) this.settle({ state: "failed", error });
  }

  /** Receiving, closing, or complete but not yet taken by the store: it can still end otherwise. */
  private active(): boolean {
    return this.phase.state === "receiving" || this.phase.state === "closing" || this.phase.state === "complete";
  }

  private write(file: WriteStream, chunk: Buffer): void {
    if (file.write(chunk)) return;
    this.options.flow.pause();
    file.once("drain", () => this.options.flow.resume());
  }

  private close(file: WriteStream, uploader: string): void {
    this.phase = { state: "closing", file, uploader };
    file.end(() => {
      if (this.phase.state !== "closing") return;
      // A socket left paused stays paused for the next request on this keep-alive connection.
      this.options.flow.resume();
      this.settle({ state: "complete", staged: { path: this.options.path, uploader, size: this.size, sha256: this.hash.digest("hex") } });
    });
  }

  private settle(outcome: UploadOutcome): void {
    if (outcome.state !== "complete") this.discard();
    this.phase = outcome;
    this.options.settled(outcome);
  }

  private discard(): void {
    const phase = this.phase;
    if (phase.state === "receiving" && phase.into === "file") phase.file.destroy();
    if (phase.state === "closing") phase.file.destroy();
    rm(this.options.path, { force: true }).catch((error: unknown) => {
      // The request has its answer already; what is left is an orphan in staging.
      this.options.log.warn({ err: error, path: this.options.path }, "staged upload not removed");
    });
  }
}
