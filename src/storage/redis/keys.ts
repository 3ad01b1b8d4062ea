/**
 * Every key the router writes, under one prefix (one per cluster, or per test). The part in
 * braces is Redis' hash tag: the keys a script touches together share one, so they would
 * share a slot in a clustered Redis.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  online(user: string): string {
    return `${this.prefix}online:{${user}}`;
  }

  lastSeen(user: string): string {
    return `${this.prefix}seen:{${user}}`;
  }

  rate(key: string, window: number): string {
    return `${this.prefix}rate:{${key}}:${window}`;
  }

  /** Token revocations and their version share a hash tag: one script writes both. */
  revocations(): string {
    return `${this.prefix}revoked:{revocations}`;
  }

  revocationsVersion(): string {
    return `${this.prefix}revoked-version:{revocations}`;
  }
}
