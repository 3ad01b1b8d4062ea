import { Writable } from "node:stream";
import pino from "pino";
import type { Logger } from "../../src/util/logger.ts";

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
  retryAfter: string | null;
  contentType: string | null;
}

/** POSTs `body` as it is (a string is sent raw), with JSON's content type unless told otherwise. */
export async function post(base: string, path: string, body: unknown, contentType = "application/json"): Promise<HttpAnswer> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>),
    retryAfter: response.headers.get("retry-after"),
    contentType: response.headers.get("content-type"),
  };
}

let phones = 0;
/** A phone number no other test of this process uses, as a user would type it and as E.164. */
export function freshPhone(): string {
  phones += 1;
  return `+4420${String(process.pid % 10_000).padStart(4, "0")}${String(phones).padStart(4, "0")}`;
}

/** A pino logger whose lines the test can read: to check what was (and was not) logged. */
export class CapturedLog {
  readonly lines: string[] = [];
  readonly logger: Logger;

  constructor(level = "info") {
    const lines = this.lines;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(line);
        done();
      },
    });
    this.logger = pino({ level }, sink);
  }

  /**
   * Lines holding `text` as a whole word: a 6-digit code also occurs inside timestamps by chance,
   * never standing alone.
   */
  containing(text: string): string[] {
    const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const word = new RegExp(`(?<![A-Za-z0-9_-])${escaped}(?![A-Za-z0-9_-])`);
    return this.lines.filter((line) => word.test(line));
  }

  /** Waits for a line that `match` accepts; pino writes through a stream, so lines land a tick later. */
  async next(match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (match(parsed)) return parsed;
      }
      if (Date.now() > deadline) throw new Error("no such log line");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
