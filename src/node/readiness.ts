import type { Logger } from "../util/logger.ts";

export interface ReadinessState {
  ready: boolean;
  /** Why not, for humans: one line per unmet condition. */
  reasons: string[];
}

const PROBE_INTERVAL_MS = 2_000;
const PROBE_TIMEOUT_MS = 5_000;

/**
 * `/readyz`: whether a load balancer should send this node new clients. Unlike `/healthz`
 * (liveness: the process serves, perhaps degraded, and a restart would not help), readiness
 * waits until the node holds its share of the ring and its message store answers, and ends as
 * soon as the node starts to stop. The store is probed in the background, so a probe never
 * holds a request and a storm of checks costs one query per interval.
 */
export class Readiness {
  private announced = false;
  private stopping = false;
  private storeFailure: string | undefined = "the message store was not checked yet";
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    private readonly probeStore: () => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.probe();
    this.timer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS);
    this.timer.unref();
  }

  /** Alone, from the start; in a cluster, once this node is in the ring and owns its share. */
  markAnnounced(): void {
    this.announced = true;
  }

  markStopping(): void {
    this.stopping = true;
    clearInterval(this.timer);
  }

  state(): ReadinessState {
    const reasons: string[] = [];
    if (this.stopping) reasons.push("stopping");
    if (!this.announced) reasons.push("not yet in the cluster's ring");
    if (this.storeFailure) reasons.push(this.storeFailure);
    return { ready: reasons.length === 0, reasons };
  }

  private async probe(): Promise<void> {
    if (this.probing || this.stopping) return;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.probeStore(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
        }),
      ]);
      if (this.storeFailure && this.announced) this.log.info("message store answers again; ready");
      this.storeFailure = undefined;
    } catch (error) {
      const failure = `the message store does not answer: ${error instanceof Error ? error.message : String(error)}`;
      if (this.storeFailure === undefined) this.log.warn({ err: error }, "message store does not answer; not ready");
      this.storeFailure = failure;
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }
}
