import { createHash, createHmac, randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";

/**
 * A minimal TURN client (RFC 8656, over UDP): enough to ask a real TURN server for a relay
 * with long-term credentials and see whether it grants one. Requests are resent on a fixed
 * schedule (as RFC 8489 asks of UDP clients) until a deadline.
 */
const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const ALLOCATE_REQUEST = 0x0003;
const REFRESH_REQUEST = 0x0004;
const ALLOCATE_SUCCESS = 0x0103;
const ATTR = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
  lifetime: 0x000d,
} as const;
const UDP_TRANSPORT = 17;

export interface StunMessage {
  type: number;
  transaction: Buffer;
  attributes: Map<number, Buffer>;
}

export type AllocateOutcome =
  | { ok: true; relay: { address: string; port: number } }
  | { ok: false; code: number; reason: string };

function attribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

function header(type: number, length: number, transaction: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(length, 2);
  head.writeUInt32BE(MAGIC_COOKIE, 4);
  transaction.copy(head, 8);
  return head;
}

/**
 * Encodes a request; with `key`, appends MESSAGE-INTEGRITY: HMAC-SHA1 over the message up to
 * that attribute, with the header's length already counting it (RFC 8489 section 14.5).
 */
export function encodeStun(type: number, transaction: Buffer, attributes: Buffer[], key?: Buffer): Buffer {
  const body = Buffer.concat(attributes);
  if (!key) return Buffer.concat([header(type, body.length, transaction), body]);
  const withoutIntegrity = Buffer.concat([header(type, body.length + 24, transaction), body]);
  const mac = createHmac("sha1", key).update(withoutIntegrity).digest();
  return Buffer.concat([withoutIntegrity, attribute(ATTR.messageIntegrity, mac)]);
}

export function decodeStun(bytes: Buffer): StunMessage | undefined {
  if (bytes.length < 20 || bytes.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const length = bytes.readUInt16BE(2);
  const attributes = new Map<number, Buffer>();
  for (let offset = 20; offset + 4 <= 20 + length && offset + 4 <= bytes.length; ) {
    const type = bytes.readUInt16BE(offset);
    const size = bytes.readUInt16BE(offset + 2);
    if (!attributes.has(type)) attributes.set(type, bytes.subarray(offset + 4, offset + 4 + size));
    offset += 4 + Math.ceil(size / 4) * 4;
  }
  return { type: bytes.readUInt16BE(0), transaction: bytes.subarray(8, 20), attributes };
}

function errorOf(message: StunMessage): { code: number; reason: string } {
  const value = message.attributes.get(ATTR.errorCode);
  if (!value || value.length < 4) return { code: 0, reason: "no ERROR-CODE" };
  return { code: (value[2]! & 0x7) * 100 + value[3]!, reason: value.subarray(4).toString("utf8") };
}

function xorAddress(value: Buffer): { address: string; port: number } {
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const raw = value.readUInt32BE(4) ^ MAGIC_COOKIE;
  return { address: [raw >>> 24, (raw >>> 16) & 0xff, (raw >>> 8) & 0xff, raw & 0xff].join("."), port };
}

export class TurnClient {
  private constructor(
    private readonly socket: Socket,
    private readonly host: string,
    private readonly port: number,
  ) {}

  static async open(host: string, port: number): Promise<TurnClient> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => resolve());
    });
    return new TurnClient(socket, host, port);
  }

  close(): void {
    this.socket.close();
  }

  /** Sends `request` until a response with its transaction id arrives or `timeoutMs` passes. */
  transact(request: Buffer, timeoutMs = 10_000): Promise<StunMessage> {
    const transaction = request.subarray(8, 20);
    return new Promise((resolve, reject) => {
      const send = () => this.socket.send(request, this.port, this.host);
      const resend = setInterval(send, 500);
      const deadline = setTimeout(() => finish(() => reject(new Error(`no STUN response within ${timeoutMs} ms`))), timeoutMs);
      const onMessage = (bytes: Buffer) => {
        const message = decodeStun(bytes);
        if (message && message.transaction.equals(transaction)) finish(() => resolve(message));
      };
      const finish = (settle: () => void) => {
        clearInterval(resend);
        clearTimeout(deadline);
        this.socket.off("message", onMessage);
        settle();
      };
      this.socket.on("message", onMessage);
      send();
    });
  }

  /** A Binding request: the server answers it without credentials once it serves. */
  async binding(timeoutMs?: number): Promise<StunMessage> {
    return this.transact(encodeStun(BINDING_REQUEST, randomBytes(12), []), timeoutMs);
  }

  /**
   * An Allocate with long-term credentials: first unauthenticated, to learn the realm and
   * nonce from the 401, then signed with MD5(username:realm:password) as the key.
   */
  async allocate(username: string, password: string): Promise<AllocateOutcome> {
    const transport = attribute(ATTR.requestedTransport, Buffer.from([UDP_TRANSPORT, 0, 0, 0]));
    const challenge = await this.transact(encodeStun(ALLOCATE_REQUEST, randomBytes(12), [transport]));
    const realm = challenge.attributes.get(ATTR.realm);
    const nonce = challenge.attributes.get(ATTR.nonce);
    if (challenge.type === ALLOCATE_SUCCESS) throw new Error("the server allocated without asking for credentials");
    if (!realm || !nonce) return { ok: false, ...errorOf(challenge) };
    const key = createHash("md5").update(`${username}:${realm.toString("utf8")}:${password}`).digest();
    const signed = encodeStun(
      ALLOCATE_REQUEST,
      randomBytes(12),
      [transport, attribute(ATTR.username, Buffer.from(username)), attribute(ATTR.realm, realm), attribute(ATTR.nonce, nonce)],
      key,
    );
    const answer = await this.transact(signed);
    if (answer.type !== ALLOCATE_SUCCESS) return { ok: false, ...errorOf(answer) };
    const relayed = answer.attributes.get(ATTR.xorRelayedAddress);
    if (!relayed) throw new Error("allocate succeeded without XOR-RELAYED-ADDRESS");
    // Give the relay back at once (lifetime 0), so the server holds nothing after the test.
    await this.transact(
      encodeStun(
        REFRESH_REQUEST,
        randomBytes(12),
        [attribute(ATTR.lifetime, Buffer.from([0, 0, 0, 0])), attribute(ATTR.username, Buffer.from(username)), attribute(ATTR.realm, realm), attribute(ATTR.nonce, nonce)],
        key,
      ),
    ).catch(() => undefined);
    return { ok: true, relay: xorAddress(relayed) };
  }
}
