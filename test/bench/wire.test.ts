import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Server } from "node:net";
import { describe, it } from "node:test";
import { decodeValue } from "../../src/protocol/codec.ts";
import { decodeProbe } from "../../bench/load/probe.ts";
import { RawWebSocket } from "../../bench/load/wire/raw-websocket.ts";
import { SendTemplate } from "../../bench/load/wire/send-template.ts";
import { nextSourcePort } from "../../bench/load/wire/source-ports.ts";
import { clientFrame, OPCODE_BINARY, OPCODE_PING, ServerFrameReader } from "../../bench/load/wire/ws-frames.ts";
import { attribute, childText, XmlStreamSplitter } from "../../bench/load/wire/xml-stream.ts";

// The lean load client's hand-written encodings: if they drift from what the server reads,
// every bench number is of the wrong traffic.

/** The payload of a client frame written by ws-frames.ts (zero mask, so it is the payload itself). */
function payloadOf(frame: Buffer): Buffer {
  const length = frame[1]! & 0x7f;
  const header = length < 126 ? 2 : length === 126 ? 4 : 10;
  assert.equal(frame.readUInt32BE(header), 0, "the mask is all zeros");
  return frame.subarray(header + 4);
}

describe("the pre-encoded send frame", () => {
  it("decodes, through the router's own codec, to the send frame it stands for, with r, cid and probe patched", () => {
    const template = new SendTemplate(17, "p3", 64);
    for (const r of [1, 9, 12_345, 4_000_000_000]) {
      const frame = template.render(r, { sentAtNs: 123456.5, sender: 17, n: r + 1 });
      assert.equal(frame[0], 0x80 | OPCODE_BINARY);
      const decoded = decodeValue(payloadOf(frame)) as Record<string, unknown>;
      assert.equal(decoded.t, "send");
      assert.equal(decoded.r, r);
      assert.equal(decoded.cid, `17-${String(r).padStart(10, "0")}`);
      assert.equal(decoded.to, "p3");
      assert.ok(decoded.body instanceof Uint8Array);
      assert.equal((decoded.body as Uint8Array).length, 64);
      assert.deepEqual(decodeProbe(decoded.body as Uint8Array), { sentAtNs: 123456.5, sender: 17, n: r + 1 });
    }
  });

  it("uses a 16-bit length for bodies of 256 bytes and more", () => {
    const decoded = decodeValue(payloadOf(new SendTemplate(1, "p0", 1000).render(5, { sentAtNs: 1, sender: 1, n: 1 }))) as { body: Uint8Array };
    assert.equal(decoded.body.length, 1000);
  });
});

describe("the server frame reader", () => {
  it("reassembles frames split anywhere across chunks and answers pings", () => {
    const messages: string[] = [];
    const pings: string[] = [];
    const reader = new ServerFrameReader({ message: (_opcode, payload) => messages.push(payload.toString()), ping: (p) => pings.push(p.toString()), close: () => {} });
    const serverFrame = (opcode: number, text: string): Buffer => {
      const payload = Buffer.from(text);
      const header = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
      return Buffer.concat([header, payload]);
    };
    const long = "x".repeat(300);
    const stream = Buffer.concat([serverFrame(OPCODE_BINARY, "one"), serverFrame(OPCODE_PING, "are you there"), serverFrame(OPCODE_BINARY, long), serverFrame(OPCODE_BINARY, "two")]);
    for (let at = 0; at < stream.length; at += 7) reader.push(stream.subarray(at, at + 7));
    assert.deepEqual(messages, ["one", long, "two"]);
    assert.deepEqual(pings, ["are you there"]);
  });

  it("writes client frames with the mask bit set, a zero mask and the payload as it is", () => {
    const frame = clientFrame(OPCODE_BINARY, Buffer.from("hello"));
    assert.equal(frame[1], 0x80 | 5, "masked, length 5");
    assert.equal(payloadOf(frame).toString(), "hello");
  });
});

describe("the XMPP stream splitter", () => {
  it("yields each top-level element once it is complete, nested children and chunk boundaries included", () => {
    const splitter = new XmlStreamSplitter();
    const text =
      "<?xml version='1.0'?><stream:stream id='1' xmlns='jabber:client'><stream:features><mechanisms><mechanism>PLAIN</mechanism></mechanisms></stream:features>" +
      "<message from='a@localhost' type='chat'><body>1,2,3,xx</body><stanza-id xmlns='urn:xmpp:sid:0' id='9'/></message><a xmlns='urn:xmpp:sm:3' h='4'/><r xmlns='urn:xmpp:sm:3'/></stream:stream>";
    const names: string[] = [];
    const xml: string[] = [];
    for (let at = 0; at < text.length; at += 5) {
      for (const element of splitter.push(text.slice(at, at + 5))) {
        names.push(element.name);
        xml.push(element.xml);
      }
    }
    assert.deepEqual(names, ["stream:stream", "stream:features", "message", "a", "r", "/stream:stream"]);
    assert.equal(childText(xml[2]!, "body"), "1,2,3,xx");
    assert.equal(attribute(xml[3]!, "h"), "4");
    assert.equal(attribute(xml[2]!, "type"), "chat");
  });
});

describe("the bare socket's source ports", () => {
  const listen = (server: Server, port: number): Promise<boolean> =>
    new Promise((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });

  it("skips ports something holds and connects from the next free one", async () => {
    let port = nextSourcePort();
    while (port > 32_700) port = nextSourcePort();
    // The next three ports the client would take are held by listeners.
    const holders: Server[] = [];
    for (let k = 1; k <= 3; k += 1) {
      const holder = createServer();
      if (await listen(holder, port + k)) holders.push(holder);
    }
    const fromPorts: number[] = [];
    const upgrader = createServer((socket) => {
      fromPorts.push(socket.remotePort!);
      socket.once("data", () => socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
    });
    await listen(upgrader, 0);
    try {
      const url = `ws://127.0.0.1:${(upgrader.address() as AddressInfo).port}/ws`;
      const socket = await RawWebSocket.connect(url, "127.0.0.1", { message: () => {}, closed: () => {} }, 5000);
      assert.ok(socket.isOpen);
      socket.terminate();
      assert.equal(holders.length, 3, "the three ports were free to hold");
      assert.deepEqual(fromPorts, [port + 4], "connected from the first port nobody held");
    } finally {
      for (const server of [...holders, upgrader]) server.close();
    }
  });
});
