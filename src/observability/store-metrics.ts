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
    const original = (store as Record<string, unknown>)[operation] as (...args: unknown[]) => unknown;
    const bound: Bound = {
      latency: timers.latency.labels(backend, storeName, operation),
      failures: timers.failures.labels(backend, storeName, operation),
    };
    const spanName = `store ${storeName}.${operation}`;
    const span = timers.span;
    wrapped[operation] = span
      ? (...args: unknown[]) => span(spanName, () => timeCall(bound, original, store, args))
      : (...args: unknown[]) => timeCall(bound, original, store, args);
  }
  return wrapped;
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
