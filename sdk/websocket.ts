/**
 * The one place the SDK meets a WebSocket implementation. Browsers (and Node 22+) have
 * `globalThis.WebSocket`; on Node 20 `@router/sdk/node` registers the `ws` package here, so a
 * browser bundle never loads it. A client may also pass its own constructor in its options.
 */

/** The part of the WHATWG WebSocket the SDK uses; `ws` and browsers both provide it. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: (event: unknown) => void): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

let registered: WebSocketConstructor | undefined;

/** Sets the implementation used when a client is given none (`@router/sdk/node` calls it). */
export function useWebSocket(implementation: WebSocketConstructor): void {
  registered = implementation;
}

/**
 * The implementation a new socket uses: the one given, the one registered, the global one, and
 * last (Node 20 without `@router/sdk/node`) the `ws` package, loaded only then: a browser
 * always has a global WebSocket and never gets this far.
 */
export async function resolveWebSocket(given?: WebSocketConstructor): Promise<WebSocketConstructor> {
  const found = given ?? registered ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (found) return found;
  // A name in a variable: bundlers for the browser leave this import alone.
  const fallback = "ws";
  try {
    registered = ((await import(fallback)) as { default: WebSocketConstructor }).default;
    return registered;
  } catch {
    throw new Error('no WebSocket implementation: install the ws package, or pass one as options.WebSocket');
  }
}

export const OPEN = 1;

/** A message's bytes whichever way the implementation hands them over. */
export function messageBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return undefined;
}
