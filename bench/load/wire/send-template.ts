import { writeProbe, type Probe } from "../probe.ts";
import { clientHeaderLength, OPCODE_BINARY, writeClientHeader } from "./ws-frames.ts";

/** Digits of `r` in a cid: ten, so every cid of a client has one length and one place. */
const R_DIGITS = 10;

const str = (value: string): Buffer => {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > 255) throw new Error(`template string too long: ${value.slice(0, 40)}`);
  return Buffer.concat([bytes.length < 32 ? Buffer.from([0xa0 | bytes.length]) : Buffer.from([0xd9, bytes.length]), bytes]);
};

/**
 * One client's `send` frame to one peer, MessagePack-encoded once inside a WebSocket frame:
 * each message copies it and patches `r`, the cid's digits and the probe at the start of the
 * body, instead of building and encoding an object. The bytes are what the codec would
 * produce for `{ t: "send", r, cid, to, body }` except that `r` is always a uint32.
 */
export class SendTemplate {
  private readonly frame: Buffer;
  private readonly rAt: number;
  private readonly cidDigitsAt: number;
  private readonly bodyAt: number;

  constructor(senderIndex: number, to: string, bodyBytes: number) {
    const body = Buffer.alloc(Math.max(16, bodyBytes));
    const bodyHeader = body.length < 256 ? Buffer.from([0xc4, body.length]) : Buffer.from([0xc5, body.length >> 8, body.length & 0xff]);
    const parts: Buffer[] = [Buffer.from([0x85]), str("t"), str("send"), str("r"), Buffer.from([0xce, 0, 0, 0, 0])];
    const lengthSoFar = (): number => parts.reduce((sum, part) => sum + part.length, 0);
    const rAt = lengthSoFar() - 4;
    const cidPrefix = `${senderIndex}-`;
    parts.push(str("cid"), str(cidPrefix + "0".repeat(R_DIGITS)));
    const cidDigitsAt = lengthSoFar() - R_DIGITS;
    parts.push(str("to"), str(to), str("body"), bodyHeader);
    const bodyAt = lengthSoFar();
    parts.push(body);
    const payload = Buffer.concat(parts);
    this.frame = Buffer.alloc(clientHeaderLength(payload.length) + payload.length);
    const payloadAt = writeClientHeader(this.frame, OPCODE_BINARY, payload.length);
    payload.copy(this.frame, payloadAt);
    this.rAt = payloadAt + rAt;
    this.cidDigitsAt = payloadAt + cidDigitsAt;
    this.bodyAt = payloadAt + bodyAt;
  }

  /** A fresh frame for request `r` carrying `probe`. */
  render(r: number, probe: Probe): Buffer {
    const out = Buffer.allocUnsafe(this.frame.length);
    this.frame.copy(out);
    out.writeUInt32BE(r, this.rAt);
    let rest = r;
    for (let i = R_DIGITS - 1; i >= 0; i -= 1) {
      out[this.cidDigitsAt + i] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    writeProbe(out, this.bodyAt, probe);
    return out;
  }
}
