import type { WebSocket } from "uWebSockets.js";
import { encodeFrame } from "../../../src/protocol/codec.ts";
import type { ServerFrame } from "../../../src/protocol/frames.ts";

/** One client connection of the ceiling: frames wait here until the turn ends. */
export class CeilingConnection {
  user = "";
  readonly device = "d1";
  open = true;
  /** chat → the highest seq handed to this device. */
  readonly handed = new Map<string, number>();
  /** chat → the highest seq this device acknowledged. */
  readonly cursors = new Map<string, number>();
  private frames: Uint8Array[] = [];
  private queued = false;

  constructor(
    private readonly socket: WebSocket<unknown>,
    private readonly outbox: Outbox,
  ) {}

  send(frame: ServerFrame): void {
    if (!this.open) return;
    this.frames.push(encodeFrame(frame));
    if (!this.queued) {
      this.queued = true;
      this.outbox.markDirty(this);
    }
  }

  /** Writes what waited, in one cork: one syscall per connection per turn. */
  flush(): void {
    this.queued = false;
    const frames = this.frames;
    this.frames = [];
    if (!this.open || frames.length === 0) return;
    this.socket.cork(() => {
      for (const frame of frames) this.socket.send(frame, true, false);
    });
  }

  refuse(code: number, reason: string): void {
    if (this.open) this.socket.end(code, reason);
  }
}

/** Connections written to during this turn; flushed once, together, when it ends. */
export class Outbox {
  private dirty: CeilingConnection[] = [];

  constructor(private readonly onDirty: () => void) {}

  markDirty(connection: CeilingConnection): void {
    this.dirty.push(connection);
    this.onDirty();
  }

  flush(): void {
    const dirty = this.dirty;
    this.dirty = [];
    for (const connection of dirty) connection.flush();
  }
}
