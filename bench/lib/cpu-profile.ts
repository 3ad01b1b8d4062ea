import { readFileSync } from "node:fs";
import { REPO_ROOT } from "./router-process.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionCost {
  name: string;
  location: string;
  area: string;
  selfMs: number;
  selfPercent: number;
  totalMs: number;
  totalPercent: number;
}

export interface AreaCost {
  area: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  /** Sampled wall time inside the window, and how much of it the main thread was busy. */
  windowMs: number;
  busyMs: number;
  idleMs: number;
  gcMs: number;
  /** Percentages are of busy time (everything but idle). */
  top: FunctionCost[];
  /** The router's own functions (src/) by inclusive time: which parts of its code the time goes through. */
  routerInclusive: FunctionCost[];
  areas: AreaCost[];
}

/** Which part of the stack a frame belongs to: a package, a router source file, or the runtime. */
function areaOf(url: string, name: string): string {
  if (name === "(garbage collector)") return "GC";
  if (name === "(program)") return "native (uWS, lmdb, syscalls: no JS frame)";
  if (!url) return name.startsWith("(") ? name : "native";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return "node internals";
  const local = sourceFileOf(url);
  return local.startsWith("src/") || local.startsWith("bin/") ? local : local.split("/").slice(-2).join("/");
}

/**
 * A frame's file as the repository names it. The bench runs the router compiled
 * (.cache/bench-build-<pid>/src/x.js, see compiled-router.ts): that is src/x.ts.
 */
export function sourceFileOf(url: string): string {
  const local = url.replace(/^file:\/\//, "").replace(`${REPO_ROOT}/`, "");
  const built = /^\.cache\/bench-build-\d+\/(src\/.*)\.js$/.exec(local);
  return built ? `${built[1]}.ts` : local;
}

function locationOf(url: string, line: number): string {
  if (!url) return "";
  const short = sourceFileOf(url).replace(/^.*node_modules\//, "");
  // tsx hands V8 transformed TypeScript, and tsc's output is not line for line the source
  // either: a source file is named without a line.
  return short.endsWith(".ts") ? short : `${short}:${line + 1}`;
}

/**
 * Self and total time per function from a V8 `.cpuprofile`, restricted to a window given in
 * CLOCK_MONOTONIC microseconds (V8's profile clock), so start-up and shutdown do not count.
 */
export function summarizeCpuProfile(path: string, window?: { startUs: number; endUs: number }, topCount = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const keyOf = (node: ProfileNode): string => `${node.callFrame.functionName || "(anonymous)"}\u0000${node.callFrame.url}\u0000${node.callFrame.lineNumber}`;

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const areas = new Map<string, number>();
  let windowUs = 0;
  let idleUs = 0;
  let gcUs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.startUs || at > window.endUs)) continue;
    // A sample stands for the time until the next one.
    const spanUs = profile.timeDeltas[i + 1] ?? delta;
    windowUs += spanUs;
    const leaf = byId.get(profile.samples[i]!);
    if (!leaf) continue;
    const name = leaf.callFrame.functionName;
    if (name === "(idle)") {
      idleUs += spanUs;
      continue;
    }
    if (name === "(garbage collector)") gcUs += spanUs;
    const leafKey = keyOf(leaf);
    self.set(leafKey, (self.get(leafKey) ?? 0) + spanUs);
    const area = areaOf(leaf.callFrame.url, name);
    areas.set(area, (areas.get(area) ?? 0) + spanUs);
    const seen = new Set<string>();
    for (let node: ProfileNode | undefined = leaf; node; node = byId.get(parent.get(node.id) ?? -1)) {
      const key = keyOf(node);
      if (seen.has(key) || node.callFrame.functionName === "(root)") continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + spanUs);
    }
  }

  const busyUs = windowUs - idleUs;
  const percent = (us: number): number => Math.round((1000 * us) / Math.max(1, busyUs)) / 10;
  const ms = (us: number): number => Math.round(us / 100) / 10;
  const cost = (key: string): FunctionCost => {
    const [name = "", url = "", line = "0"] = key.split("\u0000");
    const selfUs = self.get(key) ?? 0;
    const totalUs = total.get(key) ?? selfUs;
    return { name, location: locationOf(url, Number(line)), area: areaOf(url, name), selfMs: ms(selfUs), selfPercent: percent(selfUs), totalMs: ms(totalUs), totalPercent: percent(totalUs) };
  };
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, topCount).map(([key]) => cost(key));
  const routerInclusive = [...total]
    .map(([key]) => cost(key))
    .filter((entry) => entry.location.startsWith("src/"))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, topCount);
  const areaList = [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfMs: ms(us), percent: percent(us) }));
  return { windowMs: ms(windowUs), busyMs: ms(busyUs), idleMs: ms(idleUs), gcMs: ms(gcUs), top, routerInclusive, areas: areaList };
}
