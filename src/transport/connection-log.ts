import type { Logger } from "../util/logger.ts";
import { TokenBucket } from "./rate-limiter.ts";

/**
 * The life of each connection at info level, so an operator can follow one user: opened (with
 * the peer's address), hello (user and device), closed (code and duration), every line with the
 * connection id. Never a token, a frame or a body. Rate-limited, so a reconnect storm cannot
 * flood the log: beyond the budget lines are counted, and the count is logged once lines flow
 * again.
 */
export class ConnectionLog {
  private readonly budget: TokenBucket;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    linesPerSecond = 200,
    burst = 1000,
  ) {
    this.budget = new TokenBucket(linesPerSecond, burst);
  }

  opened(conn: number, address: string): void {
    this.line({ conn, address }, "connection opened");
  }

  hello(conn: number, user: string, device: string): void {
    this.line({ conn, user, device }, "connection hello");
  }

  closed(conn: number, user: string | undefined, device: string | undefined, code: number, durationMs: number): void {
    this.line({ conn, ...(user ? { user, device } : {}), code, durationMs: Math.round(durationMs) }, "connection closed");
  }

  private line(fields: Record<string, unknown>, msg: string): void {
    if (!this.log.isLevelEnabled("info")) return;
    if (!this.budget.take()) {
      this.suppressed += 1;
      return;
    }
    if (this.suppressed > 0) {
      this.log.info({ suppressed: this.suppressed }, "connection log lines suppressed");
      this.suppressed = 0;
    }
    this.log.info(fields, msg);
  }
}
