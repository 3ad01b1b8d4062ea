/** Delivered and read receipts. One writer per chat: its ConversationActor. */

export interface MemberMarks {
  delivered: number;
  read: number;
}

/** One member's marks to store. */
export interface MarksWrite {
  chat: string;
  user: string;
  marks: MemberMarks;
}

/** Per (chat, member) watermarks behind delivered and read receipts. */
export interface ReceiptStore {
  marks(chat: string): Promise<Map<string, MemberMarks>>;
  /** Single writer per chat: the caller passes marks that only ever grow. */
  setMarks(chat: string, user: string, marks: MemberMarks): Promise<void>;
  /** Many at once, as cheaply as the backend can; optional, like `CursorStore.setCursors`. */
  setManyMarks?(writes: readonly MarksWrite[]): Promise<void>;
  /** `setMarks` with nothing to wait for, like `CursorStore.setCursorSoon`. Optional. */
  setMarksSoon?(chat: string, user: string, marks: MemberMarks): void;
}
