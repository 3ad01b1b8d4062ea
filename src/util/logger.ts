import pino, { type Logger } from "pino";

export type { Logger };

/** The process-wide root logger; components take a child with `{ component }` bound. */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({ level, base: { node: nodeId }, timestamp: pino.stdTimeFunctions.isoTime });
}
