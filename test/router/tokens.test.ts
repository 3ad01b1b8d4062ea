import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { SignJWT } from "jose";
import { signToken } from "../../src/auth/tokens.ts";
import { CLOSE_CODES, type ErrorFrame } from "../../src/protocol/frames.ts";
import { RequestError, RouterClient, type CloseInfo } from "../../sdk/client.ts";
import { clusterStorage, dropKeyspace, testBackend } from "../support/backend.ts";
import { NodeProcess, TEST_SECRET, TestNode, tempDir, tokenFor } from "../support/node.ts";

const run = promisify(execFile);

/** Rejects when `promise` has not settled within `ms`: a failure says what never happened. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function isErr(frame: { t: string }): frame is ErrorFrame {
  return frame.t === "err";
}

async function assertOpen(client: RouterClient): Promise<void> {
  assert.equal((await client.request({ t: "ping" })).t, "pong");
  assert.equal(client.closed, undefined);
}

async function refusedRefresh(client: RouterClient, token: string): Promise<string> {
  const error = await client.refresh(token).then(
    () => assert.fail("the refresh was accepted"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof RequestError, String(error));
  assert.equal(error.code, "unauthorized");
  return error.frame.msg;
}

/** Says hello with `token` on a fresh socket and returns the error and the close. */
async function refusedHello(node: { url: string }, hello: Record<string, unknown>): Promise<{ err: ErrorFrame; closed: CloseInfo }> {
  const client = await RouterClient.open(node.url);
  client.sendRaw({ t: "hello", r: 1, ...hello });
  const err = await client.waitFor<ErrorFrame>(isErr);
  const closed = await within(client.waitForClose(), 30_000, "close after a refused hello");
  return { err, closed };
}

describe("token lifetime", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  const connectWith = async (token: string, device?: string) => RouterClient.connect({ url: node.url, token, device });

  it("closes a connection with 4001 when its token expires", async () => {
    const client = await connectWith(await signToken(TEST_SECRET, { user: "expiring" }, 3));
    await assertOpen(client);
    const closed = await within(client.waitForClose(), 60_000, "close at the token's expiry");
    assert.deepEqual(closed, { code: CLOSE_CODES.unauthorized, reason: "token expired" });
  });

  it("keeps a refreshed connection open past its first token's expiry", async () => {
    const short = await signToken(TEST_SECRET, { user: "refresher" }, 3);
    const refreshed = await connectWith(short, "phone");
    // Not refreshed: closes at the first expiry, which the refreshed one must outlive.
    const control = await connectWith(short, "laptop");
    const before = Date.now();
    const exp = await refreshed.refresh(await signToken(TEST_SECRET, { user: "refresher", device: "phone" }, 3600));
    assert.ok(exp !== undefined && exp >= before + 3_598_000 && exp <= Date.now() + 3_600_000, `exp ${exp}`);
    assert.equal((await within(control.waitForClose(), 60_000, "the control's expiry")).code, CLOSE_CODES.unauthorized);
    await assertOpen(refreshed);
    await refreshed.close();
  });

  it("refuses a refresh for another user or device, or a bad token, and keeps the connection on its token", async () => {
    const client = await connectWith(await tokenFor("carol", "phone"));
    assert.match(await refusedRefresh(client, await tokenFor("dave")), /another user/);
    assert.match(await refusedRefresh(client, await tokenFor("carol", "laptop")), /another device/);
    assert.match(await refusedRefresh(client, await tokenFor("carol", undefined, "another-secret")), /rejected/);
    assert.match(await refusedRefresh(client, "x".repeat(5000)), /at most 4096/);
    await assertOpen(client);
    // A user-wide token of the same user is fine for any device.
    assert.ok((await client.refresh(await tokenFor("carol"))) !== undefined);
    await client.close();
  });

  it("refuses a token whose dev claim is not a device id", async () => {
    for (const dev of [42, "../../x y", "", true]) {
      const token = await new SignJWT({ dev })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("erin")
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode(TEST_SECRET));
      const { err, closed } = await refusedHello(node, { token });
      assert.equal(err.code, "unauthorized", JSON.stringify(dev));
      assert.equal(closed.code, CLOSE_CODES.unauthorized, JSON.stringify(dev));
    }
  });

  it("answers a token over 4096 characters unauthorized and closes with 4001", async () => {
    const { err, closed } = await refusedHello(node, { token: "e".repeat(4097) });
    assert.equal(err.code, "unauthorized");
    assert.equal(err.r, 1);
    assert.equal(closed.code, CLOSE_CODES.unauthorized);
  });
});

describe("router token revoke", () => {
  const dir = tempDir();
  let node: NodeProcess;
  // The CLI reaches the node's store: its data directory alone, its Redis in a cluster.
  const storage = testBackend() === "cql" ? clusterStorage(dir) : undefined;
  const revoke = (...args: string[]) =>
    run(process.execPath, ["bin/router.mjs", "token", "revoke", ...args, ...(storage ? ["--redis", storage.redis] : ["--data", dir])], {
      encoding: "utf8",
      env: { ...process.env, ...(storage ? { ROUTER_REDIS_PREFIX: storage.redisPrefix } : {}) },
    });

  before(async () => {
    node = await NodeProcess.start(dir);
  });
  after(async () => {
    await node.kill("SIGTERM");
    if (storage) await dropKeyspace(storage.keyspace);
    rmSync(dir, { recursive: true, force: true });
  });

  it("closes the live connections of a revoked device, then of every device, and refuses their old tokens", async () => {
    const phoneToken = await tokenFor("frank", "phone");
    const userToken = await tokenFor("frank");
    const phone = await RouterClient.connect({ url: node.url, token: phoneToken });
    const laptop = await RouterClient.connect({ url: node.url, token: userToken, device: "laptop" });
    const other = await RouterClient.connect({ url: node.url, token: await tokenFor("grace") });

    const { stdout } = await revoke("--user", "frank", "--device", "phone");
    assert.match(stdout, /^revoked tokens of frank on device phone issued until \S+\n$/);
    assert.deepEqual(await within(phone.waitForClose(), 30_000, "the phone's close"), { code: CLOSE_CODES.unauthorized, reason: "token revoked" });
    await assertOpen(laptop);
    // The phone's old token, and the user-wide one used as the phone, are void; as the laptop it still works.
    assert.equal((await refusedHello(node, { token: phoneToken })).closed.code, CLOSE_CODES.unauthorized);
    assert.equal((await refusedHello(node, { token: userToken, device: "phone" })).err.code, "unauthorized");
    assert.match(await refusedRefresh(laptop, phoneToken), /another device/);

    const media = (token: string) =>
      fetch(`http://${node.host}:${node.port}/media/${"0".repeat(32)}`, { headers: { authorization: `Bearer ${token}` } }).then((res) => res.status);
    assert.equal(await media(userToken), 404, "the token is good for media before the revocation");

    await revoke("--user", "frank");
    assert.equal((await within(laptop.waitForClose(), 30_000, "the laptop's close")).code, CLOSE_CODES.unauthorized);
    assert.equal(await media(userToken), 401, "and refused after it");
    const refused = await refusedHello(node, { token: userToken, device: "laptop" });
    assert.equal(refused.err.code, "unauthorized");
    assert.match(refused.err.msg, /revoked/);
    await assertOpen(other);

    // Tokens issued after the revocation work, for hello and for refresh; old ones do not refresh.
    const fresh = await RouterClient.connect({ url: node.url, token: await tokenFor("frank", "phone") });
    await assertOpen(fresh);
    assert.match(await refusedRefresh(fresh, phoneToken), /revoked/);
    assert.ok((await fresh.refresh(await tokenFor("frank"))) !== undefined);
    await fresh.close();
    await other.close();
  });

  it("fails with one line and a non-zero exit on a bad user or a directory with no node data", async () => {
    const bad = await run(process.execPath, ["bin/router.mjs", "token", "revoke", "--user", "not a user", "--data", dir], { encoding: "utf8" }).then(
      () => assert.fail("exit 0"),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^router: --user must be a user id/);
    const missing = await run(process.execPath, ["bin/router.mjs", "token", "revoke", "--user", "a", "--data", `${dir}/nowhere`], { encoding: "utf8" }).then(
      () => assert.fail("exit 0"),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no node data in/);
  });
});
