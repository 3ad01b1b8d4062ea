import { randomBytes } from "node:crypto";
import { accessSync, chmodSync, constants, linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Owner-only: the data directory holds every message and the token secret. */
export const DATA_DIR_MODE = 0o700;
/** Owner-only files inside it (LMDB's files, media bytes, the secret, the lock). */
export const DATA_FILE_MODE = 0o600;

const LOCK_FILE = "node.lock";

/** A second node on a data directory that a live node holds. */
export class DataDirInUseError extends Error {
  override readonly name = "DataDirInUseError";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`data directory ${dataDir} is in use by pid ${pid}`);
  }
}

/** The data directory cannot be created or written (a read-only mount, another user's, a file in its path). */
export class DataDirUnwritableError extends Error {
  override readonly name = "DataDirUnwritableError";
  constructor(
    readonly dataDir: string,
    readonly code: string,
  ) {
    super(`data directory ${dataDir} is not writable: ${code}`);
  }
}

/**
 * Creates the data directory owner-only (0700), or makes an existing one so; returns true when
 * it had to take group or other permissions away (the node logs it). A directory this user does
 * not own is left as it is: refusing to start over it would break a deliberate setup.
 */
export function prepareDataDir(dataDir: string): boolean {
  try {
    mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE });
    // Here rather than at the first write (the lock, LMDB), which would fail with a stack.
    accessSync(dataDir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    throw new DataDirUnwritableError(dataDir, code);
  }
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & 0o077) === 0) return false;
  try {
    chmodSync(dataDir, mode & DATA_DIR_MODE);
    return true;
  } catch {
    return false;
  }
}

/**
 * Directories this process holds and how to release each: a second in-process node on one of
 * them is refused too, and one exit handler releases them all (on process.exit as well).
 */
const heldHere = new Map<string, () => void>();
let exitHandlerInstalled = false;

interface LockOwner {
  pid: number;
  /** The owner's start time (/proc/<pid>/stat field 22); tells a reused pid from the owner. */
  start?: string;
}

export interface DataDirLock {
  /** Removes the lock file if it is still ours. Safe to call twice. */
  release(): void;
}

/**
 * One node per data directory: two nodes on one LMDB environment would both number the same
 * chats, and LMDB itself lets several processes open it.
 *
 * Node has no flock(2), so the lock is a pid file, created like O_EXCL but whole: written to a
 * name of our own, then hard-linked to `node.lock`, which fails if that exists. Of two nodes
 * starting together exactly one gets it, and nobody reads a half-written lock (on a file
 * system without hard links it is created with O_EXCL itself). It is removed on exit, also
 * on process.exit(). A node killed with SIGKILL (or a machine that lost power) leaves it
 * behind; it is stale when its owner is no longer alive:
 * - `process.kill(pid, 0)` says whether the pid exists (EPERM: it does, another user's);
 * - a pid may have been reused by an unrelated process since: the file also records the
 *   owner's start time from /proc (Linux), and a live pid with another start time is not it.
 *   Without /proc, a reused pid makes the lock look held; the message names the pid, so an
 *   operator can see it is not a router and remove `node.lock`.
 * - in a container restarted after SIGKILL the new node often has the same pid as the old one
 *   (pid 1): our own pid in a file this process did not write is stale.
 *
 * Breaking a stale lock: the breaker renames the file to a name of its own (atomic: of two
 * breakers only one gets that inode) and checks it took the stale owner's file; if it took a
 * fresh lock another breaker had just made, it links it back. A third node starting in that
 * instant could slip in while the file is away; three nodes racing over one stale directory is
 * the one case this does not cover.
 *
 * Two containers with separate pid namespaces sharing one volume cannot see each other's pids:
 * this lock does not protect that setup.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  const path = join(dir, LOCK_FILE);
  if (heldHere.has(dir)) throw new DataDirInUseError(dir, process.pid);
  const mine = serialise({ pid: process.pid, start: startTimeOf(process.pid) });
  for (let attempt = 0; attempt < 10; attempt += 1) {
    if (createWhole(path, mine)) {
      const release = () => {
        if (heldHere.get(dir) !== release) return;
        heldHere.delete(dir);
        if (readOrUndefined(path) === mine) unlinkSync(path);
      };
      heldHere.set(dir, release);
      if (!exitHandlerInstalled) {
        exitHandlerInstalled = true;
        process.on("exit", () => {
          for (const releaseOne of [...heldHere.values()]) releaseOne();
        });
      }
      return { release };
    }
    const content = readOrUndefined(path);
    if (content === undefined) continue; // released in between: try again
    const owner = parse(content);
    if (owner && isAlive(owner)) throw new DataDirInUseError(dir, owner.pid);
    breakStaleLock(path, content);
  }
  throw new Error(`could not lock data directory ${dir}: ${LOCK_FILE} keeps changing`);
}

/** What link(2) fails with where the file system has no hard links (some network and FUSE mounts). */
const NO_HARD_LINKS = ["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"];

/** Creates `path` holding `content` unless it exists; false if it does. */
function createWhole(path: string, content: string): boolean {
  const draft = `${path}.new-${process.pid}-${randomBytes(4).toString("hex")}`;
  writeFileSync(draft, content, { flag: "wx", mode: DATA_FILE_MODE });
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if (isCode(error, "EEXIST")) return false;
    if (!NO_HARD_LINKS.some((code) => isCode(error, code))) throw error;
  } finally {
    unlinkSync(draft);
  }
  try {
    writeFileSync(path, content, { flag: "wx", mode: DATA_FILE_MODE });
    return true;
  } catch (error) {
    if (isCode(error, "EEXIST")) return false;
    throw error;
  }
}

function breakStaleLock(path: string, staleContent: string): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if (isCode(error, "ENOENT")) return; // another breaker was first
    throw error;
  }
  const taken = readOrUndefined(aside);
  // We took a lock another node made after breaking the same stale file: put it back.
  if (taken !== undefined && taken !== staleContent) createWhole(path, taken);
  unlinkSync(aside);
}

function isAlive(owner: LockOwner): boolean {
  // Our own pid, in a file this process did not write (heldHere says so): a previous
  // incarnation of this node with the same pid, e.g. pid 1 in a restarted container.
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if (!isCode(error, "EPERM")) return false;
  }
  const start = startTimeOf(owner.pid);
  return owner.start === undefined || start === undefined || start === owner.start;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks after boot), or undefined off Linux. */
function startTimeOf(pid: number): string | undefined {
  const stat = readOrUndefined(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19];
}

function serialise(owner: LockOwner): string {
  return `${JSON.stringify(owner)}\n`;
}

function parse(content: string): LockOwner | undefined {
  try {
    const value = JSON.parse(content) as Partial<LockOwner>;
    if (!Number.isInteger(value.pid) || value.pid! <= 0) return undefined;
    return { pid: value.pid!, start: typeof value.start === "string" ? value.start : undefined };
  } catch {
    // Unreadable (a machine that lost power before the file reached the disk): nobody holds it.
    return undefined;
  }
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if (isCode(error, "ENOENT")) return undefined;
    throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && "code" in error && error.code === code;
}
