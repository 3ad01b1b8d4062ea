import { createReadStream } from "node:fs";
import { chmod, mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { open, type RootDatabase } from "lmdb";
import { LMDB_PLAIN_VALUES, LMDB_PRIVATE, preparePrivateLmdbDir } from "../lmdb/lmdb-stores.ts";
import type { ByteRange, MediaInfo, MediaStore } from "../media.ts";

type IndexKey = ["info", string] | ["link", string, string];

/**
 * The embedded default: bytes in `<dir>/objects/<id>`, info and chat links in a small LMDB
 * of its own, so media never shares a write transaction (or a backend) with messages.
 */
export class FileMediaStore implements MediaStore {
  readonly backend = "file";

  private constructor(
    private readonly dir: string,
    private readonly index: RootDatabase<unknown, IndexKey>,
  ) {}

  static async open(dir: string): Promise<FileMediaStore> {
    // Owner-only, like the rest of the data directory: media are private to their chats.
    await mkdir(join(dir, "objects"), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, "staging"), { recursive: true, mode: 0o700 });
    preparePrivateLmdbDir(join(dir, "index"));
    const index = open<unknown, IndexKey>({ path: join(dir, "index"), compression: false, ...LMDB_PRIVATE, ...LMDB_PLAIN_VALUES });
    return new FileMediaStore(dir, index);
  }

  /** Where uploads are written while they stream in: same file system, so `put` is a rename. */
  get stagingDir(): string {
    return join(this.dir, "staging");
  }

  private objectPath(id: string): string {
    return join(this.dir, "objects", id);
  }

  async put(info: MediaInfo, stagedFile: string): Promise<void> {
    // Bytes first, then the info that makes them visible: a crash in between leaves an
    // orphan file, never an id that names missing bytes.
    // Staged files are created with the default mode (0644 under the usual umask).
    await chmod(stagedFile, 0o600);
    await rename(stagedFile, this.objectPath(info.id));
    await this.index.put(["info", info.id], info);
  }

  async info(id: string): Promise<MediaInfo | undefined> {
    return this.index.get(["info", id]) as MediaInfo | undefined;
  }

  async read(id: string, range?: ByteRange): Promise<Readable> {
    const path = this.objectPath(id);
    await stat(path);
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async link(chat: string, id: string): Promise<void> {
    if (this.index.get(["link", id, chat]) !== undefined) return;
    await this.index.put(["link", id, chat], true);
  }

  async unlink(chat: string, id: string): Promise<void> {
    await this.index.remove(["link", id, chat]);
  }

  async chatsOf(id: string): Promise<string[]> {
    const chats: string[] = [];
    for (const key of this.index.getKeys({ start: ["link", id], end: ["link", id, "\uffff"] })) {
      const [, , chat] = key as ["link", string, string];
      chats.push(chat);
    }
    return chats;
  }

  async discard(stagedFile: string): Promise<void> {
    await rm(stagedFile, { force: true });
  }

  async close(): Promise<void> {
    await this.index.close();
  }
}
