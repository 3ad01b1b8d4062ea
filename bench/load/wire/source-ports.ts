/**
 * Source ports for the load clients' sockets, chosen here rather than by the kernel.
 *
 * Each load process connects from its own 127.0.0.x (pool.ts), which means bind() before
 * connect(), and bind() to port 0 makes the kernel search its ephemeral range for a port no
 * socket holds: with thousands connected and thousands more in TIME_WAIT from the last storm
 * that search cost about a millisecond of system time per connect, which made the load
 * processes, not the router, the limit of a reconnect storm. A port named outright is one
 * hash lookup. The ports cycle through a range below the kernel's ephemeral one (so they do
 * not meet its own choices); one still held (TIME_WAIT, or a listener) fails the bind with
 * EADDRINUSE and the caller moves on to the next.
 */

const FIRST = 10_000;
/** Below Linux's default ip_local_port_range (32768-60999). */
const LAST = 32_767;
const SIZE = LAST - FIRST + 1;

// A random start: two processes on one address (test runs side by side) do not walk in step.
let next = Math.floor(Math.random() * SIZE);

/** The next source port to try. */
export function nextSourcePort(): number {
  const port = FIRST + next;
  next = (next + 1) % SIZE;
  return port;
}

/** Tries before giving up on finding a free source port (each a failed bind, microseconds). */
export const SOURCE_PORT_TRIES = 64;

/** The bind of a named source port failed because something holds that port. */
export function isPortTaken(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException;
  return e?.code === "EADDRINUSE" && e.syscall === "bind";
}
