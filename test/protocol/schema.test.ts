import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CLIENT_FRAMES, SERVER_FRAMES } from "../../protocol-schema/frames.ts";
import { buildSchema, definitionName, printed, SCHEMA_FILE } from "../../protocol-schema/generate.ts";
import { committedSchema, frameValidators } from "./support.ts";

describe("the JSON Schema of the frames (protocol-schema/frames.schema.json)", () => {
  it("is what protocol-schema/frames.ts prints (regenerate: node --import tsx protocol-schema/generate.ts)", () => {
    assert.equal(readFileSync(SCHEMA_FILE, "utf8"), printed(buildSchema()));
  });

  it("has one definition per frame type and direction, and no other", () => {
    const frameDefinitions = Object.keys(committedSchema.$defs).filter((name) => /^(client|server)\./.test(name));
    const expected = [
      ...Object.keys(CLIENT_FRAMES).map((t) => definitionName("client", t)),
      ...Object.keys(SERVER_FRAMES).map((t) => definitionName("server", t)),
    ];
    assert.deepEqual(frameDefinitions.sort(), expected.sort());
  });

  it("compiles in a strict validator and refuses what is not a frame", () => {
    const { client, server, get } = frameValidators();
    assert.ok(client({ t: "ping", r: 1 }));
    assert.ok(client({ t: "hello", r: 1, token: "x", device: null }), "nil is absent");
    assert.ok(!client({ t: "ping" }), "a missing field");
    assert.ok(!client({ t: "ping", r: 1, extra: true }), "an unknown field");
    assert.ok(!client({ t: "pong", r: 1, ts: 5 }), "a server frame sent by a client");
    assert.ok(!client({ t: "ping", r: -1 }), "a negative request id");
    assert.ok(!client({ t: "send", r: 1, cid: "c", to: "bob", body: 5 }), "a body that is neither str nor bin");
    assert.ok(client({ t: "send", r: 1, cid: "c", to: "bob", body: { $bin: "00ff" } }));
    assert.ok(!server({ t: "err", code: "no_such_code", msg: "" }), "an error code outside the list");
    assert.ok(get("server.msg")({ t: "msg", chat: "d:a:b", seq: 1, from: "a", ts: 1, body: "x", kind: "text" }));
  });
});
