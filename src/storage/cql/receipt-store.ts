import type { MarksWrite, MemberMarks, ReceiptStore } from "../receipts.ts";
import { numberColumn, textColumn } from "./columns.ts";
import type { CqlSession } from "./session.ts";

const SET_MARKS = "UPDATE member_marks SET delivered_seq = ?, read_seq = ? WHERE chat = ? AND member = ?";
const SELECT_MARKS = "SELECT member, delivered_seq, read_seq FROM member_marks WHERE chat = ?";

/** One partition per chat, one row per member. */
export class CqlReceiptStore implements ReceiptStore {
  constructor(private readonly session: CqlSession) {}

  async marks(chat: string): Promise<Map<string, MemberMarks>> {
    const rows = await this.session.rows("marks", { query: SELECT_MARKS, params: [chat] });
    return new Map(
      rows.map((row) => [
        textColumn(row, "member"),
        { delivered: numberColumn(row, "delivered_seq"), read: numberColumn(row, "read_seq") },
      ]),
    );
  }

  async setMarks(chat: string, user: string, marks: MemberMarks): Promise<void> {
    // The chat's single writer only passes growing marks, so a plain overwrite is "advance".
    await this.session.execute("setMarks", { query: SET_MARKS, params: [marks.delivered, marks.read, chat, user] });
  }

  async setManyMarks(writes: readonly MarksWrite[]): Promise<void> {
    // Rows of many partitions: concurrent single writes, as for cursors.
    await Promise.all(writes.map(({ chat, user, marks }) => this.session.execute("setMarks", { query: SET_MARKS, params: [marks.delivered, marks.read, chat, user] })));
  }
}
