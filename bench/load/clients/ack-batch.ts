/** Something that keeps per-chat ack watermarks and writes them when asked. */
export interface AckSource {
  flushAcks(): void;
}

// Acks are watermarks: one per chat per event-loop turn is what a phone's client sends after a
// burst, and it keeps the bench from spending the router's rate limit on acks.
const queued = new Set<AckSource>();
let scheduled = false;

/** Asks `client` to write its acks once this turn's received frames are all handled. */
export function scheduleAcks(client: AckSource): void {
  queued.add(client);
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    for (const source of queued) source.flushAcks();
    queued.clear();
  });
}
