import type { ByteRange } from "../storage/media.ts";

/**
 * One `Range: bytes=...` against an object of `size` bytes (RFC 9110 14.1.2): null serves
 * the whole object (no header, or one we do not honour, such as several ranges or another
 * unit, which the RFC lets a server ignore); "unsatisfiable" is a 416.
 */
export function parseRange(header: string, size: number): ByteRange | null | "unsatisfiable" {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return null;
  if (first === "") {
    // Suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return null;
  return { start, end };
}
