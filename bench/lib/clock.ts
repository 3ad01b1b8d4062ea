/**
 * CLOCK_MONOTONIC in nanoseconds. Every process on this machine reads the same clock, so a
 * timestamp a load process writes into a message body can be subtracted in another process
 * (a group member in a different load process), and compared with a V8 CPU profile's times.
 */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
