import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHmac } from "node:crypto";
import { SignJWT, jwtVerify, type JWTPayload } from "jose";
import { fastHs256Payload } from "../../src/auth/hs256.ts";
import { signToken, verifyToken } from "../../src/auth/tokens.ts";

const SECRET = "a-shared-secret-ü";
const KEY = new TextEncoder().encode(SECRET);
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function joseSigned(payload: JWTPayload, header: Record<string, unknown> = { alg: "HS256" }): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(KEY);
}

/** A token jose will not sign (an unknown `crit`), signed by hand. */
function handSigned(header: object, payload: object): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part(header)}.${part(payload)}`;
  return `${input}.${createHmac("sha256", KEY).update(input).digest("base64url")}`;
}

async function joseVerdict(token: string): Promise<JWTPayload | string> {
  try {
    return (await jwtVerify(token, KEY, { algorithms: ["HS256"] })).payload;
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

/** The fast path either agrees with jose on the payload or leaves the token to it. */
async function assertNeverAcceptsMoreThanJose(token: string): Promise<void> {
  const fast = fastHs256Payload(SECRET, token, Date.now());
  if (fast === undefined) return;
  assert.deepEqual(fast, await joseVerdict(token));
}

describe("HS256 by node:crypto", () => {
  it("signs tokens jose verifies, with the claims jose's SignJWT writes", async () => {
    const token = await signToken(SECRET, { user: "alice", device: "phone" }, 3600);
    const payload = await jwtVerify(token, KEY, { algorithms: ["HS256"] });
    assert.deepEqual(Object.keys(payload.payload), ["dev", "sub", "iat", "exp"]);
    assert.equal(payload.payload.sub, "alice");
    assert.deepEqual(payload.protectedHeader, { alg: "HS256" });
    const forever = await signToken(SECRET, { user: "bob" }, 0);
    assert.deepEqual(Object.keys((await jwtVerify(forever, KEY)).payload), ["sub", "iat"]);
  });

  it("accepts jose's tokens with jose's payload, other header fields included", async () => {
    for (const token of [
      await joseSigned({ sub: "alice", iat: Date.now() / 1000, exp: nowSeconds() + 60 }),
      await joseSigned({ sub: "alice", nbf: nowSeconds() - 1 }, { alg: "HS256", typ: "JWT", kid: "k1" }),
    ]) {
      assert.deepEqual(fastHs256Payload(SECRET, token, Date.now()), await joseVerdict(token));
    }
  });

  it("leaves to jose every token it is not sure of", async () => {
    const good = await joseSigned({ sub: "alice" });
    const [header, payload, signature] = good.split(".") as [string, string, string];
    const doubtful = [
      `${header}.${payload}.${signature.slice(0, -1)}${signature.endsWith("A") ? "B" : "A"}`,
      `${header}.${payload}.${signature}=`,
      `${header}.${payload}.${signature}.x`,
      await new SignJWT({ sub: "alice" }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("another")),
      await joseSigned({ sub: "alice", exp: nowSeconds() - 1 }),
      await joseSigned({ sub: "alice", exp: nowSeconds() }),
      await joseSigned({ sub: "alice", nbf: nowSeconds() + 60 }),
      await joseSigned({ sub: "alice", iat: "yesterday" as unknown as number }),
      await joseSigned({ sub: "alice", exp: "later" as unknown as number }),
      await joseSigned({ sub: "alice" }, { alg: "HS256", crit: ["b64"], b64: true }),
      handSigned({ alg: "HS256", crit: ["exp"], exp: 1 }, { sub: "alice" }),
      handSigned({ alg: "HS384" }, { sub: "alice" }),
      handSigned([{ alg: "HS256" }], { sub: "alice" }),
      handSigned({ alg: "HS256" }, ["alice"]),
    ];
    for (const token of doubtful) {
      assert.equal(fastHs256Payload(SECRET, token, Date.now()), undefined, token);
      await assertNeverAcceptsMoreThanJose(token);
    }
    assert.equal(fastHs256Payload("", good, Date.now()), undefined);
  });

  it("gives verifyToken jose's verdicts on the tokens it leaves to jose", async () => {
    await assert.rejects(verifyToken(SECRET, await joseSigned({ sub: "alice", exp: nowSeconds() - 1 })), { message: "token expired" });
    await assert.rejects(verifyToken("another", await joseSigned({ sub: "alice" })), { message: "token rejected" });
    await assert.rejects(verifyToken(SECRET, await joseSigned({ sub: "alice", nbf: nowSeconds() + 60 })), { message: "token rejected" });
    const claims = await verifyToken(SECRET, await joseSigned({ sub: "alice" }, { alg: "HS256", crit: ["b64"], b64: true }));
    assert.equal(claims.user, "alice");
  });
});
