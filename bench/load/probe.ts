/**
 * What every bench message carries, whatever the transport: when it was meant to be sent
 * (monotonic ns, so latency includes any lag of the load generator itself: no coordinated
 * omission), which client sent it and its number in that client's stream (to check
 * exactly-once, in-order arrival).
 */
export interface Probe {
  sentAtNs: number;
  sender: number;
  n: number;
}

const HEADER_BYTES = 16;

export function encodeProbe(probe: Probe, bodyBytes: number): Buffer {
  const bytes = Buffer.alloc(Math.max(HEADER_BYTES, bodyBytes));
  writeProbe(bytes, 0, probe);
  return bytes;
}

/** Writes the probe's bytes into `out` at `at` (a pre-encoded frame's body). */
export function writeProbe(out: Buffer, at: number, probe: Probe): void {
  out.writeDoubleLE(probe.sentAtNs, at);
  out.writeUInt32LE(probe.sender, at + 8);
  out.writeUInt32LE(probe.n, at + 12);
}

export function decodeProbe(bytes: Uint8Array): Probe | undefined {
  if (bytes.byteLength < HEADER_BYTES) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { sentAtNs: view.readDoubleLE(0), sender: view.readUInt32LE(8), n: view.readUInt32LE(12) };
}

/** The chat-tutorial relay speaks text: the same fields, comma-separated, padded. */
export function probeText(probe: Probe, bodyBytes: number): string {
  const head = `${probe.sentAtNs},${probe.sender},${probe.n},`;
  return head.padEnd(bodyBytes, "x");
}

export function parseProbeText(text: string): Probe | undefined {
  const [sentAtNs, sender, n] = text.split(",", 3).map(Number);
  if (sentAtNs === undefined || sender === undefined || n === undefined || Number.isNaN(n)) return undefined;
  return { sentAtNs, sender, n };
}
