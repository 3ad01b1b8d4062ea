import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { signToken } from "../../src/auth/tokens.ts";
import { DataDirInUseError, lockDataDir } from "../../src/storage/data-dir-lock.ts";
import { TestNode, tempDir } from "../support/node.ts";

const dirs: string[] = [];
function dir(): string {
  const made = tempDir();
  dirs.push(made);
  return made;
}
after(() => {
  for (const made of dirs) rmSync(made, { recursive: true, force: true });
});

/** The permission bits of `path`. */
function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

/** A pid that was alive a moment ago and is not now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

describe("the data directory lock", () => {
  it("refuses a second lock in this process, and is free again once released", () => {
    const dataDir = dir();
    const lock = lockDataDir(dataDir);
    assert.throws(() => lockDataDir(dataDir), (error: unknown) => error instanceof DataDirInUseError && error.pid === process.pid);
    lock.release();
    lockDataDir(dataDir).release();
    assert.equal(existsSync(join(dataDir, "node.lock")), false);
  });

  it("refuses a lock a live process holds, naming its pid", () => {
    const dataDir = dir();
    writeFileSync(join(dataDir, "node.lock"), JSON.stringify({ pid: process.ppid }));
    assert.throws(() => lockDataDir(dataDir), new RegExp(`data directory ${dataDir} is in use by pid ${process.ppid}$`));
  });

  it("takes over the lock of a process that died, of a reused pid, and of this pid from an earlier life", async () => {
    const cases = {
      died: { pid: await deadPid() },
      // A live pid whose start time is not the one recorded: someone else got the pid since.
      reused: { pid: process.ppid, start: "1" },
      // Our own pid, in a file this process did not write: pid 1 in a restarted container.
      ours: { pid: process.pid, start: "1" },
      unreadable: "",
    };
    for (const [name, owner] of Object.entries(cases)) {
      const dataDir = dir();
      writeFileSync(join(dataDir, "node.lock"), typeof owner === "string" ? owner : JSON.stringify(owner));
      const lock = lockDataDir(dataDir);
      assert.equal(JSON.parse(readFileSync(join(dataDir, "node.lock"), "utf8")).pid, process.pid, name);
      lock.release();
    }
  });
});

describe("in-process nodes and their data directories", () => {
  it("two nodes in one process on one data directory: the second is refused until the first stops", async () => {
    const dataDir = dir();
    const other = await TestNode.start();
    const first = await TestNode.start({ dataDir });
    try {
      await assert.rejects(TestNode.start({ dataDir }), DataDirInUseError);
    } finally {
      await first.stop();
    }
    const again = await TestNode.start({ dataDir });
    await again.stop();
    await other.stop();
  });

  it("creates the data directory and its files owner-only, and makes an open one owner-only", async () => {
    const dataDir = join(dir(), "data");
    const open = dir();
    chmodSync(open, 0o755);
    const node = await TestNode.start({ dataDir, config: (c) => (c.secret = "") });
    const older = await TestNode.start({ dataDir: open });
    try {
      // A media upload, so there is a media file to look at.
      const secret = readFileSync(join(dataDir, "secret"), "utf8").trim();
      const response = await fetch(`${node.httpUrl}/media`, {
        method: "POST",
        headers: { authorization: `Bearer ${await signToken(secret, { user: "modes" }, 600)}`, "content-type": "image/jpeg" },
        body: new Uint8Array(1024),
      });
      assert.equal(response.status, 201, await response.clone().text());
      const { id } = (await response.json()) as { id: string };

      assert.equal(modeOf(open), 0o700);
      const directories = [dataDir, join(dataDir, "media"), join(dataDir, "media", "objects"), join(dataDir, "media", "index")];
      // This folder runs on LMDB (scripts/test.mjs runs only the behaviour suites on both backends).
      directories.push(join(dataDir, "lmdb"), join(dataDir, "lmdb", "soft"));
      for (const directory of directories) assert.equal(modeOf(directory), 0o700, directory);
      const files = [
        join(dataDir, "secret"),
        join(dataDir, "node.lock"),
        join(dataDir, "media", "objects", id),
        join(dataDir, "media", "index", "data.mdb"),
        join(dataDir, "media", "index", "lock.mdb"),
      ];
      for (const env of ["", "soft"]) files.push(join(dataDir, "lmdb", env, "data.mdb"), join(dataDir, "lmdb", env, "lock.mdb"));
      for (const file of files) assert.equal(modeOf(file), 0o600, file);
    } finally {
      await node.stop();
      await older.stop();
    }
  });

  it("makes an older LMDB environment's 0644 files owner-only", async () => {
    const dataDir = dir();
    const first = await TestNode.start({ dataDir });
    await first.stop();
    const lmdb = join(dataDir, "lmdb");
    chmodSync(join(lmdb, "data.mdb"), 0o644);
    chmodSync(lmdb, 0o755);
    const second = await TestNode.start({ dataDir });
    try {
      assert.equal(modeOf(join(lmdb, "data.mdb")), 0o600);
      assert.equal(modeOf(lmdb), 0o700);
    } finally {
      await second.stop();
    }
  });
});
