/**
 * The WebSocket framing a load client needs (RFC 6455), written out so a client costs what
 * the protocol costs: client frames carry an all-zero mask (legal, and the payload is then
 * its own masked form, so a frame can be encoded once and patched), server frames are
 * unmasked. No fragmentation is sent; fragments received are reassembled.
 */

export const OPCODE_CONTINUATION = 0x0;
export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

/** Bytes of a client frame's header (with its 4 mask bytes) for a payload of `length`. */
export function clientHeaderLength(length: number): number {
  return (length < 126 ? 2 : length < 65_536 ? 4 : 10) + 4;
}

/** Writes a final client frame's header with a zero mask into `out` at 0; returns the payload offset. */
export function writeClientHeader(out: Buffer, opcode: number, length: number): number {
  out[0] = 0x80 | opcode;
  let at: number;
  if (length < 126) {
    out[1] = 0x80 | length;
    at = 2;
  } else if (length < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
    at = 4;
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
    at = 10;
  }
  out.writeUInt32BE(0, at);
  return at + 4;
}

/** A whole client frame around `payload`. */
export function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(clientHeaderLength(payload.length) + payload.length);
  out.set(payload, writeClientHeader(out, opcode, payload.length));
  return out;
}

export interface FrameHandlers {
  message(opcode: number, payload: Buffer): void;
  ping(payload: Buffer): void;
  close(code: number): void;
}

/** Splits the server's byte stream into frames; a message's payload is a view valid during the call. */
export class ServerFrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;

  constructor(private readonly handlers: FrameHandlers) {}

  push(chunk: Buffer): void {
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (data.length - at < 2) break;
      const first = data[at]!;
      const second = data[at + 1]!;
      let length = second & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - at < 4) break;
        length = data.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - at < 10) break;
        length = Number(data.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (second & 0x80) header += 4; // a server must not mask; tolerated, not unmasked
      if (data.length - at < header + length) break;
      this.onFrame(first & 0x80, first & 0x0f, data.subarray(at + header, at + header + length));
      at += header + length;
    }
    this.pending = at === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(at));
  }

  private onFrame(fin: number, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OPCODE_PING:
        this.handlers.ping(payload);
        return;
      case OPCODE_PONG:
        return;
      case OPCODE_CLOSE:
        this.handlers.close(payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
        return;
      case OPCODE_CONTINUATION:
        this.fragments.push(Buffer.from(payload));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = [];
          this.handlers.message(this.fragmentOpcode, whole);
        }
        return;
      default:
        if (fin) {
          this.handlers.message(opcode, payload);
          return;
        }
        this.fragmentOpcode = opcode;
        this.fragments = [Buffer.from(payload)];
    }
  }
}
