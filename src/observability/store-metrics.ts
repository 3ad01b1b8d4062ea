import type { Counter } from "prom-client";
import type { HistogramFamily } from "../util/metrics.ts";
import type { Stores } from "../storage/stores.ts";
import type { Observe } from "./latency.ts";

type StoreLabel = "backend" | "store" | "operation";

/** Where store operations are counted; `span` is the tracing hook (absent when tracing is off). */
export interface StoreTimers {
  latency: HistogramFamily<StoreLabel>;
  failures: Counter<StoreLabel>;
  /** Runs `call` as a child span of whatever span is active; absent when tracing is off. */
  span?: <T>(name: string, call: () => T) => T;
}

interface Bound {
  latency: Observe;
  failures: { inc(): void };
}

const NOT_STORES = new Set(["backend", "close"]);

/**
 * The node's stores, each operation timed: one histogram series per (backend, store,
 * operation), all bound here once, so a store call costs two clock reads and an `observe`.
 * The label set is the stores' method names: bounded by the code, never by data.
 */
export function instrumentStores(stores: Stores, timers: StoreTimers): Stores {
  const instrumented: Record<string, unknown> = {};
  for (const [name, store] of Object.entries(stores)) {
    instrumented[name] = NOT_STORES.has(name) || typeof store !== "object" || store === null ? store : instrumentStore(stores.backend, name, store, timers);
  }
  // `close` runs on the real object: it is not an operation worth a series.
  instrumented["close"] = () => stores.close();
  return instrumented as unknown as Stores;
}

function instrumentStore(backend: string, storeName: string, store: object, timers: StoreTimers): object {
  // Inherits the store's own fields; its methods are shadowed by timed ones.
  const wrapped = Object.create(store) as Record<string, unknown>;
  for (const operation of methodNames(store)) {
    // In memory only (the write itself comes later, in a window): nothing worth a series.
    if (IN_MEMORY.test(operation)) continue;
    const original = (store as Record<string, unknown>)[operation] as (...args: unknown[]) => unknown;
    // `appendThen` is `append` told by a callback: the same operation, one series.
    const byCallback = CALLBACK_TWIN.exec(operation);
    const label = byCallback ? byCallback[1]! : operation;
    const bound: Bound = {
      latency: timers.latency.labels(backend, storeName, label),
      failures: timers.failures.labels(backend, storeName, label),
    };
    const spanName = `store ${storeName}.${label}`;
    const span = timers.span;
    const time = byCallback ? timeSettled : timeCall;
    wrapped[operation] = span
      ? (...args: unknown[]) => span(spanName, () => time(bound, original, store, args))
      : (...args: unknown[]) => time(bound, original, store, args);
  }
  return wrapped;
}

/** Methods that only queue a write for the store's window (`setCursorSoon`). */
const IN_MEMORY = /Soon$/;

/** A method that reports by a callback, its last argument: `appendThen` for `append`. */
const CALLBACK_TWIN = /^(.+)Then$/;

/** A callback-reporting call, timed until its callback hears the outcome. */
function timeSettled(bound: Bound, original: (...args: unknown[]) => unknown, store: object, args: unknown[]): unknown {
  const start = performance.now();
  const settled = args[args.length - 1] as (error?: unknown) => void;
  args[args.length - 1] = (error?: unknown) => {
    bound.latency.observe((performance.now() - start) / 1000);
    if (error !== undefined) bound.failures.inc();
    settled(error);
  };
  try {
    return original.apply(store, args);
  } catch (error) {
    bound.failures.inc();
    throw error;
  }
}

// The call comes as function, receiver and arguments rather than a closure: one store call on the hot path allocates nothing here.
function timeCall(bound: Bound, original: (...args: unknown[]) => unknown, store: object, args: unknown[]): unknown {
  const start = performance.now();
  let result: unknown;
  try {
    result = original.apply(store, args);
  } catch (error) {
    bound.failures.inc();
    throw error;
  }
  if (!(result instanceof Promise)) {
    bound.latency.observe((performance.now() - start) / 1000);
    return result;
  }
  return result.then(
    (value: unknown) => {
      bound.latency.observe((performance.now() - start) / 1000);
      return value;
    },
    (error: unknown) => {
      bound.latency.observe((performance.now() - start) / 1000);
      bound.failures.inc();
      throw error;
    },
  );
}

/** Every method a store answers, its class's and its ancestors', but not Object's. */
function methodNames(store: object): string[] {
  const names = new Set<string>();
  for (let proto: object | null = store; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor") continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (descriptor && typeof descriptor.value === "function") names.add(name);
    }
  }
  return [...names];
}
