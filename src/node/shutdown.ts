import type { Logger } from "../util/logger.ts";

/** How long a step may take unless it says otherwise: generous, a busy machine closes slowly. */
const DEFAULT_DEADLINE_MS = 30_000;

export interface ShutdownStep {
  /** Fixed lowercase words: it is logged. */
  name: string;
  run(): unknown;
  /** After this long the step is logged as overrun and the next one starts. */
  deadlineMs?: number;
}

/**
 * What the node must undo, in the order it must be undone. Each part of a start adds its steps
 * once it has opened something; stopping runs them newest first, one at a time, each logged
 * with its duration. A start that fails half-way runs the same steps (those added so far), so
 * the process can exit and an in-process test can start another node on the same directory.
 *
 * A step that fails or overruns its deadline is logged and the next one runs anyway: the
 * data directory lock, added first, is always released last.
 */
export class Shutdown {
  private readonly steps: ShutdownStep[] = [];
  private running: Promise<void> | undefined;
  private markFinished: () => void = () => undefined;
  /** Settles once the steps have run, whoever ran them. */
  readonly finished = new Promise<void>((resolve) => (this.markFinished = resolve));

  constructor(private readonly log: Logger) {}

  /** Adds a step to run before every step added earlier. */
  add(step: ShutdownStep): void {
    this.steps.push(step);
  }

  /** Runs every step added so far, newest first; later calls share the first run. */
  run(reason: "stop" | "failed start"): Promise<void> {
    this.running ??= this.runSteps(reason).then(this.markFinished);
    return this.running;
  }

  private async runSteps(reason: "stop" | "failed start"): Promise<void> {
    const began = Date.now();
    for (const step of [...this.steps].reverse()) {
      const started = Date.now();
      const outcome = await withinDeadline(step);
      const ms = Date.now() - started;
      if (outcome.type === "done") this.log.info({ step: step.name, ms, reason }, "shutdown step done");
      else if (outcome.type === "overran") this.log.warn({ step: step.name, ms, reason }, "shutdown step overran its deadline");
      else this.log.warn({ err: outcome.error, step: step.name, ms, reason }, "shutdown step failed");
    }
    if (reason === "stop") this.log.info({ ms: Date.now() - began }, "node stopped");
  }
}

type Outcome = { type: "done" } | { type: "overran" } | { type: "failed"; error: unknown };

async function withinDeadline(step: ShutdownStep): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const overran = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ type: "overran" }), step.deadlineMs ?? DEFAULT_DEADLINE_MS);
  });
  try {
    const done = Promise.resolve()
      .then(() => step.run())
      .then(
        (): Outcome => ({ type: "done" }),
        (error: unknown): Outcome => ({ type: "failed", error }),
      );
    return await Promise.race([done, overran]);
  } finally {
    clearTimeout(timer);
  }
}
