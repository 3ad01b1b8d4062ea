/** Delivered and read receipts. One writer per chat: its ConversationActor. */

export interface MemberMarks {
  delivered: number;
  read: number;
}

/** Per (chat, member) watermarks behind delivered and read receipts. */
export interface ReceiptStore {
  marks(chat: string): Promise<Map<string, MemberMarks>>;
  /** Single writer per chat: the caller passes marks that only ever grow. */
  setMarks(chat: string, user: string, marks: MemberMarks): Promise<void>;
}
