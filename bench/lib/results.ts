import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeMachine, type MachineDescription } from "./machine.ts";
import { REPO_ROOT } from "./router-process.ts";

export const RESULTS_DIR = join(REPO_ROOT, "bench", "results");

export interface ScenarioRecord<T = unknown> {
  scenario: string;
  startedAt: string;
  durationSeconds: number;
  machine: MachineDescription;
  options: Record<string, unknown>;
  result: T;
}

export function makeRecord<T>(scenario: string, startedAt: Date, options: object, result: T): ScenarioRecord<T> {
  return {
    scenario,
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: describeMachine(),
    options: { ...options },
    result,
  };
}

export function writeRecord(dir: string, record: ScenarioRecord): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${record.scenario}.json`);
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
  return path;
}

/** Every scenario's latest record in `dir`, by scenario name. */
export function readRecords(dir: string): Map<string, ScenarioRecord> {
  const out = new Map<string, ScenarioRecord>();
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".json")) continue;
    try {
      const record = JSON.parse(readFileSync(join(dir, name), "utf8")) as ScenarioRecord;
      if (typeof record.scenario === "string" && record.result !== undefined) out.set(record.scenario, record);
    } catch {
      // Not a scenario record (ring.json has its own shape).
    }
  }
  return out;
}
